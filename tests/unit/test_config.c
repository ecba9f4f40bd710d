/* Unit tests of gateway/config (settings from flags and environment) and
 * pubsub/redis_url. */
#include <check.h>
#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "redis_url.h"

#define KEY32 "0123456789abcdef0123456789abcdef"

/* A fake environment: NAME=VALUE pairs. */
static const char *const *fake_env;

static const char *env_lookup(const char *name)
{
	size_t n = strlen(name);
	for (const char *const *e = fake_env; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* Loads with env and argv; returns lg_config_load's result, err in errbuf. */
static char errbuf[512];
static int load(struct lg_config *c, const char *const *env, int argc, char **argv)
{
	static char *no_args[] = { "livegate", NULL };
	FILE *devnull = fopen("/dev/null", "w");
	int rc;

	fake_env = env;
	errbuf[0] = '\0';
	rc = lg_config_load(c, argc ? argc : 1, argc ? argv : no_args, env_lookup, devnull,
	                    errbuf, sizeof errbuf);
	fclose(devnull);
	return rc;
}

START_TEST(defaults)
{
	const char *env[] = { "LIVEGATE_SECRET=" KEY32, NULL };
	struct lg_config c;

	ck_assert_int_eq(load(&c, env, 0, NULL), 0);
	ck_assert_str_eq(c.public_addr.text, "0.0.0.0:8080");
	ck_assert_str_eq(c.private_addr.text, "127.0.0.1:8081");
	ck_assert_str_eq(c.redis.host, "127.0.0.1");
	ck_assert_int_eq(c.redis.port, 6379);
	ck_assert_int_eq(c.any_origin, 1);
	ck_assert_str_eq(c.channel_prefix, "");
	ck_assert_uint_eq(c.token_ttl, 3600);
	ck_assert_uint_ge(c.workers, 1);
	ck_assert_uint_eq(c.max_connections, 19000);
	ck_assert_uint_eq(c.drain_ms, 5000);
	ck_assert_ptr_null(c.api_key);
	lg_config_free(&c);
}
END_TEST

START_TEST(flags_win_over_env)
{
	const char *env[] = { "LIVEGATE_SECRET=" KEY32, "LIVEGATE_TOKEN_TTL=100",
	                      "LIVEGATE_WORKERS=3", NULL };
	char *argv[] = { "livegate", "--token-ttl=200", "--workers", "2", NULL };
	struct lg_config c;

	ck_assert_int_eq(load(&c, env, 4, argv), 0);
	ck_assert_uint_eq(c.token_ttl, 200);
	ck_assert_uint_eq(c.workers, 2);
	lg_config_free(&c);
}
END_TEST

/* Each bad value must fail naming its variable. */
struct bad { const char *var; const char *value; };
static const struct bad bads[] = {
	{ "LIVEGATE_TOKEN_TTL", "0" },
	{ "LIVEGATE_TOKEN_TTL", "86401" },
	{ "LIVEGATE_TOKEN_TTL", "12x" },
	{ "LIVEGATE_TOKEN_TTL", "-5" },
	{ "LIVEGATE_WORKERS", "0" },
	{ "LIVEGATE_WORKERS", "65" },
	{ "LIVEGATE_MAX_CONNECTIONS", "0" },
	{ "LIVEGATE_DRAIN_MS", "600001" },
	{ "LIVEGATE_PUBLIC_ADDR", "nonsense" },
	{ "LIVEGATE_PUBLIC_ADDR", "1.2.3.4:0" },
	{ "LIVEGATE_PUBLIC_ADDR", "1.2.3.4:65536" },
	{ "LIVEGATE_PRIVATE_ADDR", "example.com:80" },
	{ "LIVEGATE_REDIS_URL", "http://x" },
	{ "LIVEGATE_REDIS_URL", "redis://:pw@host:99999" },
	{ "LIVEGATE_ALLOWED_ORIGINS", "example.com" },
	{ "LIVEGATE_ALLOWED_ORIGINS", "https://a.example,*" },
	{ "LIVEGATE_ALLOWED_ORIGINS", "https://a.example/path" },
	{ "LIVEGATE_CHANNEL_PREFIX", "has space" },
	{ "LIVEGATE_API_KEY", "short" },
	{ "LIVEGATE_LOG_LEVEL", "verbose" },
	{ "LIVEGATE_LOG_FORMAT", "xml" },
};

START_TEST(bad_values_name_the_variable)
{
	char line[300];
	const char *env[] = { "LIVEGATE_SECRET=" KEY32, line, NULL };
	struct lg_config c;

	snprintf(line, sizeof line, "%s=%s", bads[_i].var, bads[_i].value);
	ck_assert_int_eq(load(&c, env, 0, NULL), -1);
	ck_assert_msg(strncmp(errbuf, bads[_i].var, strlen(bads[_i].var)) == 0 &&
	              errbuf[strlen(bads[_i].var)] == ':', "error '%s' does not name %s", errbuf,
	              bads[_i].var);
	ck_assert_ptr_null(strchr(errbuf, '\n'));
	lg_config_free(&c);
}
END_TEST

START_TEST(secret_settings)
{
	const char *none[] = { NULL };
	const char *two[] = { "LIVEGATE_SECRET=" KEY32, "LIVEGATE_SECRETS=a:" KEY32, NULL };
	const char *empty[] = { "LIVEGATE_SECRET=", NULL };
	struct lg_config c;

	ck_assert_int_eq(load(&c, none, 0, NULL), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "LIVEGATE_SECRET"));
	lg_config_free(&c);
	ck_assert_int_eq(load(&c, two, 0, NULL), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "only one"));
	lg_config_free(&c);
	ck_assert_int_eq(load(&c, empty, 0, NULL), -1);
	lg_config_free(&c);
}
END_TEST

