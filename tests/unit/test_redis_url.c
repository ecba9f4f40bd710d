/* Unit tests of pubsub/redis_url: every URL form of the contract (one
 * server, TLS, sentinel, cluster), passwords with special characters, IPv6
 * literals, and bad inputs refused with one clear message that never holds
 * the password. */
#include <check.h>
#include "check_main.h"
#include <string.h>

#include "redis_url.h"

static struct ps_redis_url U;
static char E[160];

static int parse(const char *url)
{
	E[0] = '\0';
	return ps_redis_url_parse(url, &U, E, sizeof E);
}

START_TEST(single_server)
{
	ck_assert_int_eq(parse("redis://h"), 0);
	ck_assert_int_eq(U.mode, PS_REDIS_SINGLE);
	ck_assert_int_eq(U.tls, 0);
	ck_assert_str_eq(U.host, "h");
	ck_assert_int_eq(U.port, 6379);
	ck_assert_int_eq(U.nhosts, 1);
	ck_assert_int_eq(U.db, 0);
	ck_assert_int_eq(parse("redis://bob:pw@cache.internal:6380/7"), 0);
	ck_assert_str_eq(U.user, "bob");
	ck_assert_str_eq(U.password, "pw");
	ck_assert_str_eq(U.hosts[0].host, "cache.internal");
	ck_assert_int_eq(U.hosts[0].port, 6380);
	ck_assert_int_eq(U.db, 7);
	ck_assert_int_eq(parse("redis://:only-pass@h/"), 0);
	ck_assert_str_eq(U.user, "");
	ck_assert_str_eq(U.password, "only-pass");
}
END_TEST

START_TEST(tls_server)
{
	ck_assert_int_eq(parse("rediss://:tok@master.abc.cache.amazonaws.com:6379"), 0);
	ck_assert_int_eq(U.mode, PS_REDIS_SINGLE);
	ck_assert_int_eq(U.tls, 1);
	ck_assert_str_eq(U.host, "master.abc.cache.amazonaws.com");
	ck_assert_int_eq(parse("rediss+cluster://a:1,b:2"), 0);
	ck_assert_int_eq(U.tls, 1);
	ck_assert_int_eq(U.mode, PS_REDIS_CLUSTER);
}
END_TEST

START_TEST(sentinel)
{
	ck_assert_int_eq(parse("redis+sentinel://s1,s2:26380,[::1]:26381/mymaster"), 0);
	ck_assert_int_eq(U.mode, PS_REDIS_SENTINEL);
	ck_assert_int_eq(U.nhosts, 3);
	ck_assert_str_eq(U.hosts[0].host, "s1");
	ck_assert_int_eq(U.hosts[0].port, 26379);   /* the sentinel port by default */
	ck_assert_int_eq(U.hosts[1].port, 26380);
	ck_assert_str_eq(U.hosts[2].host, "::1");
	ck_assert_int_eq(U.hosts[2].port, 26381);
	ck_assert_str_eq(U.master, "mymaster");
	ck_assert_int_eq(U.db, 0);
	ck_assert_int_eq(parse("redis+sentinel://u:p@s1:5000/my%2Fmaster/3"), 0);
	ck_assert_str_eq(U.master, "my/master");
	ck_assert_int_eq(U.db, 3);
	ck_assert_str_eq(U.user, "u");
	ck_assert_int_eq(parse("redis+sentinel://s1:5000"), -1);
	ck_assert_ptr_nonnull(strstr(E, "master name"));
	ck_assert_int_eq(parse("redis+sentinel://s1:5000/"), -1);
	ck_assert_int_eq(parse("redis+sentinel://s1/m/x"), -1);
}
END_TEST

START_TEST(cluster)
{
	ck_assert_int_eq(parse("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001,[fe80::1]:7002"), 0);
	ck_assert_int_eq(U.mode, PS_REDIS_CLUSTER);
	ck_assert_int_eq(U.nhosts, 3);
	ck_assert_str_eq(U.host, "10.0.0.1");        /* the first host, for logs */
	ck_assert_int_eq(U.port, 7000);
	ck_assert_str_eq(U.hosts[2].host, "fe80::1");
	ck_assert_int_eq(parse("redis+cluster://n1"), 0);
	ck_assert_int_eq(U.hosts[0].port, 6379);
	ck_assert_int_eq(parse("redis+cluster://n1/0"), 0);
	ck_assert_int_eq(parse("redis+cluster://n1/2"), -1);
	ck_assert_ptr_nonnull(strstr(E, "db 0"));
}
END_TEST

