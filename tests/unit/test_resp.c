/* Unit tests of pubsub/resp and pubsub/slot: the bounded reader (split
 * input, a reply over the byte bound, an array over the element bound),
 * push classification (every confirmation and message kind, the subscribed
 * PING answer, malformed pushes), the errors a client acts on (MOVED, ASK,
 * authentication), command encoding, and CRC16 / key slots with hash tags. */
#include <check.h>
#include "check_main.h"
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "resp.h"
#include "slot.h"

/* Feeds s[0..n) and returns the one reply it holds. */
static redisReply *parse_n(const char *s, size_t n)
{
	struct ps_reader *r = ps_reader_new(1 << 20, 1000);
	redisReply *rep = NULL;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(ps_reader_feed(r, s, n), 0);
	ck_assert_int_eq(ps_reader_next(r, &rep), 1);
	ps_reader_free(r);
	return rep;
}

static redisReply *parse_one(const char *s)
{
	return parse_n(s, strlen(s));
}

START_TEST(reader_takes_split_input)
{
	struct ps_reader *r = ps_reader_new(1 << 20, 1000);
	const char *s = "*3\r\n$7\r\nmessage\r\n$5\r\ntodos\r\n$2\r\nhi\r\n+OK\r\n";
	redisReply *rep;

	for (size_t i = 0; i < strlen(s); i++) {
		ck_assert_int_eq(ps_reader_feed(r, s + i, 1), 0);
		if (i < 34)
			ck_assert_int_eq(ps_reader_next(r, &rep), 0);
	}
	ck_assert_int_eq(ps_reader_next(r, &rep), 1);
	ck_assert_int_eq(rep->type, REDIS_REPLY_ARRAY);
	freeReplyObject(rep);
	ck_assert_int_eq(ps_reader_next(r, &rep), 1);
	ck_assert_int_eq(rep->type, REDIS_REPLY_STATUS);
	freeReplyObject(rep);
	ck_assert_int_eq(ps_reader_next(r, &rep), 0);
	ps_reader_free(r);
}
END_TEST

START_TEST(reader_bounds_reply_bytes)
{
	struct ps_reader *r = ps_reader_new(1000, 1000);
	char chunk[600];
	redisReply *rep;

	/* Many small replies pass whatever their total. */
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(ps_reader_feed(r, "+OK\r\n", 5), 0);
		ck_assert_int_eq(ps_reader_next(r, &rep), 1);
		freeReplyObject(rep);
	}
	/* One bulk string declared at 2000 bytes is refused once past 1000. */
	ck_assert_int_eq(ps_reader_feed(r, "$2000\r\n", 7), 0);
	memset(chunk, 'x', sizeof chunk);
	ck_assert_int_eq(ps_reader_feed(r, chunk, sizeof chunk), 0);
	ck_assert_int_eq(ps_reader_next(r, &rep), 0);
	ck_assert_int_eq(ps_reader_feed(r, chunk, sizeof chunk), 0);
	ck_assert_int_eq(ps_reader_next(r, &rep), -1);
	ck_assert_ptr_nonnull(strstr(ps_reader_error(r), "over 1000 bytes"));
	ck_assert_int_eq(ps_reader_next(r, &rep), -1);   /* stays failed */
	ps_reader_free(r);

	/* The same reply arriving in one read is refused too (it completed
	 * before the bound was looked at: found by fuzz_resp), while many small
	 * replies in one read still pass. */
	static char big[1200 + 16], many[5 * 400];
	int n = snprintf(big, sizeof big, "$1200\r\n");

	memset(big + n, 'y', 1200);
	memcpy(big + n + 1200, "\r\n", 2);
	r = ps_reader_new(1000, 1000);
	ck_assert_int_eq(ps_reader_feed(r, big, (size_t)n + 1202), 0);
	ck_assert_int_eq(ps_reader_next(r, &rep), -1);
	ck_assert_ptr_nonnull(strstr(ps_reader_error(r), "over 1000 bytes"));
	ps_reader_free(r);
	for (int i = 0; i < 400; i++)
		memcpy(many + 5 * i, "+OK\r\n", 5);
	r = ps_reader_new(1000, 1000);
	ck_assert_int_eq(ps_reader_feed(r, many, sizeof many), 0);
	for (int i = 0; i < 400; i++) {
		ck_assert_int_eq(ps_reader_next(r, &rep), 1);
		freeReplyObject(rep);
	}
	ck_assert_int_eq(ps_reader_next(r, &rep), 0);
	ps_reader_free(r);
}
END_TEST

