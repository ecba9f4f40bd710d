/* tests/unit/test_client_msg.c - unit tests of wire/client_msg: the
 * subscribe and ping messages a client sends, and every way a message is
 * refused (with the reason that goes into the 4008 close). */
#include <check.h>
#include "check_main.h"
#include <string.h>

#include "client_msg.h"

/* Parses the NUL-terminated text s; returns the kind, m filled. */
static enum lg_client_msg_kind parse(const char *s, struct lg_client_msg *m)
{
	return lg_client_msg_parse(s, strlen(s), m);
}

START_TEST(subscribe)
{
	struct lg_client_msg m;

	ck_assert_int_eq(parse("{\"type\":\"subscribe\",\"token\":\"a.b.c\"}", &m), LG_MSG_SUBSCRIBE);
	ck_assert_int_eq(m.kind, LG_MSG_SUBSCRIBE);
	ck_assert_str_eq(m.token, "a.b.c");
	ck_assert_uint_eq(m.token_len, 5);
	ck_assert_ptr_null(m.error);
	lg_client_msg_free(&m);
	ck_assert_ptr_null(m.token);
	ck_assert_ptr_null(m.json);
	/* Whitespace as Python's json.dumps writes it, members in any order,
	 * members the server does not know. */
	ck_assert_int_eq(parse("{ \"token\" : \"t\",\n \"v\": 2, \"type\" : \"subscribe\" }", &m),
	                 LG_MSG_SUBSCRIBE);
	ck_assert_str_eq(m.token, "t");
	lg_client_msg_free(&m);
	/* An escaped token is given unescaped; an empty one is the
	 * verifier's to refuse. */
	ck_assert_int_eq(parse("{\"type\":\"subscribe\",\"token\":\"a\\u002eb\"}", &m), LG_MSG_SUBSCRIBE);
	ck_assert_str_eq(m.token, "a.b");
	lg_client_msg_free(&m);
	ck_assert_int_eq(parse("{\"type\":\"subscribe\",\"token\":\"\"}", &m), LG_MSG_SUBSCRIBE);
	ck_assert_uint_eq(m.token_len, 0);
	lg_client_msg_free(&m);
}
END_TEST

/* An escaped NUL is refused (jansson without JSON_ALLOW_NUL): no token
 * can mean one thing up to its NUL and another after it. */
START_TEST(an_escaped_nul_is_refused)
{
	struct lg_client_msg m;

	ck_assert_int_eq(parse("{\"type\":\"subscribe\",\"token\":\"ab\\u0000cd\"}", &m), LG_MSG_BAD);
	ck_assert_ptr_null(m.token);
	lg_client_msg_free(&m);
}
END_TEST

START_TEST(ping)
{
	struct lg_client_msg m;

	ck_assert_int_eq(parse("{\"type\":\"ping\"}", &m), LG_MSG_PING);
	ck_assert_ptr_null(m.token);
	ck_assert_ptr_null(m.error);
	lg_client_msg_free(&m);
	ck_assert_int_eq(parse("{\"id\":1,\"type\":\"ping\",\"token\":\"ignored\"}", &m), LG_MSG_PING);
	lg_client_msg_free(&m);
	ck_assert_int_eq(parse("{\"type\":\"p\\u0069ng\"}", &m), LG_MSG_PING);
	lg_client_msg_free(&m);
}
END_TEST

