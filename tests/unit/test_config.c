/* tests/unit/test_config.c - unit tests of common/config (settings from
 * flags and environment, origins, addresses, unknown variables).
 * The redis_urls test below is pubsub/redis_url's: it stays here until the
 * pubsub owner moves it to test_redis_url.c with the rewritten parser. */
#include <check.h>
#include "check_main.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

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
	ck_assert_uint_eq(c.max_token_lifetime, 604800);
	ck_assert_uint_eq(c.render_slack_ms, 1000);
	ck_assert_ptr_null(c.redis_tls_ca);
	ck_assert_ptr_null(c.redis_tls_cert);
	ck_assert_ptr_null(c.redis_tls_key);
	ck_assert_int_eq(c.redis_cluster_pubsub, LG_CLUSTER_SHARDED);
	lg_config_free(&c);
}
END_TEST

START_TEST(new_settings)
{
	char path[] = "/tmp/livegate-test-pem-XXXXXX";
	int fd = mkstemp(path);
	char ca[64], cert[64], key[64];
	const char *env[] = { "LIVEGATE_SECRET=" KEY32, "LIVEGATE_MAX_TOKEN_LIFETIME=3600",
	                      "LIVEGATE_RENDER_SLACK_MS=0", "LIVEGATE_REDIS_CLUSTER_PUBSUB=global",
	                      ca, cert, key, NULL };
	struct lg_config c;

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(ca, sizeof ca, "LIVEGATE_REDIS_TLS_CA=%s", path);
	snprintf(cert, sizeof cert, "LIVEGATE_REDIS_TLS_CERT=%s", path);
	snprintf(key, sizeof key, "LIVEGATE_REDIS_TLS_KEY=%s", path);
	ck_assert_msg(load(&c, env, 0, NULL) == 0, "%s", errbuf);
	ck_assert_uint_eq(c.max_token_lifetime, 3600);
	ck_assert_uint_eq(c.render_slack_ms, 0);
	ck_assert_int_eq(c.redis_cluster_pubsub, LG_CLUSTER_GLOBAL);
	ck_assert_str_eq(c.redis_tls_ca, path);
	ck_assert_str_eq(c.redis_tls_cert, path);
	ck_assert_str_eq(c.redis_tls_key, path);
	lg_config_free(&c);
	/* A client certificate without its key (and the other way round). */
	env[6] = NULL;
	ck_assert_int_eq(load(&c, env, 0, NULL), -1);
	ck_assert_msg(strncmp(errbuf, "LIVEGATE_REDIS_TLS_KEY:", 23) == 0, "%s", errbuf);
	lg_config_free(&c);
	env[5] = key;
	ck_assert_int_eq(load(&c, env, 0, NULL), -1);
	ck_assert_msg(strncmp(errbuf, "LIVEGATE_REDIS_TLS_CERT:", 24) == 0, "%s", errbuf);
	lg_config_free(&c);
	unlink(path);
}
END_TEST

