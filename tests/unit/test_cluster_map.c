/* Unit tests of pubsub/cluster_map (slot maps read from CLUSTER SHARDS and
 * CLUSTER SLOTS replies: masters only, the TLS port under TLS, unknown
 * endpoints, shards without slots or without a master, malformed replies)
 * and of the subscriber's prefix pattern (glob characters escaped). */
#include <check.h>
#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include "cluster_map.h"
#include "resp.h"
#include "sub.h"

static redisReply *parse(const char *s)
{
	struct ps_reader *r = ps_reader_new(1 << 20, 1000);
	redisReply *rep = NULL;

	ck_assert_int_eq(ps_reader_feed(r, s, strlen(s)), 0);
	ck_assert_int_eq(ps_reader_next(r, &rep), 1);
	ps_reader_free(r);
	return rep;
}

/* A node of CLUSTER SHARDS as Redis 7.0 writes it (RESP2). */
#define NODE(ep, port, tlsport, role) \
	"*12\r\n$2\r\nid\r\n$1\r\nx\r\n$4\r\nport\r\n:" port "\r\n$8\r\ntls-port\r\n:" tlsport \
	"\r\n$8\r\nendpoint\r\n$" ep "\r\n$4\r\nrole\r\n$" role "\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"

static const char shards[] =
	"*4\r\n"
	/* shard 1: slots 0-99 and 200-299; a replica first, then the master */
	"*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:99\r\n:200\r\n:299\r\n$5\r\nnodes\r\n*2\r\n"
	NODE("8\r\n10.0.0.2", "7002", "8002", "7\r\nreplica")
	NODE("8\r\n10.0.0.1", "7001", "8001", "6\r\nmaster")
	/* shard 2: slots 100-199, its master's endpoint unknown */
	"*4\r\n$5\r\nslots\r\n*2\r\n:100\r\n:199\r\n$5\r\nnodes\r\n*1\r\n"
	NODE("1\r\n?", "7003", "8003", "6\r\nmaster")
	/* shard 3: a new master with no slots */
	"*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n"
	NODE("8\r\n10.0.0.9", "7009", "8009", "6\r\nmaster")
	/* shard 4: slots 300-399 while its master is being replaced */
	"*4\r\n$5\r\nslots\r\n*2\r\n:300\r\n:399\r\n$5\r\nnodes\r\n*1\r\n"
	NODE("8\r\n10.0.0.4", "7004", "8004", "7\r\nreplica");

START_TEST(shards_reply)
{
	struct ps_cluster_map *m = ps_cluster_map_new();
	redisReply *r = parse(shards);
	char err[160];
	const struct ps_cluster_node *o;

	ck_assert_int_eq(ps_cluster_map_parse(m, r, 1, 0, "seed.example", err, sizeof err), 0);
	ck_assert_int_eq(m->nnodes, 2);
	o = ps_cluster_map_owner(m, 0);
	ck_assert_str_eq(o->host, "10.0.0.1");
	ck_assert_int_eq(o->port, 7001);
	ck_assert_ptr_eq(ps_cluster_map_owner(m, 250), o);
	o = ps_cluster_map_owner(m, 150);
	ck_assert_str_eq(o->host, "seed.example");      /* "?" is the node asked */
	ck_assert_int_eq(o->port, 7003);
	ck_assert_ptr_null(ps_cluster_map_owner(m, 350)); /* no master right now */
	ck_assert_ptr_null(ps_cluster_map_owner(m, 16383));
	ps_cluster_map_free(m);
	/* under TLS the TLS port */
	m = ps_cluster_map_new();
	ck_assert_int_eq(ps_cluster_map_parse(m, r, 1, 1, "seed.example", err, sizeof err), 0);
	ck_assert_int_eq(ps_cluster_map_owner(m, 0)->port, 8001);
	ps_cluster_map_free(m);
	freeReplyObject(r);
}
END_TEST

