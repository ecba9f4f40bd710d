/* gateway/config.c - settings from flags and environment, validated. */
#include "config.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LIVEGATE_VERSION
#define LIVEGATE_VERSION "dev"
#endif

struct setting {
	const char *env;       /* LIVEGATE_... */
	const char *def;       /* default text; NULL: unset */
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

int lg_addr_parse(struct lg_addr *a, const char *text, char *err, size_t n)
{
	char host[64];
	const char *colon;
	unsigned port;
	size_t hl;

	memset(a, 0, sizeof *a);
	if (strlen(text) >= sizeof a->text)
		goto bad;
	snprintf(a->text, sizeof a->text, "%s", text);
	colon = strrchr(text, ':');
	if (!colon)
		goto bad;
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
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;
		if (strcmp(host, "localhost") == 0)
			snprintf(host, sizeof host, "127.0.0.1");
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		a->len = sizeof *s4;
	}
	return 0;
bad:
	snprintf(err, n, "must be IPv4:port or [IPv6]:port (port 1-65535)");
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

/* Checks one origin: scheme://host[:port], no path, no userinfo. */
static int origin_valid(const char *o, size_t len)
{
	const char *host;

	if (len == 0 || len > LG_ORIGIN_MAX_LEN)
		return 0;
	if (len > 7 && strncmp(o, "http://", 7) == 0)
		host = o + 7;
	else if (len > 8 && strncmp(o, "https://", 8) == 0)
		host = o + 8;
	else
		return 0;
	if (host == o + len)
		return 0;
	for (const char *p = host; p < o + len; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:[]_", *p))
			return 0;
	return 1;
}

static int p_origins(struct lg_config *c, const char *v, char *e, size_t n)
{
	const char *p = v;

	if (strcmp(v, "*") == 0) {
		c->any_origin = 1;
		return 0;
	}
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && isspace((unsigned char)*p)) { p++; len--; }
		while (len && isspace((unsigned char)p[len - 1])) len--;
		if (len == 1 && *p == '*') {
			snprintf(e, n, "'*' must stand alone");
			return -1;
		}
		if (!origin_valid(p, len)) {
			snprintf(e, n, "entry %zu is not an origin like https://app.example[:port]",
			         c->n_origins + 1);
			return -1;
		}
		if (c->n_origins == LG_MAX_ORIGINS) {
			snprintf(e, n, "at most %d origins", LG_MAX_ORIGINS);
			return -1;
		}
		c->origins[c->n_origins] = strndup(p, len);
		if (!c->origins[c->n_origins]) {
			snprintf(e, n, "out of memory");
			return -1;
		}
		for (char *q = c->origins[c->n_origins]; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		c->n_origins++;
		p = end ? end + 1 : p + len;
	}
	if (!c->n_origins) {
		snprintf(e, n, "must list at least one origin, or be '*'");
		return -1;
	}
	return 0;
}

static int p_prefix(struct lg_config *c, const char *v, char *e, size_t n)
{
	return set_printable(&c->channel_prefix, v, 0, LG_PREFIX_MAX_LEN, e, n);
}

static int p_ttl(struct lg_config *c, const char *v, char *e, size_t n)
{
	return parse_uint(v, 1, LG_TOKEN_TTL_MAX, &c->token_ttl, e, n);
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
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (strcmp(v, names[i]) == 0) {
			c->log_level = i;
			return 0;
		}
	snprintf(e, n, "must be error, warn, info or debug");
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
	{ "LIVEGATE_SECRET", NULL, "HMAC key for tokens, at least 32 bytes", p_secret },
	{ "LIVEGATE_SECRETS", NULL, "key rotation: kid1:key1,kid2:key2 (first signs, all verify)", p_secrets },
	{ "LIVEGATE_SECRETS_FILE", NULL, "file of kid:key lines, re-read on SIGHUP", p_secrets_file },
	{ "LIVEGATE_API_KEY", NULL, "bearer key for the private API (unset: API answers 401)", p_api_key },
	{ "LIVEGATE_REDIS_URL", "redis://127.0.0.1:6379", "redis://[[user]:password@]host:port[/db]", p_redis_url },
	{ "LIVEGATE_PUBLIC_ADDR", "0.0.0.0:8080", "public listener (WebSocket, script)", p_public },
	{ "LIVEGATE_PRIVATE_ADDR", "127.0.0.1:8081", "private listener (API, health, metrics)", p_private },
	{ "LIVEGATE_ALLOWED_ORIGINS", "*", "comma list of page origins allowed to open the WebSocket; * allows any", p_origins },
	{ "LIVEGATE_CHANNEL_PREFIX", "", "prefix put before every channel name in Redis", p_prefix },
	{ "LIVEGATE_TOKEN_TTL", "3600", "default token lifetime in seconds (1-86400)", p_ttl },
	{ "LIVEGATE_WORKERS", "", "processes serving the public port (default: number of CPUs)", p_workers },
	{ "LIVEGATE_MAX_CONNECTIONS", "19000", "WebSocket connections per worker; past it: close 1013", p_max_conn },
	{ "LIVEGATE_DRAIN_MS", "5000", "on SIGTERM, closes (1012) are spread over this window", p_drain },
	{ "LIVEGATE_LOG_LEVEL", "info", "error, warn, info or debug", p_level },
	{ "LIVEGATE_LOG_FORMAT", "logfmt", "logfmt or json", p_format },
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

/* Writes the flag for env ("LIVEGATE_FOO_BAR" -> "foo-bar") into buf. */
static void flag_name(const char *env, char *buf, size_t n)
{
	size_t i = 0;

	for (const char *p = env + strlen("LIVEGATE_"); *p && i + 1 < n; p++)
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
	        "One of LIVEGATE_SECRET, LIVEGATE_SECRETS, LIVEGATE_SECRETS_FILE is required.\n\n",
	        LIVEGATE_VERSION);
	for (size_t i = 0; i < N_SETTINGS; i++) {
		flag_name(settings[i].env, flag, sizeof flag);
		fprintf(out, "  %-26s --%-20s %s\n  %-26s %-22s default: %s\n",
		        settings[i].env, flag, settings[i].help, "", "",
		        settings[i].def ? (settings[i].def[0] ? settings[i].def
		                                               : (strcmp(settings[i].env, "LIVEGATE_WORKERS") == 0
		                                                  ? "number of CPUs" : "(empty)"))
		                        : "(unset)");
	}
	fprintf(out, "\n  --help, -h      this text\n  --version       print the version\n"
	             "\nSignals: SIGTERM drains (1012 spread over LIVEGATE_DRAIN_MS) and exits 0;"
	             " SIGHUP re-reads LIVEGATE_SECRETS_FILE.\n");
}

/* Finds the value of setting s in argv ("--flag=v" or "--flag v"). Returns
 * it, or NULL when absent. */
static const char *flag_value(const struct setting *s, int argc, char **argv)
{
	char flag[64];
	size_t fl;
	const char *found = NULL;

	flag_name(s->env, flag, sizeof flag);
	fl = strlen(flag);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, flag, fl) != 0)
			continue;
		if (a[2 + fl] == '=')
			found = a + 3 + fl;
		else if (a[2 + fl] == '\0' && i + 1 < argc)
			found = argv[++i];
	}
	return found;
}