START_TEST(unknown_flag)
{
	const char *env[] = { "LIVEGATE_SECRET=" KEY32, NULL };
	char *argv[] = { "livegate", "--no-such-thing=1", NULL };
	struct lg_config c;

	ck_assert_int_eq(load(&c, env, 2, argv), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "--no-such-thing"));
	lg_config_free(&c);
}
END_TEST

START_TEST(help_lists_every_variable)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	static const char *const vars[] = {
		"LIVEGATE_SECRET ", "LIVEGATE_SECRETS ", "LIVEGATE_SECRETS_FILE", "LIVEGATE_API_KEY",
		"LIVEGATE_REDIS_URL", "LIVEGATE_PUBLIC_ADDR", "LIVEGATE_PRIVATE_ADDR",
		"LIVEGATE_ALLOWED_ORIGINS", "LIVEGATE_CHANNEL_PREFIX", "LIVEGATE_TOKEN_TTL",
		"LIVEGATE_WORKERS", "LIVEGATE_MAX_CONNECTIONS", "LIVEGATE_DRAIN_MS",
		"LIVEGATE_LOG_LEVEL", "LIVEGATE_LOG_FORMAT", "--drain-ms", "--secrets-file",
	};

	lg_config_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		ck_assert_msg(strstr(buf, vars[i]), "--help lacks %s", vars[i]);
	free(buf);
}
END_TEST

START_TEST(origins)
{
	const char *env[] = { "LIVEGATE_SECRET=" KEY32,
	                      "LIVEGATE_ALLOWED_ORIGINS=https://App.example, http://localhost:3000", NULL };
	struct lg_config c;

	ck_assert_int_eq(load(&c, env, 0, NULL), 0);
	ck_assert_uint_eq(c.n_origins, 2);
	ck_assert_int_eq(lg_config_origin_allowed(&c, "https://app.example", 19), 1);
	ck_assert_int_eq(lg_config_origin_allowed(&c, "HTTPS://APP.EXAMPLE", 19), 1);
	ck_assert_int_eq(lg_config_origin_allowed(&c, "http://localhost:3000", 21), 1);
	ck_assert_int_eq(lg_config_origin_allowed(&c, "http://localhost:3001", 21), 0);
	ck_assert_int_eq(lg_config_origin_allowed(&c, "https://app.example.evil", 24), 0);
	ck_assert_int_eq(lg_config_origin_allowed(&c, "https://app.exampl", 18), 0);
	lg_config_free(&c);
}
END_TEST