START_TEST(reader_bounds_array_elements)
{
	struct ps_reader *r = ps_reader_new(1 << 20, 100);
	redisReply *rep;

	ck_assert_int_eq(ps_reader_feed(r, "*100000000\r\n", 12), 0);
	ck_assert_int_eq(ps_reader_next(r, &rep), -1);
	ck_assert_ptr_nonnull(strstr(ps_reader_error(r), "over 100 elements"));
	ps_reader_free(r);
	/* a nested array over the bound, after a good element */
	r = ps_reader_new(1 << 20, 100);
	ck_assert_int_eq(ps_reader_feed(r, "*2\r\n:1\r\n*101\r\n", 15), 0);
	ck_assert_int_eq(ps_reader_next(r, &rep), -1);
	ps_reader_free(r);
	r = ps_reader_new(1 << 20, 100);
	ck_assert_int_eq(ps_reader_feed(r, "?junk\r\n", 7), 0);
	ck_assert_int_eq(ps_reader_next(r, &rep), -1);
	ck_assert_ptr_nonnull(strstr(ps_reader_error(r), "protocol error"));
	ps_reader_free(r);
}
END_TEST

START_TEST(classify_messages)
{
	struct ps_push p;
	redisReply *r;

	r = parse_one("*3\r\n$7\r\nmessage\r\n$5\r\ntodos\r\n$2\r\nhi\r\n");
	ck_assert_int_eq(ps_resp_classify(r, &p), PS_PUSH_MESSAGE);
	ck_assert_uint_eq(p.channel_len, 5);
	ck_assert_int_eq(memcmp(p.channel, "todos", 5), 0);
	ck_assert_int_eq(memcmp(p.payload, "hi", 2), 0);
	freeReplyObject(r);
	r = parse_one("*4\r\n$8\r\npmessage\r\n$4\r\npfx*\r\n$5\r\npfx:a\r\n$0\r\n\r\n");
	ck_assert_int_eq(ps_resp_classify(r, &p), PS_PUSH_PMESSAGE);
	ck_assert_int_eq(memcmp(p.name, "pfx*", 4), 0);
	ck_assert_int_eq(memcmp(p.channel, "pfx:a", 5), 0);
	ck_assert_uint_eq(p.payload_len, 0);
	freeReplyObject(r);
	{
		static const char sm[] = "*3\r\n$8\r\nsmessage\r\n$1\r\nc\r\n$3\r\na\0b\r\n";
		r = parse_n(sm, sizeof sm - 1);
	}
	ck_assert_int_eq(ps_resp_classify(r, &p), PS_PUSH_SMESSAGE);
	ck_assert_uint_eq(p.payload_len, 3);              /* binary-safe */
	freeReplyObject(r);
}
END_TEST