START_TEST(refusals_say_why)
{
	static const struct { const char *text; const char *why; } cases[] = {
		{ "", "not a JSON object" },
		{ "ping", "not a JSON object" },
		{ "[\"subscribe\"]", "not a JSON object" },
		{ "\"ping\"", "not a JSON object" },
		{ "{\"type\":\"ping\"", "not a JSON object" },
		{ "{\"type\":\"ping\"} {}", "not a JSON object" },
		{ "{\"type\":\"ping\",}", "not a JSON object" },
		{ "{'type':'ping'}", "not a JSON object" },
		/* two "type"s could mean one thing here and another to a proxy */
		{ "{\"type\":\"ping\",\"type\":\"subscribe\"}", "not a JSON object" },
		{ "{\"type\":\"subscribe\",\"token\":\"a\",\"token\":\"b\"}", "not a JSON object" },
		{ "{}", "no type" },
		{ "{\"type\":null}", "no type" },
		{ "{\"type\":1}", "no type" },
		{ "{\"Type\":\"ping\"}", "no type" },
		{ "{\"type\":\"Ping\"}", "unknown type" },
		{ "{\"type\":\"ping \"}", "unknown type" },
		{ "{\"type\":\"publish\"}", "unknown type" },
		{ "{\"type\":\"\"}", "unknown type" },
		{ "{\"type\":\"ping\\u0000x\"}", "not a JSON object" },
		{ "{\"type\":\"subscribe\"}", "subscribe without token" },
		{ "{\"type\":\"subscribe\",\"token\":null}", "subscribe without token" },
		{ "{\"type\":\"subscribe\",\"token\":[\"a\"]}", "subscribe without token" },
		{ "{\"type\":\"subscribe\",\"token\":42}", "subscribe without token" },
	};
	struct lg_client_msg m;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_msg(parse(cases[i].text, &m) == LG_MSG_BAD, "accepted %s", cases[i].text);
		ck_assert_int_eq(m.kind, LG_MSG_BAD);
		ck_assert_msg(m.error && strcmp(m.error, cases[i].why) == 0, "%s: %s", cases[i].text,
		              m.error ? m.error : "(none)");
		ck_assert_ptr_null(m.token);
		lg_client_msg_free(&m);
	}
}
END_TEST

/* Text that is not UTF-8 is refused here too (worker/ws.c checks it
 * first, with 1007; the stream's body reaches the parser directly). */
START_TEST(bytes_that_are_not_utf8)
{
	static const char *const cases[] = {
		"{\"type\":\"subscribe\",\"token\":\"\xff\"}",
		"{\"type\":\"subscribe\",\"token\":\"\xc0\xaf\"}",
		"{\"type\":\"subscribe\",\"token\":\"\xed\xa0\x80\"}",
		"{\"type\":\"ping\",\"x\":\"\xf4\x90\x80\x80\"}",
	};
	struct lg_client_msg m;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_int_eq(parse(cases[i], &m), LG_MSG_BAD);
		lg_client_msg_free(&m);
	}
	/* Only n bytes are read: a message followed by junk in the buffer. */
	ck_assert_int_eq(lg_client_msg_parse("{\"type\":\"ping\"}\xff\xff", 15, &m), LG_MSG_PING);
	lg_client_msg_free(&m);
}
END_TEST

/* The largest message a client may send (LG_MAX_FRAME, 16 KiB) carries the
 * largest token (LG_TOKEN_MAX_LEN) whole. */
START_TEST(the_largest_message)
{
	static char text[16384 + 1];
	static const char head[] = "{\"type\":\"subscribe\",\"token\":\"";
	size_t tlen = sizeof text - 1 - (sizeof head - 1) - 2;
	struct lg_client_msg m;

	memcpy(text, head, sizeof head - 1);
	memset(text + sizeof head - 1, 'A', tlen);
	memcpy(text + sizeof head - 1 + tlen, "\"}", 2);
	ck_assert_int_eq(lg_client_msg_parse(text, sizeof text - 1, &m), LG_MSG_SUBSCRIBE);
	ck_assert_uint_eq(m.token_len, tlen);
	lg_client_msg_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("client_msg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, subscribe);
	tcase_add_test(tc, an_escaped_nul_is_refused);
	tcase_add_test(tc, ping);
	tcase_add_test(tc, refusals_say_why);
	tcase_add_test(tc, bytes_that_are_not_utf8);
	tcase_add_test(tc, the_largest_message);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