START_TEST(addresses)
{
	struct lg_addr a;
	char err[128];

	ck_assert_int_eq(lg_addr_parse(&a, "127.0.0.1:80", err, sizeof err), 0);
	ck_assert_int_eq(a.sa.ss_family, AF_INET);
	ck_assert_int_eq(lg_addr_parse(&a, "[::1]:8080", err, sizeof err), 0);
	ck_assert_int_eq(a.sa.ss_family, AF_INET6);
	ck_assert_int_eq(lg_addr_parse(&a, "localhost:1", err, sizeof err), 0);
	ck_assert_int_eq(lg_addr_parse(&a, "[::1:8080", err, sizeof err), -1);
	ck_assert_int_eq(lg_addr_parse(&a, ":80", err, sizeof err), -1);
}
END_TEST

START_TEST(redis_urls)
{
	struct ps_redis_url u;
	char err[128];

	ck_assert_int_eq(ps_redis_url_parse("redis://h", &u, err, sizeof err), 0);
	ck_assert_str_eq(u.host, "h");
	ck_assert_int_eq(u.port, 6379);
	ck_assert_int_eq(u.db, 0);
	ck_assert_str_eq(u.password, "");
	ck_assert_int_eq(ps_redis_url_parse("redis://:p%40ss@10.0.0.1:7000/3", &u, err, sizeof err), 0);
	ck_assert_str_eq(u.host, "10.0.0.1");
	ck_assert_int_eq(u.port, 7000);
	ck_assert_int_eq(u.db, 3);
	ck_assert_str_eq(u.password, "p@ss");
	ck_assert_str_eq(u.user, "");
	ck_assert_int_eq(ps_redis_url_parse("redis://bob:x@y@[::1]:6380/", &u, err, sizeof err), 0);
	ck_assert_str_eq(u.user, "bob");
	ck_assert_str_eq(u.password, "x@y");
	ck_assert_str_eq(u.host, "::1");
	ck_assert_int_eq(u.port, 6380);
	ck_assert_int_eq(ps_redis_url_parse("redis://:secretpw@h:0", &u, err, sizeof err), -1);
	ck_assert_ptr_null(strstr(err, "secretpw"));
	ck_assert_int_eq(ps_redis_url_parse("redis://h/abc", &u, err, sizeof err), -1);
	ck_assert_int_eq(ps_redis_url_parse("redis://:bad%zz@h", &u, err, sizeof err), -1);
	ck_assert_int_eq(ps_redis_url_parse("redis://:nul%00@h", &u, err, sizeof err), -1);
	ck_assert_int_eq(ps_redis_url_parse("redis://:trunc%4@h", &u, err, sizeof err), -1);
	ck_assert_int_eq(ps_redis_url_parse("redis://", &u, err, sizeof err), -1);
	ck_assert_int_eq(ps_redis_url_parse("redis://ho st", &u, err, sizeof err), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, flags_win_over_env);
	tcase_add_loop_test(tc, bad_values_name_the_variable, 0, (int)(sizeof bads / sizeof bads[0]));
	tcase_add_test(tc, secret_settings);
	tcase_add_test(tc, unknown_flag);
	tcase_add_test(tc, help_lists_every_variable);
	tcase_add_test(tc, origins);
	tcase_add_test(tc, addresses);
	tcase_add_test(tc, redis_urls);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