START_TEST(classify_confirmations)
{
	static const struct { const char *kind; enum ps_push_kind k; } c[] = {
		{ "subscribe", PS_PUSH_SUBSCRIBE }, { "psubscribe", PS_PUSH_PSUBSCRIBE },
		{ "ssubscribe", PS_PUSH_SSUBSCRIBE }, { "unsubscribe", PS_PUSH_UNSUBSCRIBE },
		{ "punsubscribe", PS_PUSH_PUNSUBSCRIBE }, { "sunsubscribe", PS_PUSH_SUNSUBSCRIBE },
	};
	char buf[128];
	struct ps_push p;
	redisReply *r;

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		snprintf(buf, sizeof buf, "*3\r\n$%zu\r\n%s\r\n$2\r\nch\r\n:%zu\r\n",
		         strlen(c[i].kind), c[i].kind, i);
		r = parse_one(buf);
		ck_assert_int_eq(ps_resp_classify(r, &p), c[i].k);
		ck_assert(ps_push_is_confirmation(p.kind));
		ck_assert_int_eq(p.count, (long long)i);
		ck_assert_uint_eq(p.name_len, 2);
		freeReplyObject(r);
		/* and the command that asks for it, in any case */
		ck_assert_int_eq(ps_resp_command_kind(c[i].kind, strlen(c[i].kind)), c[i].k);
	}
	ck_assert_int_eq(ps_resp_command_kind("SSUBSCRIBE", 10), PS_PUSH_SSUBSCRIBE);
	ck_assert_int_eq(ps_resp_command_kind("PING", 4), PS_PUSH_NONE);
	ck_assert_int_eq(ps_resp_command_kind("PUBLISH", 7), PS_PUSH_NONE);
	/* UNSUBSCRIBE with nothing subscribed names no channel */
	r = parse_one("*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
	ck_assert_int_eq(ps_resp_classify(r, &p), PS_PUSH_UNSUBSCRIBE);
	ck_assert_uint_eq(p.name_len, 0);
	freeReplyObject(r);
}
END_TEST

START_TEST(classify_ordinary_replies)
{
	static const char *const plain[] = {
		"*2\r\n$4\r\npong\r\n$0\r\n\r\n",                 /* PING in subscribed mode */
		"+PONG\r\n", "-ERR x\r\n", ":3\r\n", "$-1\r\n", "*-1\r\n",
		"*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n",        /* get-master-addr-by-name */
		"*2\r\n$7\r\nmessage\r\n$1\r\na\r\n",               /* malformed: too short */
		"*3\r\n$7\r\nmessage\r\n:1\r\n$1\r\na\r\n",         /* channel not a string */
		"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n$1\r\nb\r\n",  /* count not an integer */
		"*3\r\n$7\r\nMESSAGE\r\n$1\r\na\r\n$1\r\nb\r\n",    /* kinds are lower case */
		"*4\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
	};
	struct ps_push p;

	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		redisReply *r = parse_one(plain[i]);
		ck_assert_msg(ps_resp_classify(r, &p) == PS_PUSH_NONE, "case %zu", i);
		freeReplyObject(r);
	}
	ck_assert_int_eq(ps_resp_classify(NULL, &p), PS_PUSH_NONE);
}
END_TEST

START_TEST(errors)
{
	struct ps_redirect rd;
#define ERRK(s, rdp) ps_resp_error(s, strlen(s), rdp)

	ck_assert_int_eq(ERRK("MOVED 3999 127.0.0.1:6381", &rd), PS_ERR_MOVED);
	ck_assert_int_eq(rd.slot, 3999);
	ck_assert_str_eq(rd.host, "127.0.0.1");
	ck_assert_int_eq(rd.port, 6381);
	ck_assert_int_eq(ERRK("ASK 1 ::1:7000", &rd), PS_ERR_ASK);
	ck_assert_str_eq(rd.host, "::1");
	ck_assert_int_eq(rd.port, 7000);
	ck_assert_int_eq(ERRK("MOVED 16383 :7001", &rd), PS_ERR_MOVED);   /* same host */
	ck_assert_str_eq(rd.host, "");
	ck_assert_int_eq(ERRK("MOVED 16384 h:1", &rd), PS_ERR_OTHER);
	ck_assert_int_eq(ERRK("MOVED 1 h:0", &rd), PS_ERR_OTHER);
	ck_assert_int_eq(ERRK("MOVED x h:1", NULL), PS_ERR_OTHER);
	ck_assert_int_eq(ERRK("NOAUTH Authentication required.", NULL), PS_ERR_AUTH);
	ck_assert_int_eq(ERRK("WRONGPASS invalid username-password pair or user is disabled.",
	                      NULL), PS_ERR_AUTH);
	ck_assert_int_eq(ERRK("ERR invalid password", NULL), PS_ERR_AUTH);
	ck_assert_int_eq(ERRK("ERR AUTH <password> called without any password configured "
	                      "for the default user. Are you sure your configuration is correct?",
	                      NULL), PS_ERR_NOPASS);
	ck_assert_int_eq(ERRK("LOADING Redis is loading the dataset in memory", NULL),
	                 PS_ERR_LOADING);
	ck_assert_int_eq(ERRK("CLUSTERDOWN The cluster is down", NULL), PS_ERR_LOADING);
	ck_assert_int_eq(ERRK("ERR unknown command", NULL), PS_ERR_OTHER);
#undef ERRK
}
END_TEST