/* The lifetime cap may not refuse what the API itself issues. */
START_TEST(max_lifetime_covers_token_ttl)
{
	const char *ok[] = { "LIVEGATE_SECRET=" KEY32, "LIVEGATE_TOKEN_TTL=600",
	                     "LIVEGATE_MAX_TOKEN_LIFETIME=600", NULL };
	const char *bad[] = { "LIVEGATE_SECRET=" KEY32, "LIVEGATE_TOKEN_TTL=600",
	                      "LIVEGATE_MAX_TOKEN_LIFETIME=599", NULL };
	struct lg_config c;

	ck_assert_int_eq(load(&c, ok, 0, NULL), 0);
	lg_config_free(&c);
	ck_assert_int_eq(load(&c, bad, 0, NULL), -1);
	ck_assert_msg(strncmp(errbuf, "LIVEGATE_MAX_TOKEN_LIFETIME:", 28) == 0, "%s", errbuf);
	ck_assert_ptr_nonnull(strstr(errbuf, "LIVEGATE_TOKEN_TTL"));
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
	{ "LIVEGATE_MAX_TOKEN_LIFETIME", "0" },
	{ "LIVEGATE_MAX_TOKEN_LIFETIME", "315360001" },
	{ "LIVEGATE_MAX_TOKEN_LIFETIME", "7d" },
	{ "LIVEGATE_MAX_TOKEN_LIFETIME", "60" },         /* below the default TOKEN_TTL */
	{ "LIVEGATE_RENDER_SLACK_MS", "60001" },
	{ "LIVEGATE_RENDER_SLACK_MS", "-1" },
	{ "LIVEGATE_REDIS_CLUSTER_PUBSUB", "shard" },
	{ "LIVEGATE_REDIS_TLS_CA", "/nonexistent/ca.pem" },
	{ "LIVEGATE_REDIS_TLS_CA", "/tmp" },              /* a directory */
	{ "LIVEGATE_REDIS_TLS_CERT", "/nonexistent/client.pem" },
	{ "LIVEGATE_REDIS_TLS_KEY", "/nonexistent/client.key" },
	{ "LIVEGATE_PUBLIC_ADDR", "localhost" },
	{ "LIVEGATE_PUBLIC_ADDR", "[::1]" },
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
	const char *secret_and_file[] = { "LIVEGATE_SECRET=" KEY32, "LIVEGATE_SECRETS_FILE=/k", NULL };
	const char *all_three[] = { "LIVEGATE_SECRET=" KEY32, "LIVEGATE_SECRETS=a:" KEY32,
	                            "LIVEGATE_SECRETS_FILE=/k", NULL };
	struct lg_config c;

	ck_assert_int_eq(load(&c, none, 0, NULL), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "LIVEGATE_SECRET"));
	lg_config_free(&c);
	ck_assert_int_eq(load(&c, two, 0, NULL), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "only one"));
	ck_assert_msg(strncmp(errbuf, "LIVEGATE_SECRET and LIVEGATE_SECRETS:", 37) == 0, "%s", errbuf);
	lg_config_free(&c);
	/* Issue 10 finding 12: this pair was reported as LIVEGATE_SECRETS. */
	ck_assert_int_eq(load(&c, secret_and_file, 0, NULL), -1);
	ck_assert_msg(strncmp(errbuf, "LIVEGATE_SECRET and LIVEGATE_SECRETS_FILE:", 42) == 0, "%s", errbuf);
	lg_config_free(&c);
	ck_assert_int_eq(load(&c, all_three, 0, NULL), -1);
	ck_assert_msg(strncmp(errbuf, "LIVEGATE_SECRET, LIVEGATE_SECRETS and LIVEGATE_SECRETS_FILE:",
	                      60) == 0, "%s", errbuf);
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

	static char longer[2000];
	char *long_argv[] = { "livegate", longer, NULL };

	ck_assert_int_eq(load(&c, env, 2, argv), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "--no-such-thing"));
	lg_config_free(&c);
	/* An argument longer than the error line is cut, not the reason. */
	memset(longer, 'x', sizeof longer - 1);
	memcpy(longer, "--", 2);
	ck_assert_int_eq(load(&c, env, 2, long_argv), -1);
	ck_assert_msg(strstr(errbuf, "...: unknown argument (see livegate --help)"), "%s", errbuf);
	ck_assert_uint_lt(strlen(errbuf), 200);
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
		"LIVEGATE_MAX_TOKEN_LIFETIME", "--max-token-lifetime", "LIVEGATE_RENDER_SLACK_MS",
		"LIVEGATE_REDIS_TLS_CA", "LIVEGATE_REDIS_TLS_CERT", "LIVEGATE_REDIS_TLS_KEY",
		"LIVEGATE_REDIS_CLUSTER_PUBSUB", "--redis-cluster-pubsub", "localhost:port",
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

/* Spaces around entries are not part of them, the last one's included
 * ("https://a.example " from a compose file was refused as "entry 2"). */
