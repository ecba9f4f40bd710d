/* common/config.c - settings from flags and environment, validated. */
#include "config.h"
#include "log.h"
#include "regfile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LIVEGATE_VERSION
#define LIVEGATE_VERSION "dev"
#endif

struct setting {
	const char *env;       /* LIVEGATE_... */
	const char *def;       /* default text; NULL: unset */
	const char *shown;     /* the default as --help shows it; NULL: def */
	const char *help;
	/* Parses val into cfg; returns 0 or -1 with a reason in err. */
	int (*parse)(struct lg_config *cfg, const char *val, char *err, size_t n);
};

static int set_str(char **dst, const char *val, char *err, size_t n)
{
	*dst = strdup(val);
	if (!*dst) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	return 0;
}

/* Parses an unsigned decimal within [lo, hi]. */
static int parse_uint(const char *val, unsigned long lo, unsigned long hi,
                      unsigned *out, char *err, size_t n)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (!isdigit((unsigned char)val[0])) {
		snprintf(err, n, "must be a whole number from %lu to %lu", lo, hi);
		return -1;
	}
	v = strtoul(val, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		snprintf(err, n, "must be a whole number from %lu to %lu", lo, hi);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int p_secret(struct lg_config *c, const char *v, char *e, size_t n)
{
	return set_str(&c->secret, v, e, n);
}

static int p_secrets(struct lg_config *c, const char *v, char *e, size_t n)
{
	return set_str(&c->secrets, v, e, n);
}

static int p_secrets_file(struct lg_config *c, const char *v, char *e, size_t n)
{
	return set_str(&c->secrets_file, v, e, n);
}

/* Stores v in *dst if it is min..max bytes of printable ASCII without
 * spaces (the rule for keys and prefixes). */
static int set_printable(char **dst, const char *v, size_t min, size_t max,
                         char *e, size_t n)
{
	size_t len = strlen(v);

	if (len < min || len > max) {
		if (min)
			snprintf(e, n, "must be at least %zu bytes", min);
		else
			snprintf(e, n, "must be at most %zu bytes", max);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e) {
			snprintf(e, n, "must be printable ASCII without spaces");
			return -1;
		}
	return set_str(dst, v, e, n);
}

static int p_api_key(struct lg_config *c, const char *v, char *e, size_t n)
{
	return set_printable(&c->api_key, v, LG_API_KEY_MIN_LEN, SIZE_MAX, e, n);
}

static int p_redis_url(struct lg_config *c, const char *v, char *e, size_t n)
{
	if (ps_redis_url_parse(v, &c->redis, e, n) < 0)
		return -1;
	return set_str(&c->redis_url, v, e, n);
}

/* Checks that a file setting names a readable regular file now, so a
 * wrong path stops the start rather than the first TLS handshake. */
static int set_readable(char **dst, const char *v, char *e, size_t n)
{
	int fd = lg_regfile_open(v, e, n);

	if (fd < 0)
		return -1;
	close(fd);
	return set_str(dst, v, e, n);
}

static int p_tls_ca(struct lg_config *c, const char *v, char *e, size_t n)
{
	return set_readable(&c->redis_tls_ca, v, e, n);
}

static int p_tls_cert(struct lg_config *c, const char *v, char *e, size_t n)
{
	return set_readable(&c->redis_tls_cert, v, e, n);
}

static int p_tls_key(struct lg_config *c, const char *v, char *e, size_t n)
{
	return set_readable(&c->redis_tls_key, v, e, n);
}

static int p_cluster_pubsub(struct lg_config *c, const char *v, char *e, size_t n)
{
	if (strcmp(v, "sharded") == 0)
		c->redis_cluster_pubsub = LG_CLUSTER_SHARDED;
	else if (strcmp(v, "global") == 0)
		c->redis_cluster_pubsub = LG_CLUSTER_GLOBAL;
	else {
		snprintf(e, n, "must be sharded (SSUBSCRIBE/SPUBLISH) or global (SUBSCRIBE/PUBLISH)");
		return -1;
	}
	return 0;
}

#define ADDR_RULE "IPv4:port, [IPv6]:port or localhost:port (port 1-65535)"

int lg_addr_parse(struct lg_addr *a, const char *text, char *err, size_t n)
{
	char host[64];
	const char *colon;
	unsigned port;
	size_t hl;

	memset(a, 0, sizeof *a);
	colon = strrchr(text, ':');
	if (strlen(text) >= sizeof a->text || !colon)
		goto bad;
	snprintf(a->text, sizeof a->text, "%s", text);
	hl = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hl < 3 || text[hl - 1] != ']')
			goto bad;
		memcpy(host, text + 1, hl - 2);
		host[hl - 2] = '\0';
	} else {
		if (hl == 0 || hl >= sizeof host)
			goto bad;
		memcpy(host, text, hl);
		host[hl] = '\0';
	}
	if (parse_uint(colon + 1, 1, 65535, &port, err, n) < 0)
		goto bad;
	if (text[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		a->len = sizeof *s6;
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;
	/* The one name taken: it means loopback everywhere, and IPv4 loopback
	 * is what "localhost:port" clients reach first. Any other name is
	 * refused rather than resolved: a listener binds an address, and a
	 * name resolving to several (or to another one after a DNS change)
	 * would bind something other than what was meant. */
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
		snprintf(err, n, "%s is not an IP address; host names are not resolved: give " ADDR_RULE,
		         host);
		return -1;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	a->len = sizeof *s4;
	return 0;
bad:
	snprintf(err, n, "must be " ADDR_RULE);
	return -1;
}

static int p_public(struct lg_config *c, const char *v, char *e, size_t n)
{
	return lg_addr_parse(&c->public_addr, v, e, n);
}

static int p_private(struct lg_config *c, const char *v, char *e, size_t n)
{
	return lg_addr_parse(&c->private_addr, v, e, n);
}

static int p_origins(struct lg_config *c, const char *v, char *e, size_t n)
{
	return lg_origins_parse(c, v, e, n);
}

static int p_prefix(struct lg_config *c, const char *v, char *e, size_t n)
{
	return set_printable(&c->channel_prefix, v, 0, LG_PREFIX_MAX_LEN, e, n);
}

static int p_ttl(struct lg_config *c, const char *v, char *e, size_t n)
{
	return parse_uint(v, 1, LG_TOKEN_TTL_MAX, &c->token_ttl, e, n);
}

static int p_max_lifetime(struct lg_config *c, const char *v, char *e, size_t n)
{
	return parse_uint(v, 1, LG_MAX_TOKEN_LIFETIME_MAX, &c->max_token_lifetime, e, n);
}

static int p_render_slack(struct lg_config *c, const char *v, char *e, size_t n)
{
	return parse_uint(v, 0, LG_RENDER_SLACK_MS_MAX, &c->render_slack_ms, e, n);
}

static int p_workers(struct lg_config *c, const char *v, char *e, size_t n)
{
	if (v[0] == '\0') {   /* default: one per CPU */
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		c->workers = cpus < 1 ? 1 : cpus > LG_MAX_WORKERS ? LG_MAX_WORKERS : (unsigned)cpus;
		return 0;
	}
	return parse_uint(v, 1, LG_MAX_WORKERS, &c->workers, e, n);
}

static int p_max_conn(struct lg_config *c, const char *v, char *e, size_t n)
{
	return parse_uint(v, 1, LG_MAX_CONNECTIONS_MAX, &c->max_connections, e, n);
}

static int p_drain(struct lg_config *c, const char *v, char *e, size_t n)
{
	return parse_uint(v, 0, LG_DRAIN_MS_MAX, &c->drain_ms, e, n);
}

static int p_level(struct lg_config *c, const char *v, char *e, size_t n)
{
	size_t o = (size_t)snprintf(e, n, "must be");

	c->log_level = lg_log_level_parse(v);
	if (c->log_level >= 0)
		return 0;
	for (int i = 0; i < LG_LOG_LEVELS && o < n; i++)
		o += (size_t)snprintf(e + o, n - o, "%s %s", i == 0 ? "" : i == LG_LOG_LEVELS - 1 ?
		                      " or" : ",", lg_log_level_names[i]);
	return -1;
}

static int p_format(struct lg_config *c, const char *v, char *e, size_t n)
{
	if (strcmp(v, "logfmt") == 0)
		c->log_format = LG_LOG_LOGFMT;
	else if (strcmp(v, "json") == 0)
		c->log_format = LG_LOG_JSON;
	else {
		snprintf(e, n, "must be logfmt or json");
		return -1;
	}
	return 0;
}

static const struct setting settings[] = {
	{ "LIVEGATE_SECRET", NULL, NULL, "HMAC key for tokens, at least 32 bytes", p_secret },
	{ "LIVEGATE_SECRETS", NULL, NULL, "key rotation: kid1:key1,kid2:key2 (first signs, all verify)", p_secrets },
	{ "LIVEGATE_SECRETS_FILE", NULL, NULL, "file of kid:key lines, re-read on SIGHUP", p_secrets_file },
	{ "LIVEGATE_API_KEY", NULL, NULL, "bearer key for the private API (unset: API answers 401)", p_api_key },
	{ "LIVEGATE_REDIS_URL", "redis://127.0.0.1:6379", NULL, "redis://[[user]:password@]host:port[/db]", p_redis_url },
	{ "LIVEGATE_REDIS_TLS_CA", NULL, NULL, "CA file (PEM) that signs the Redis server's certificate (unset: system CAs)", p_tls_ca },
	{ "LIVEGATE_REDIS_TLS_CERT", NULL, NULL, "client certificate (PEM) for Redis over TLS; with LIVEGATE_REDIS_TLS_KEY", p_tls_cert },
	{ "LIVEGATE_REDIS_TLS_KEY", NULL, NULL, "private key (PEM) of LIVEGATE_REDIS_TLS_CERT", p_tls_key },
	{ "LIVEGATE_REDIS_CLUSTER_PUBSUB", "sharded", NULL, "in cluster mode: sharded (SSUBSCRIBE/SPUBLISH) or global (SUBSCRIBE/PUBLISH)", p_cluster_pubsub },
	{ "LIVEGATE_PUBLIC_ADDR", "0.0.0.0:8080", NULL, "public listener (WebSocket, script): IPv4:port, [IPv6]:port or localhost:port", p_public },
	{ "LIVEGATE_PRIVATE_ADDR", "127.0.0.1:8081", NULL, "private listener (API, health, metrics), same forms", p_private },
	{ "LIVEGATE_ALLOWED_ORIGINS", "*", NULL, "comma list of page origins allowed to open the WebSocket; * allows any", p_origins },
	{ "LIVEGATE_CHANNEL_PREFIX", "", "(empty)", "prefix put before every channel name in Redis", p_prefix },
	{ "LIVEGATE_TOKEN_TTL", "3600", NULL, "default token lifetime in seconds (1-86400)", p_ttl },
	{ "LIVEGATE_MAX_TOKEN_LIFETIME", "604800", NULL, "seconds; a token whose exp lies further ahead is refused (exp_too_far)", p_max_lifetime },
	{ "LIVEGATE_RENDER_SLACK_MS", "1000", NULL, "ms before a token's iat within which a publish still counts as missed (0-60000)", p_render_slack },
	{ "LIVEGATE_WORKERS", "", "number of CPUs", "processes serving the public port", p_workers },
	{ "LIVEGATE_MAX_CONNECTIONS", "19000", NULL, "WebSocket connections per worker; past it: close 1013", p_max_conn },
	{ "LIVEGATE_DRAIN_MS", "5000", NULL, "on SIGTERM, closes (1012) are spread over this window", p_drain },
	{ "LIVEGATE_LOG_LEVEL", "info", NULL, "error, warn, info or debug", p_level },
	{ "LIVEGATE_LOG_FORMAT", "logfmt", NULL, "logfmt or json", p_format },
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

const char *lg_config_setting_env(size_t i)
{
	return i < N_SETTINGS ? settings[i].env : NULL;
}

/* Writes the flag for env ("LIVEGATE_FOO_BAR" -> "foo-bar") into buf. */
static void flag_name(const char *env, char *buf, size_t n)
{
	size_t i = 0;

	for (const char *p = env + strlen(LG_ENV_PREFIX); *p && i + 1 < n; p++)
		buf[i++] = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
	buf[i] = '\0';
}

void lg_config_usage(FILE *out)
{
	char flag[64];

	fprintf(out,
	        "livegate %s - makes server-rendered pages live over WebSockets, fed by Redis PUBLISH\n\n"
	        "usage: livegate [--flag=value ...]\n\n"
	        "Every setting is an environment variable, also settable by its flag (the flag wins).\n"
	        "One of LIVEGATE_SECRET, LIVEGATE_SECRETS, LIVEGATE_SECRETS_FILE is required.\n"
	        "An unknown LIVEGATE_* variable is named in a warning at start; an unknown flag stops it.\n\n",
	        LIVEGATE_VERSION);
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		flag_name(s->env, flag, sizeof flag);
		fprintf(out, "  %-30s --%-24s %s\n  %-30s %-26s default: %s\n",
		        s->env, flag, s->help, "", "",
		        s->shown ? s->shown : s->def ? s->def : "(unset)");
	}
	fprintf(out, "\n  --help, -h      this text\n  --version       print the version\n"
	             "\nSignals: SIGTERM drains (1012 spread over LIVEGATE_DRAIN_MS) and exits 0;"
	             " SIGHUP re-reads LIVEGATE_SECRETS_FILE.\n");
}

/* Reads argv once: each argument must be "--flag=value" or "--flag value"
 * for a setting; its value lands in vals[setting index] (a later one wins).
 * Returns 0, or -1 with err naming the first unknown argument. */
static int read_flags(int argc, char **argv, const char *vals[N_SETTINGS], char *err, size_t n)
{
	char flag[64];

	for (size_t k = 0; k < N_SETTINGS; k++)
		vals[k] = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t k;

		for (k = 0; k < N_SETTINGS; k++) {
			size_t fl;
			flag_name(settings[k].env, flag, sizeof flag);
			fl = strlen(flag);
			if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, flag, fl) != 0)
				continue;
			if (a[2 + fl] == '=') {
				vals[k] = a + 3 + fl;
				break;
			}
			if (a[2 + fl] == '\0' && i + 1 < argc) {
				vals[k] = argv[++i];
				break;
			}
		}
		if (k == N_SETTINGS) {
			/* Shown cut to 64 bytes: the line must still say what is wrong. */
			snprintf(err, n, "%.64s%s: unknown argument (see livegate --help)", a,
			         strlen(a) > 64 ? "..." : "");
			return -1;
		}
	}
	return 0;
}

