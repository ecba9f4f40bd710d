/* tests/unit/test_ws_handshake.c - unit tests of wire/ws_handshake: the
 * Sec-WebSocket-Accept of RFC 6455's own example, and every reason an
 * upgrade request is refused (400) or sent back for version 13 (426). */
#include <check.h>
#include "check_main.h"
#include <stdio.h>
#include <string.h>

#include "http_req.h"
#include "ws_handshake.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="   /* RFC 6455 1.3 */

/* Builds a request from its request line and header lines (each ending
 * "\r\n"), parses it and returns lg_ws_handshake_check's answer. */
static int check_request(const char *line, const char *headers, char accept[LG_WS_ACCEPT_LEN + 1])
{
	static char buf[4096];
	struct lg_http_req r;
	int n = snprintf(buf, sizeof buf, "%s\r\n%s\r\n", line, headers);

	ck_assert_int_lt(n, (int)sizeof buf);
	lg_http_req_init(&r);
	ck_assert_int_eq(lg_http_req_feed(&r, buf, (size_t)n), LG_HTTP_DONE);
	memset(accept, 0, LG_WS_ACCEPT_LEN + 1);
	return lg_ws_handshake_check(&r, buf, accept);
}

#define GET "GET /ws HTTP/1.1"
#define GOOD_HEADERS(upgrade, connection, version, key) \
	"Host: gw.example\r\nUpgrade: " upgrade "\r\nConnection: " connection "\r\n" \
	"Sec-WebSocket-Version: " version "\r\nSec-WebSocket-Key: " key "\r\n"

START_TEST(rfc6455_example_key)
{
	char accept[LG_WS_ACCEPT_LEN + 1];

	ck_assert_int_eq(lg_ws_accept_of(KEY, strlen(KEY), accept), 0);
	ck_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ck_assert_int_eq(check_request(GET, GOOD_HEADERS("websocket", "Upgrade", "13", KEY), accept), 0);
	ck_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
END_TEST

START_TEST(accept_of_any_key_length)
{
	char key[66], accept[LG_WS_ACCEPT_LEN + 1];

	memset(key, 'k', sizeof key);
	ck_assert_int_eq(lg_ws_accept_of(key, 0, accept), 0);
	ck_assert_uint_eq(strlen(accept), LG_WS_ACCEPT_LEN);
	ck_assert_int_eq(lg_ws_accept_of(key, 64, accept), 0);
	ck_assert_uint_eq(strlen(accept), LG_WS_ACCEPT_LEN);
	ck_assert_int_eq(lg_ws_accept_of(key, 65, accept), -1);   /* bounded: no copy past 64 */
}
END_TEST

/* What browsers and libraries send besides the minimum is accepted. */
START_TEST(accepted_variations)
{
	char accept[LG_WS_ACCEPT_LEN + 1];

	ck_assert_int_eq(check_request(GET, GOOD_HEADERS("WebSocket", "keep-alive, Upgrade", "13", KEY),
	                               accept), 0);
	ck_assert_int_eq(check_request(GET, GOOD_HEADERS("h2c, websocket", "upgrade", "13", KEY),
	                               accept), 0);
	ck_assert_int_eq(check_request(GET, GOOD_HEADERS("websocket", "Upgrade", "13 ", KEY " "),
	                               accept), 0);   /* trailing whitespace is not the value */
	ck_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ck_assert_int_eq(check_request("GET http://gw.example/ws?x=1 HTTP/1.1",
	                               GOOD_HEADERS("websocket", "Upgrade", "13", KEY), accept), 0);
	ck_assert_int_eq(check_request(GET, GOOD_HEADERS("websocket", "Upgrade", "13",
	                               "AAAAAAAAAAAAAAAAAAAAAA==") "Origin: https://a.example\r\n",
	                               accept), 0);
}
END_TEST

START_TEST(refusals)
{
	static const struct { const char *line, *headers; int want; } cases[] = {
		/* not a GET, not HTTP/1.1 */
		{ "POST /ws HTTP/1.1", GOOD_HEADERS("websocket", "Upgrade", "13", KEY), 400 },
		{ "HEAD /ws HTTP/1.1", GOOD_HEADERS("websocket", "Upgrade", "13", KEY), 400 },
		{ "GET /ws HTTP/1.0", GOOD_HEADERS("websocket", "Upgrade", "13", KEY), 400 },
		/* no Host */
		{ GET, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		       "Sec-WebSocket-Key: " KEY "\r\n", 400 },
		/* Upgrade missing or not naming websocket */
		{ GET, "Host: gw\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		       "Sec-WebSocket-Key: " KEY "\r\n", 400 },
		{ GET, GOOD_HEADERS("h2c", "Upgrade", "13", KEY), 400 },
		{ GET, GOOD_HEADERS("websockets", "Upgrade", "13", KEY), 400 },
		/* Connection missing or not naming upgrade */
		{ GET, "Host: gw\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
		       "Sec-WebSocket-Key: " KEY "\r\n", 400 },
		{ GET, GOOD_HEADERS("websocket", "keep-alive", "13", KEY), 400 },
		/* the version: missing, older, or not exactly "13" */
		{ GET, "Host: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		       "Sec-WebSocket-Key: " KEY "\r\n", 426 },
		{ GET, GOOD_HEADERS("websocket", "Upgrade", "8", KEY), 426 },
		{ GET, GOOD_HEADERS("websocket", "Upgrade", "013", KEY), 426 },
		{ GET, GOOD_HEADERS("websocket", "Upgrade", "13, 8", KEY), 426 },
		/* the key: missing, not 16 bytes of base64, another alphabet */
		{ GET, "Host: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		       "Sec-WebSocket-Version: 13\r\n", 400 },
		{ GET, GOOD_HEADERS("websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ"), 400 },
		{ GET, GOOD_HEADERS("websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ="), 400 },
		{ GET, GOOD_HEADERS("websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ==="), 400 },
		{ GET, GOOD_HEADERS("websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ=A"), 400 },
		{ GET, GOOD_HEADERS("websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25j-_=="), 400 },
		{ GET, GOOD_HEADERS("websocket", "Upgrade", "13", "dGhlIHNhbXBsZSB*b25jZQ=="), 400 },
		{ GET, GOOD_HEADERS("websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ==dGhl"), 400 },
		{ GET, GOOD_HEADERS("websocket", "Upgrade", "13", ""), 400 },
	};
	char accept[LG_WS_ACCEPT_LEN + 1];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = check_request(cases[i].line, cases[i].headers, accept);
		ck_assert_msg(got == cases[i].want, "case %zu: %d, want %d", i, got, cases[i].want);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ws_handshake");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, rfc6455_example_key);
	tcase_add_test(tc, accept_of_any_key_length);
	tcase_add_test(tc, accepted_variations);
	tcase_add_test(tc, refusals);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