START_TEST(slots_reply)
{
	struct ps_cluster_map *m = ps_cluster_map_new();
	redisReply *r = parse(
		"*2\r\n"
		"*4\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$1\r\na\r\n"
		"*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$1\r\nd\r\n"
		"*3\r\n:8192\r\n:16383\r\n*3\r\n$0\r\n\r\n:7001\r\n$1\r\nb\r\n");
	char err[160];

	ck_assert_int_eq(ps_cluster_map_parse(m, r, 0, 0, "h", err, sizeof err), 0);
	ck_assert_int_eq(m->nnodes, 2);
	ck_assert_int_eq(ps_cluster_map_owner(m, 8191)->port, 7000);
	ck_assert_int_eq(ps_cluster_map_owner(m, 8192)->port, 7001);
	ck_assert_str_eq(ps_cluster_map_owner(m, 8192)->host, "h");   /* empty ip */
	freeReplyObject(r);
	ps_cluster_map_free(m);
}
END_TEST

START_TEST(bad_replies)
{
	static const char *const bad[][2] = {
		{ "-ERR unknown subcommand 'shards'\r\n", "1" },
		{ ":1\r\n", "1" },
		{ "*1\r\n*2\r\n$5\r\nslots\r\n*0\r\n", "1" },                  /* no nodes */
		{ "*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:0\r\n", "0" },  /* port 0 */
		{ "*1\r\n*3\r\n:9\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n", "0" },  /* start > end */
		{ "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n", "0" },
		{ "*1\r\n*2\r\n:0\r\n:5\r\n", "0" },                           /* no master */
	};
	char err[160];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ps_cluster_map *m = ps_cluster_map_new();
		redisReply *r = parse(bad[i][0]);
		err[0] = '\0';
		ck_assert_msg(ps_cluster_map_parse(m, r, bad[i][1][0] == '1', 0, "h", err,
		                                   sizeof err) == -1, "case %zu accepted", i);
		ck_assert_msg(err[0] != '\0', "case %zu: no reason", i);
		freeReplyObject(r);
		ps_cluster_map_free(m);
	}
}
END_TEST

START_TEST(node_table)
{
	struct ps_cluster_map *m = ps_cluster_map_new();
	char host[32];

	ck_assert_int_eq(ps_cluster_map_node(m, "a", 1), 0);
	ck_assert_int_eq(ps_cluster_map_node(m, "a", 2), 1);
	ck_assert_int_eq(ps_cluster_map_node(m, "a", 1), 0);     /* found, not added */
	for (int i = 2; i < PS_CLUSTER_NODES_MAX; i++) {
		snprintf(host, sizeof host, "n%d", i);
		ck_assert_int_eq(ps_cluster_map_node(m, host, 1), i);
	}
	ck_assert_int_eq(ps_cluster_map_node(m, "one-too-many", 1), -1);
	ps_cluster_map_free(m);
}
END_TEST

START_TEST(prefix_pattern)
{
	char buf[64];

	ck_assert_int_eq(ps_sub_pattern("live:", 5, buf, sizeof buf), 6);
	ck_assert_str_eq(buf, "live:*");
	ck_assert_int_eq(ps_sub_pattern("", 0, buf, sizeof buf), 1);
	ck_assert_str_eq(buf, "*");
	ck_assert_int_eq(ps_sub_pattern("a*b?c[d]e\\f", 11, buf, sizeof buf), 17);
	ck_assert_str_eq(buf, "a\\*b\\?c\\[d\\]e\\\\f*");
	ck_assert_int_eq(ps_sub_pattern("abc", 3, buf, 4), -1);   /* no room for '*' */
	ck_assert_int_eq(ps_sub_pattern("abc", 3, buf, 5), 4);
	ck_assert_int_eq(ps_sub_pattern("a*", 2, buf, 4), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cluster_map");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, shards_reply);
	tcase_add_test(tc, slots_reply);
	tcase_add_test(tc, bad_replies);
	tcase_add_test(tc, node_table);
	tcase_add_test(tc, prefix_pattern);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