static const char *default_env(const char *name)
{
	return getenv(name);
}

/* Checks what no single setting can: one secret source, a lifetime cap the
 * API's own tokens pass, a client certificate with its key. */
static int check_together(const struct lg_config *cfg, char *err, size_t errlen)
{
	const char *set[3];
	int n_secrets = 0;

	if (cfg->secret)
		set[n_secrets++] = "LIVEGATE_SECRET";
	if (cfg->secrets)
		set[n_secrets++] = "LIVEGATE_SECRETS";
	if (cfg->secrets_file)
		set[n_secrets++] = "LIVEGATE_SECRETS_FILE";
	if (n_secrets == 0) {
		snprintf(err, errlen, "LIVEGATE_SECRET: one of LIVEGATE_SECRET, LIVEGATE_SECRETS, "
		                      "LIVEGATE_SECRETS_FILE is required");
		return -1;
	}
	if (n_secrets > 1) {
		snprintf(err, errlen, "%s%s%s%s%s: set only one of LIVEGATE_SECRET, LIVEGATE_SECRETS, "
		         "LIVEGATE_SECRETS_FILE", set[0], n_secrets == 2 ? " and " : ", ", set[1],
		         n_secrets == 3 ? " and " : "", n_secrets == 3 ? set[2] : "");
		return -1;
	}
	if (cfg->max_token_lifetime < cfg->token_ttl) {
		snprintf(err, errlen, "LIVEGATE_MAX_TOKEN_LIFETIME: %u is below LIVEGATE_TOKEN_TTL (%u): "
		         "the API's own tokens would be refused", cfg->max_token_lifetime, cfg->token_ttl);
		return -1;
	}
	if (!cfg->redis_tls_cert != !cfg->redis_tls_key) {
		snprintf(err, errlen, "%s: set together with %s (a client certificate needs its key)",
		         cfg->redis_tls_cert ? "LIVEGATE_REDIS_TLS_KEY" : "LIVEGATE_REDIS_TLS_CERT",
		         cfg->redis_tls_cert ? "LIVEGATE_REDIS_TLS_CERT" : "LIVEGATE_REDIS_TLS_KEY");
		return -1;
	}
	return 0;
}