/* Returns 0 if every argument is a known flag (with its value), else -1
 * with err naming the first unknown one. */
static int check_args(int argc, char **argv, char *err, size_t n)
{
	char flag[64];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int known = 0;
		for (size_t k = 0; k < N_SETTINGS && !known; k++) {
			size_t fl;
			flag_name(settings[k].env, flag, sizeof flag);
			fl = strlen(flag);
			if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, flag, fl) == 0) {
				if (a[2 + fl] == '=')
					known = 1;
				else if (a[2 + fl] == '\0' && i + 1 < argc) {
					known = 1;
					i++;
				}
			}
		}
		if (!known) {
			snprintf(err, n, "%s: unknown argument (see livegate --help)", a);
			return -1;
		}
	}
	return 0;
}

static const char *default_env(const char *name)
{
	return getenv(name);
}

int lg_config_load(struct lg_config *cfg, int argc, char **argv,
                   const char *(*env)(const char *name),
                   FILE *out, char *err, size_t errlen)
{
	char why[160];
	int n_secrets = 0;

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
	if (check_args(argc, argv, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		const char *v = flag_value(s, argc, argv);
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
	n_secrets = !!cfg->secret + !!cfg->secrets + !!cfg->secrets_file;
	if (n_secrets == 0) {
		snprintf(err, errlen, "LIVEGATE_SECRET: one of LIVEGATE_SECRET, LIVEGATE_SECRETS, "
		                      "LIVEGATE_SECRETS_FILE is required");
		return -1;
	}
	if (n_secrets > 1) {
		snprintf(err, errlen, "LIVEGATE_SECRETS: set only one of LIVEGATE_SECRET, "
		                      "LIVEGATE_SECRETS, LIVEGATE_SECRETS_FILE");
		return -1;
	}
	if (!cfg->channel_prefix && set_str(&cfg->channel_prefix, "", why, sizeof why) < 0) {
		snprintf(err, errlen, "LIVEGATE_CHANNEL_PREFIX: %s", why);
		return -1;
	}
	return 0;
}

void lg_config_free(struct lg_config *cfg)
{
	free(cfg->secret);
	free(cfg->secrets);
	free(cfg->secrets_file);
	free(cfg->api_key);
	free(cfg->redis_url);
	free(cfg->channel_prefix);
	for (size_t i = 0; i < cfg->n_origins; i++)
		free(cfg->origins[i]);
	memset(cfg, 0, sizeof *cfg);
}

int lg_config_origin_allowed(const struct lg_config *cfg, const char *origin,
                             size_t len)
{
	if (cfg->any_origin)
		return 1;
	for (size_t i = 0; i < cfg->n_origins; i++)
		if (strlen(cfg->origins[i]) == len && strncasecmp(cfg->origins[i], origin, len) == 0)
			return 1;
	return 0;
}