START_TEST(special_passwords)
{
	/* raw '@', ':' and '/' need no escape: the userinfo ends at the last '@' */
	ck_assert_int_eq(parse("redis://:p@ss:w/rd@h:1"), 0);
	ck_assert_str_eq(U.password, "p@ss:w/rd");
	ck_assert_str_eq(U.host, "h");
	ck_assert_int_eq(parse("redis://user:a%25b%2Fc%40d%3A%20e@h"), 0);
	ck_assert_str_eq(U.password, "a%b/c@d: e");
	ck_assert_int_eq(parse("redis+sentinel://:x,y@s1,s2/m"), 0);
	ck_assert_str_eq(U.password, "x,y");
	ck_assert_int_eq(U.nhosts, 2);
	ck_assert_int_eq(parse("redis://:sec%zzret@h"), -1);
	ck_assert_ptr_null(strstr(E, "sec"));
	ck_assert_ptr_nonnull(strstr(E, "%25"));     /* says how to write '%' */
	ck_assert_int_eq(parse("redis://:nul%00@h"), -1);
	ck_assert_int_eq(parse("redis://:trunc%4@h"), -1);
	ck_assert_int_eq(parse("redis://nocolon@h"), -1);
}
END_TEST

START_TEST(ipv6)
{
	ck_assert_int_eq(parse("redis://[::1]:6380"), 0);
	ck_assert_str_eq(U.host, "::1");
	ck_assert_int_eq(U.port, 6380);
	ck_assert_int_eq(parse("redis://[::1]"), 0);
	ck_assert_int_eq(U.port, 6379);
	ck_assert_int_eq(parse("redis://[2001:db8::7]:1/2"), 0);
	ck_assert_str_eq(U.host, "2001:db8::7");
	ck_assert_int_eq(U.db, 2);
	ck_assert_int_eq(parse("redis://::1:6379"), -1);
	ck_assert_ptr_nonnull(strstr(E, "brackets"));
	ck_assert_int_eq(parse("redis://[::1"), -1);
	ck_assert_int_eq(parse("redis://[]:1"), -1);
	ck_assert_int_eq(parse("redis://[::1]x"), -1);
	ck_assert_int_eq(parse("redis://[zz::1]:1"), -1);
}
END_TEST

START_TEST(bad_inputs)
{
	static const char *const bad[] = {
		"", "http://h", "redis:/h", "redis://", "redis://:pw@", "redis://h:0",
		"redis://h:65536", "redis://h:x", "redis://h:", "redis://h/abc", "redis://h/-1",
		"redis://ho st", "redis://a,b", "redis://h?timeout=1", "redis://h#x",
		"redis+cluster://a,,b", "redis+cluster://a,", "redis+sentinel://,/m",
		"redis+sentinel://a:1:2/m", "redis://h/99999999",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(parse(bad[i]) == -1, "accepted %s", bad[i]);
		ck_assert_msg(E[0] && !strchr(E, '\n'), "no one-line reason for %s", bad[i]);
	}
	ck_assert_int_eq(parse("redis://a,b"), -1);
	ck_assert_ptr_nonnull(strstr(E, "redis+sentinel://"));
	ck_assert_int_eq(parse("redis://h1,h2,h3,h4,h5,h6,h7,h8,h9"), -1);
}
END_TEST

START_TEST(host_limit)
{
	char url[512] = "redis+cluster://";

	for (int i = 0; i < 17; i++)
		strcat(url, i ? ",h" : "h");
	ck_assert_int_eq(parse(url), -1);
	ck_assert_ptr_nonnull(strstr(E, "too many hosts"));
	url[strlen(url) - 2] = '\0';
	ck_assert_int_eq(parse(url), 0);
	ck_assert_int_eq(U.nhosts, 16);
}
END_TEST

START_TEST(hostport_for_logs)
{
	char buf[64];

	ck_assert_str_eq(ps_redis_hostport("h", 1, buf, sizeof buf), "h:1");
	ck_assert_str_eq(ps_redis_hostport("::1", 2, buf, sizeof buf), "[::1]:2");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("redis_url");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, single_server);
	tcase_add_test(tc, tls_server);
	tcase_add_test(tc, sentinel);
	tcase_add_test(tc, cluster);
	tcase_add_test(tc, special_passwords);
	tcase_add_test(tc, ipv6);
	tcase_add_test(tc, bad_inputs);
	tcase_add_test(tc, host_limit);
	tcase_add_test(tc, hostport_for_logs);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