int lg_config_load(struct lg_config *cfg, int argc, char **argv,
                   const char *(*env)(const char *name),
                   FILE *out, char *err, size_t errlen)
{
	const char *flags[N_SETTINGS];
	char why[300];

	memset(cfg, 0, sizeof *cfg);
	if (!env)
		env = default_env;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			lg_config_usage(out);
			return 1;
		}
		if (strcmp(argv[i], "--version") == 0) {
			fprintf(out, "livegate %s\n", LIVEGATE_VERSION);
			return 1;
		}
	}
	if (read_flags(argc, argv, flags, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		const char *v = flags[i];
		if (!v)
			v = env(s->env);
		if (v && !v[0] && !s->def)
			v = NULL;   /* an empty optional variable means unset */
		if (!v)
			v = s->def;
		if (!v)
			continue;
		why[0] = '\0';
		if (s->parse(cfg, v, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: %s", s->env, why);
			return -1;
		}
	}
	if (check_together(cfg, err, errlen) < 0)
		return -1;
	if (!cfg->channel_prefix && set_str(&cfg->channel_prefix, "", why, sizeof why) < 0) {
		snprintf(err, errlen, "LIVEGATE_CHANNEL_PREFIX: %s", why);
		return -1;
	}
	return 0;
}

/* Frees and wipes a string that may hold a credential. */
static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

struct ps_redis_target lg_config_redis_target(const struct lg_config *cfg)
{
	return (struct ps_redis_target){
		.url = &cfg->redis,
		.prefix = cfg->channel_prefix,
		.cluster_pubsub = cfg->redis_cluster_pubsub == LG_CLUSTER_GLOBAL ? PS_CLUSTER_GLOBAL
		                                                                 : PS_CLUSTER_SHARDED,
		.tls_ca = cfg->redis_tls_ca,
		.tls_cert = cfg->redis_tls_cert,
		.tls_key = cfg->redis_tls_key,
	};
}

void lg_config_free(struct lg_config *cfg)
{
	free_secret(cfg->secret);
	free_secret(cfg->secrets);
	free(cfg->secrets_file);
	free_secret(cfg->api_key);
	free_secret(cfg->redis_url);   /* may carry the Redis password */
	free(cfg->channel_prefix);
	free(cfg->redis_tls_ca);
	free(cfg->redis_tls_cert);
	free(cfg->redis_tls_key);
	for (size_t i = 0; i < cfg->n_origins; i++)
		free(cfg->origins[i]);
	/* Also wipes the parsed Redis password; memset could be optimised
	 * away on a struct about to go out of scope. */
	OPENSSL_cleanse(cfg, sizeof *cfg);
}