START_TEST(format)
{
	const char *argv[] = { "SSUBSCRIBE", "a b" };
	size_t lens[] = { 10, 3 };
	char *out;
	long n = ps_resp_format(&out, 2, argv, lens);

	ck_assert_int_eq(n, (long)strlen("*2\r\n$10\r\nSSUBSCRIBE\r\n$3\r\na b\r\n"));
	ck_assert_int_eq(memcmp(out, "*2\r\n$10\r\nSSUBSCRIBE\r\n$3\r\na b\r\n", (size_t)n), 0);
	free(out);
}
END_TEST

START_TEST(crc16_and_slots)
{
	/* the Redis Cluster specification's reference value */
	ck_assert_uint_eq(ps_crc16("123456789", 9), 0x31C3);
	/* CLUSTER KEYSLOT answers of redis-server 7.0 */
	ck_assert_uint_eq(ps_key_slot("foo", 3), 12182);
	ck_assert_uint_eq(ps_key_slot("todos", 5), ps_crc16("todos", 5) % 16384);
	/* hash tags: the first {...} that is not empty */
	ck_assert_uint_eq(ps_key_slot("{user1000}.following", 20), ps_key_slot("user1000", 8));
	ck_assert_uint_eq(ps_key_slot("{user1000}.followers", 20), ps_key_slot("user1000", 8));
	ck_assert_uint_eq(ps_key_slot("foo{}{bar}", 10), ps_crc16("foo{}{bar}", 10) % 16384);
	ck_assert_uint_eq(ps_key_slot("foo{{bar}}zap", 13), ps_key_slot("{bar", 4));
	ck_assert_uint_eq(ps_key_slot("foo{bar}{zap}", 13), ps_key_slot("bar", 3));
	ck_assert_uint_eq(ps_key_slot("{", 1), ps_crc16("{", 1) % 16384);
	ck_assert_uint_eq(ps_key_slot("", 0), 0);
	/* the prefixed channel: the tag may sit in the prefix, the name, or both */
	ck_assert_uint_eq(ps_channel_slot("app:", 4, "todos", 5), ps_key_slot("app:todos", 9));
	ck_assert_uint_eq(ps_channel_slot("{app}:", 6, "todos", 5), ps_key_slot("app", 3));
	ck_assert_uint_eq(ps_channel_slot("a{b", 3, "c}d", 3), ps_key_slot("bc", 2));
	ck_assert_uint_eq(ps_channel_slot("", 0, "x{t}", 4), ps_key_slot("t", 1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("resp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, reader_takes_split_input);
	tcase_add_test(tc, reader_bounds_reply_bytes);
	tcase_add_test(tc, reader_bounds_array_elements);
	tcase_add_test(tc, classify_messages);
	tcase_add_test(tc, classify_confirmations);
	tcase_add_test(tc, classify_ordinary_replies);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, format);
	tcase_add_test(tc, crc16_and_slots);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