START_TEST(origins_with_spaces_around)
{
	const char *env[] = { "LIVEGATE_SECRET=" KEY32,
	                      "LIVEGATE_ALLOWED_ORIGINS= https://a.example ,\thttps://b.example\t ", NULL };
	const char *one[] = { "LIVEGATE_SECRET=" KEY32, "LIVEGATE_ALLOWED_ORIGINS=https://a.example ",
	                      NULL };
	struct lg_config c;

	ck_assert_msg(load(&c, env, 0, NULL) == 0, "%s", errbuf);
	ck_assert_uint_eq(c.n_origins, 2);
	ck_assert_str_eq(c.origins[0], "https://a.example");
	ck_assert_str_eq(c.origins[1], "https://b.example");
	lg_config_free(&c);
	ck_assert_msg(load(&c, one, 0, NULL) == 0, "%s", errbuf);
	ck_assert_uint_eq(c.n_origins, 1);
	ck_assert_int_eq(lg_config_origin_allowed(&c, "https://a.example", 17), 1);
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
	ck_assert_int_eq(a.sa.ss_family, AF_INET);
	ck_assert_uint_eq(ntohl(((struct sockaddr_in *)&a.sa)->sin_addr.s_addr), INADDR_LOOPBACK);
	ck_assert_int_eq(lg_addr_parse(&a, "[::1:8080", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "localhost:port"));
	ck_assert_int_eq(lg_addr_parse(&a, ":80", err, sizeof err), -1);
	/* The message states the rule that is applied (issue 14): a host
	 * name other than localhost is refused, and the message says so. */
	ck_assert_int_eq(lg_addr_parse(&a, "example.com:8621", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "example.com is not an IP address") &&
	              strstr(err, "not resolved") && strstr(err, "localhost:port"), "%s", err);
	ck_assert_int_eq(lg_addr_parse(&a, "0.0.0.0:8080", err, sizeof err), 0);
	ck_assert_int_eq(lg_addr_parse(&a, "[::]:8080", err, sizeof err), 0);
}
END_TEST

START_TEST(unknown_variables_are_named)
{
	char *envp[] = { "PATH=/bin", "LIVEGATE_SECRET=" KEY32, "LIVEGATE_PUBLIC_ADR=1.2.3.4:80",
	                 "LIVEGATE_INTERNAL_WORKER=0,3,4", "LIVEGATE_SECRET_FILE=/k",
	                 "LIVEGATE_FROBNICATE=1", "LIVEGATE_REDIS_URL=redis://h", "livegate_secret=x",
	                 "LIVEGATE_TOKENTTL=5", "LIVEGATE_=", NULL };
	struct lg_env_unknown u[8];
	size_t n = lg_config_unknown_env(envp, u, 8);

	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq((int)u[0].len, 19);
	ck_assert_int_eq(strncmp(u[0].name, "LIVEGATE_PUBLIC_ADR", u[0].len), 0);
	ck_assert_str_eq(u[0].suggestion, "LIVEGATE_PUBLIC_ADDR");
	ck_assert_int_eq(strncmp(u[1].name, "LIVEGATE_SECRET_FILE=", u[1].len + 1), 0);
	ck_assert_str_eq(u[1].suggestion, "LIVEGATE_SECRETS_FILE");
	ck_assert_int_eq(strncmp(u[2].name, "LIVEGATE_FROBNICATE=", u[2].len + 1), 0);
	ck_assert_ptr_null(u[2].suggestion);
	ck_assert_str_eq(u[3].suggestion, "LIVEGATE_TOKEN_TTL");
	ck_assert_int_eq((int)u[4].len, 9);
	ck_assert_ptr_null(u[4].suggestion);
	/* Only max are filled; the count is all of them. */
	ck_assert_uint_eq(lg_config_unknown_env(envp, u, 1), 5);
	ck_assert_uint_eq(lg_config_unknown_env(NULL, u, 8), 0);
}
END_TEST

/* pubsub/redis_url, not common/config: owned by the pubsub helper, who is
 * rewriting the parser and moves this test to test_redis_url.c with it. */
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
	tcase_add_test(tc, new_settings);
	tcase_add_test(tc, max_lifetime_covers_token_ttl);
	tcase_add_test(tc, unknown_variables_are_named);
	tcase_add_test(tc, flags_win_over_env);
	tcase_add_loop_test(tc, bad_values_name_the_variable, 0, (int)(sizeof bads / sizeof bads[0]));
	tcase_add_test(tc, secret_settings);
	tcase_add_test(tc, unknown_flag);
	tcase_add_test(tc, help_lists_every_variable);
	tcase_add_test(tc, origins);
	tcase_add_test(tc, origins_with_spaces_around);
	tcase_add_test(tc, addresses);
	tcase_add_test(tc, redis_urls);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
