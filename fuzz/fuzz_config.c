/* fuzz/fuzz_config.c - libFuzzer target for common/config: settings
 * values, from the environment (a fake env function, the way the unit
 * tests pass one) and from command-line flags, then the origin check and
 * the unknown-variable scan on what was given.
 *
 * The input is lines; a line's first byte picks a setting (low 6 bits,
 * modulo the number of settings) and how it is given: as a variable, or
 * (high bit) as a flag, "--flag value" or (bit 6 too) "--flag=value"; the
 * rest of the line is its value. A first byte of 0xff makes the line a
 * raw NAME=VALUE environment entry instead (for the unknown-variable scan
 * and its typo suggestions), 0xfe a raw argument (--help, --version, an
 * unknown flag). The three Redis TLS
 * file settings open what they name, so their value picks one of a few
 * safe paths rather than any path (a fuzzer must not open device files).
 *
 * Invariants besides the sanitizers (LeakSanitizer included: every
 * outcome is freed with lg_config_free): lg_config_load returns 0, 1 or
 * -1; an error is one line that starts with the LIVEGATE_ name it is
 * about or with the unknown argument; a loaded configuration is within
 * every documented limit; an origin that is allowed is "*" or one of the
 * listed ones; the unknown-variable scan counts at most the entries given.
 */
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

#define MAX_LINES 32

static const char *env_names[MAX_LINES], *env_values[MAX_LINES];
static size_t env_n;
static char *raw_env[MAX_LINES + 1];   /* NAME=VALUE entries, NULL-terminated */
static size_t raw_n;
static char regular_file[] = "/tmp/livegate-fuzz-config-XXXXXX";
static FILE *devnull;

static void remove_file(void)
{
	unlink(regular_file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = mkstemp(regular_file);

	CHECK(fd >= 0 && write(fd, "pem\n", 4) == 4 && close(fd) == 0);
	atexit(remove_file);
	devnull = fopen("/dev/null", "w");
	CHECK(devnull);
	return 0;
}

/* The environment: the raw entries, then the settings' lines (the last
 * one wins, as in a shell). */
static const char *fake_env(const char *name)
{
	size_t nl = strlen(name);
	const char *v = NULL;

	for (size_t i = 0; i < raw_n; i++)
		if (strncmp(raw_env[i], name, nl) == 0 && raw_env[i][nl] == '=')
			v = raw_env[i] + nl + 1;
	for (size_t i = 0; i < env_n; i++)
		if (strcmp(env_names[i], name) == 0)
			v = env_values[i];
	return v;
}

static size_t n_settings(void)
{
	size_t n = 0;

	while (lg_config_setting_env(n))
		n++;
	return n;
}

/* The flag of variable env: LIVEGATE_FOO_BAR -> --foo-bar. */
static void flag_of(const char *env, char *out, size_t cap)
{
	size_t o = 0;

	out[o++] = '-';
	out[o++] = '-';
	for (const char *p = env + strlen(LG_ENV_PREFIX); *p && o + 1 < cap; p++)
		out[o++] = *p == '_' ? '-' : (char)(*p - 'A' + 'a');
	out[o] = '\0';
}

static const char *safe_path(const char *v)
{
	static const char *const paths[] = { regular_file, "/nonexistent/livegate.pem", "/tmp", "" };

	return *v ? paths[(unsigned char)*v % 4] : "";
}

static void check_loaded(const struct lg_config *c, const char *probe)
{
	size_t plen = strlen(probe);

	CHECK(c->token_ttl >= 1 && c->token_ttl <= LG_TOKEN_TTL_MAX);
	CHECK(c->max_token_lifetime >= c->token_ttl);
	CHECK(c->max_token_lifetime <= LG_MAX_TOKEN_LIFETIME_MAX);
	CHECK(c->render_slack_ms <= LG_RENDER_SLACK_MS_MAX);
	CHECK(c->workers >= 1 && c->workers <= LG_MAX_WORKERS);
	CHECK(c->max_connections >= 1 && c->max_connections <= LG_MAX_CONNECTIONS_MAX);
	CHECK(c->drain_ms <= LG_DRAIN_MS_MAX);
	CHECK(!!c->secret + !!c->secrets + !!c->secrets_file == 1);
	CHECK(c->channel_prefix && strlen(c->channel_prefix) <= LG_PREFIX_MAX_LEN);
	CHECK(!c->api_key || strlen(c->api_key) >= LG_API_KEY_MIN_LEN);
	CHECK(!c->redis_tls_cert == !c->redis_tls_key);
	CHECK(c->any_origin || (c->n_origins >= 1 && c->n_origins <= LG_MAX_ORIGINS));
	for (size_t i = 0; i < c->n_origins; i++)
		CHECK(lg_config_origin_allowed(c, c->origins[i], strlen(c->origins[i])));
	if (lg_config_origin_allowed(c, probe, plen) && !c->any_origin) {
		int listed = 0;
		for (size_t i = 0; i < c->n_origins; i++)
			listed |= strlen(c->origins[i]) == plen &&
			          strncasecmp(c->origins[i], probe, plen) == 0;
		CHECK(listed);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char copy[8192], flags[MAX_LINES][8192 + 64], *argv[2 * MAX_LINES + 2];
	char err[512], *line = NULL, *next;
	const char *probe = "";
	struct lg_env_unknown unknown[4];
	size_t nset = n_settings();
	int argc = 1, rc;
	struct lg_config c;

	if (size >= sizeof copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = "livegate";
	env_n = raw_n = 0;
	next = copy;
	for (size_t i = 0; i < MAX_LINES && next && *next; i++) {
		unsigned char sel;
		const char *name, *value;

		line = next;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		sel = (unsigned char)line[0];
		value = sel ? line + 1 : line;
		probe = value;
		if (sel == 0xff) {
			raw_env[raw_n++] = line + 1;
			continue;
		}
		if (sel == 0xfe) {
			argv[argc++] = line + 1;
			continue;
		}
		name = lg_config_setting_env((sel & 0x3f) % nset);
		if (strstr(name, "_TLS_"))
			value = safe_path(value);
		if ((sel & 0xc0) == 0xc0) {
			flag_of(name, flags[i], sizeof flags[i] - 1);
			strncat(flags[i], "=", sizeof flags[i] - strlen(flags[i]) - 1);
			strncat(flags[i], value, sizeof flags[i] - strlen(flags[i]) - 1);
			argv[argc++] = flags[i];
		} else if (sel & 0x80) {
			flag_of(name, flags[i], sizeof flags[i]);
			argv[argc++] = flags[i];
			argv[argc++] = (char *)value;
		} else {
			env_names[env_n] = name;
			env_values[env_n++] = value;
		}
	}
	argv[argc] = NULL;
	raw_env[raw_n] = NULL;
	err[0] = '\0';
	rc = lg_config_load(&c, argc, argv, fake_env, devnull, err, sizeof err);
	CHECK(rc == 0 || rc == 1 || rc == -1);
	if (rc == -1) {
		CHECK(err[0] && !strchr(err, '\n'));
		CHECK(strncmp(err, "LIVEGATE_", 9) == 0 || strstr(err, ": unknown argument"));
	} else if (rc == 0) {
		check_loaded(&c, probe);
	}
	lg_config_free(&c);
	CHECK(lg_config_unknown_env(raw_env, unknown, 4) <= raw_n);
	return 0;
}
