/* tests/unit/test_ws_parse.c - unit tests of wire/ws_parse: client frame
 * headers (every fault, the 7-bit, 16-bit and 64-bit length forms at
 * 125/126/65535/65536, masks, headers cut by a read) and the answer to a
 * close frame (every code class, empty, one byte, reasons that are or are
 * not UTF-8). */
#include <check.h>
#include "check_main.h"
#include <stdint.h>
#include <string.h>

#include "ws_parse.h"

static const unsigned char mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* Writes a masked client frame header for opcode/fin and a payload of len
 * bytes in the shortest length form (or the form forced by form: 7, 16,
 * 64). Returns its length. */
static size_t client_header(unsigned char *h, unsigned b0, uint64_t len, int form)
{
	size_t n = 2;

	h[0] = (unsigned char)b0;
	if (!form)
		form = len < 126 ? 7 : len <= 0xffff ? 16 : 64;
	if (form == 7) {
		h[1] = (unsigned char)(0x80 | len);
	} else if (form == 16) {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		n = 4;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)(len >> (56 - 8 * i));
		n = 10;
	}
	memcpy(h + n, mask, 4);
	return n + 4;
}

/* Parses h[0..n) with a large data limit; asserts every shorter prefix
 * asks for more bytes. */
static int parse_whole(const unsigned char *h, size_t n, uint64_t max, struct lg_ws_header *out)
{
	struct lg_ws_header tmp;
	int rc = lg_ws_parse_header(h, n, max, out);

	if (rc > 0)
		for (size_t k = 0; k < (size_t)rc; k++)
			ck_assert_msg(lg_ws_parse_header(h, k, max, &tmp) == 0, "prefix %zu of %d", k, rc);
	return rc;
}

START_TEST(length_forms_at_their_edges)
{
	static const struct { uint64_t len; size_t header; } cases[] = {
		{ 0, 6 }, { 1, 6 }, { 125, 6 }, { 126, 8 }, { 127, 8 }, { 65535, 8 },
		{ 65536, 14 }, { 0x7fffffffffffffffull, 14 },
	};
	unsigned char h[14];
	struct lg_ws_header got;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = client_header(h, 0x81, cases[i].len, 0);
		int rc = parse_whole(h, n, UINT64_MAX, &got);

		ck_assert_uint_eq(n, cases[i].header);
		ck_assert_msg(rc == (int)cases[i].header, "length %llu: rc %d",
		              (unsigned long long)cases[i].len, rc);
		ck_assert_uint_eq(got.header_len, cases[i].header);
		ck_assert_uint_eq(got.payload_len, cases[i].len);
		ck_assert_uint_eq(got.opcode, LG_WS_TEXT);
		ck_assert_int_eq(got.fin, 1);
		ck_assert_int_eq(memcmp(got.mask, mask, 4), 0);
	}
}
END_TEST

/* RFC 6455 5.2 asks for the shortest form, but a longer one is read the
 * same (browsers never send it; refusing it buys nothing). */
START_TEST(longer_length_forms_are_read)
{
	unsigned char h[14];
	struct lg_ws_header got;

	ck_assert_int_eq(parse_whole(h, client_header(h, 0x81, 5, 16), 1000, &got), 8);
	ck_assert_uint_eq(got.payload_len, 5);
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x81, 5, 64), 1000, &got), 14);
	ck_assert_uint_eq(got.payload_len, 5);
}
END_TEST

START_TEST(every_opcode)
{
	static const unsigned known[] = { LG_WS_CONT, LG_WS_TEXT, LG_WS_BINARY, LG_WS_CLOSE,
	                                  LG_WS_PING, LG_WS_PONG };
	unsigned char h[14];
	struct lg_ws_header got;

	for (unsigned op = 0; op < 16; op++) {
		int is_known = 0;
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			is_known |= known[i] == op;
		int rc = parse_whole(h, client_header(h, 0x80 | op, 3, 0), 1000, &got);
		if (is_known) {
			ck_assert_msg(rc == 6, "opcode %u: %d", op, rc);
			ck_assert_uint_eq(got.opcode, op);
		} else {
			ck_assert_msg(rc == -LG_WS_FAULT_OPCODE, "opcode %u: %d", op, rc);
		}
	}
}
END_TEST

START_TEST(every_fault)
{
	unsigned char h[14];
	struct lg_ws_header got;

	/* Reserved bits, each of them (no extension is ever agreed). */
	for (unsigned rsv = 0x10; rsv <= 0x40; rsv <<= 1)
		ck_assert_int_eq(parse_whole(h, client_header(h, 0x80 | rsv | 1, 3, 0), 1000, &got),
		                 -LG_WS_FAULT_RSV);
	/* Unmasked (RFC 6455 5.1). */
	h[0] = 0x81;
	h[1] = 0x03;
	ck_assert_int_eq(lg_ws_parse_header(h, 2, 1000, &got), -LG_WS_FAULT_UNMASKED);
	/* A control frame without FIN, or over 125 bytes, in any form. */
	ck_assert_int_eq(parse_whole(h, client_header(h, LG_WS_PING, 3, 0), 1000, &got),
	                 -LG_WS_FAULT_CONTROL_FRAGMENT);
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x80 | LG_WS_CLOSE, 126, 0), 1000, &got),
	                 -LG_WS_FAULT_CONTROL_LENGTH);
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x80 | LG_WS_PONG, 5, 64), 1000, &got),
	                 -LG_WS_FAULT_CONTROL_LENGTH);
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x80 | LG_WS_PING, 125, 0), 1000, &got), 6);
	/* A 64-bit length with its top bit set. */
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x81, 0x8000000000000000ull, 64),
	                             UINT64_MAX, &got), -LG_WS_FAULT_LENGTH);
	/* Faults are found as soon as their byte is there: the first byte's
	 * with 2 bytes, before the rest of the header. */
	client_header(h, 0xC1, 3, 0);
	ck_assert_int_eq(lg_ws_parse_header(h, 2, 1000, &got), -LG_WS_FAULT_RSV);
	ck_assert_int_eq(lg_ws_parse_header(h, 1, 1000, &got), 0);
	ck_assert_int_eq(lg_ws_parse_header(h, 0, 1000, &got), 0);
}
END_TEST

/* A data frame over the caller's limit is refused once its length is
 * known, before its bytes (or its mask) arrive; control frames are bound
 * by 125, not by the limit. */
START_TEST(data_over_the_limit)
{
	unsigned char h[14];
	struct lg_ws_header got;

	ck_assert_int_eq(parse_whole(h, client_header(h, 0x81, 16384, 0), 16384, &got), 8);
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x81, 16385, 0), 16384, &got),
	                 -LG_WS_FAULT_TOO_BIG);
	ck_assert_int_eq(lg_ws_parse_header(h, 4, 16384, &got), -LG_WS_FAULT_TOO_BIG);
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x00, 101, 0), 100, &got),
	                 -LG_WS_FAULT_TOO_BIG);
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x02, 65536, 0), 16384, &got),
	                 -LG_WS_FAULT_TOO_BIG);
	ck_assert_int_eq(lg_ws_parse_header(h, 10, 16384, &got), -LG_WS_FAULT_TOO_BIG);
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x81, 1, 0), 0, &got), -LG_WS_FAULT_TOO_BIG);
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x81, 0, 0), 0, &got), 6);
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x89, 125, 0), 0, &got), 6);
}
END_TEST

START_TEST(fragments)
{
	unsigned char h[14];
	struct lg_ws_header got;

	ck_assert_int_eq(parse_whole(h, client_header(h, LG_WS_TEXT, 10, 0), 1000, &got), 6);
	ck_assert_int_eq(got.fin, 0);
	ck_assert_int_eq(parse_whole(h, client_header(h, LG_WS_CONT, 10, 0), 1000, &got), 6);
	ck_assert_int_eq(got.fin, 0);
	ck_assert_uint_eq(got.opcode, LG_WS_CONT);
	ck_assert_int_eq(parse_whole(h, client_header(h, 0x80 | LG_WS_CONT, 10, 0), 1000, &got), 6);
	ck_assert_int_eq(got.fin, 1);
}
END_TEST

START_TEST(unmask)
{
	/* RFC 6455 5.7: a masked "Hello". */
	unsigned char p[] = { 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	const unsigned char m[4] = { 0x37, 0xfa, 0x21, 0x3d };
	unsigned char long_text[1000], copy[1000];

	lg_ws_unmask(p, 5, m);
	ck_assert_int_eq(memcmp(p, "Hello", 5), 0);
	for (size_t i = 0; i < sizeof long_text; i++)
		long_text[i] = (unsigned char)(i * 7);
	memcpy(copy, long_text, sizeof copy);
	lg_ws_unmask(long_text, sizeof long_text, m);
	for (size_t i = 0; i < sizeof long_text; i++)
		ck_assert_uint_eq(long_text[i], copy[i] ^ m[i % 4]);
	lg_ws_unmask(long_text, sizeof long_text, m);   /* its own inverse */
	ck_assert_int_eq(memcmp(long_text, copy, sizeof copy), 0);
	lg_ws_unmask(long_text, 0, m);
}
END_TEST

/* The answer to a close payload of code (0: none) and reason. */
static unsigned answer(int code, const char *reason, size_t rlen, unsigned *peer)
{
	unsigned char p[125];
	size_t n = 0;

	if (code >= 0) {
		p[0] = (unsigned char)(code >> 8);
		p[1] = (unsigned char)code;
		n = 2;
	}
	memcpy(p + n, reason, rlen);
	return lg_ws_close_answer(p, n + rlen, peer);
}

START_TEST(close_codes_by_class)
{
	static const struct { unsigned code, want; } cases[] = {
		{ 0, 1002 }, { 999, 1002 },
		{ 1000, 1000 }, { 1001, 1001 }, { 1002, 1002 }, { 1003, 1003 },
		{ 1004, 1002 }, { 1005, 1002 }, { 1006, 1002 },            /* reserved, never sent */
		{ 1007, 1007 }, { 1008, 1008 }, { 1009, 1009 }, { 1010, 1010 }, { 1011, 1011 },
		{ 1012, 1012 }, { 1013, 1013 }, { 1014, 1014 },            /* IANA registry */
		{ 1015, 1002 },                                            /* TLS failure: never sent */
		{ 1016, 1002 }, { 2999, 1002 },                            /* unassigned */
		{ 3000, 3000 }, { 3999, 3999 },                            /* registered by libraries */
		{ 4000, 4000 }, { 4001, 4001 }, { 4999, 4999 },            /* private use */
		{ 5000, 1002 }, { 65535, 1002 },
	};
	unsigned peer;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned got = answer((int)cases[i].code, "", 0, &peer);
		ck_assert_msg(got == cases[i].want, "code %u: answered %u", cases[i].code, got);
		ck_assert_uint_eq(peer, cases[i].code);
	}
}
END_TEST

START_TEST(close_payload_shapes_and_reasons)
{
	unsigned char one = 0x03;
	unsigned peer = 99;
	char reason[123];

	/* Empty: a close without a code, answered 1000; one byte: 1002. */
	ck_assert_uint_eq(lg_ws_close_answer(NULL, 0, &peer), 1000);
	ck_assert_uint_eq(peer, 0);
	peer = 99;
	ck_assert_uint_eq(lg_ws_close_answer(&one, 1, &peer), 1002);
	ck_assert_uint_eq(peer, 0);
	/* Reasons: UTF-8 is kept; anything else is 1007 (RFC 6455 8.1). */
	ck_assert_uint_eq(answer(1000, "bye", 3, &peer), 1000);
	ck_assert_uint_eq(answer(4000, "caf\xc3\xa9 \xf0\x9f\x98\x80", 10, &peer), 4000);
	ck_assert_uint_eq(answer(1000, "\xff", 1, &peer), 1007);
	ck_assert_uint_eq(answer(1001, "\xc0\xaf", 2, &peer), 1007);          /* overlong '/' */
	ck_assert_uint_eq(answer(1001, "\xed\xa0\x80", 3, &peer), 1007);      /* a surrogate */
	ck_assert_uint_eq(answer(1001, "caf\xc3", 4, &peer), 1007);           /* cut in a character */
	ck_assert_uint_eq(peer, 1001);
	/* A bad code wins over a bad reason. */
	ck_assert_uint_eq(answer(1005, "\xff", 1, &peer), 1002);
	/* The longest reason a close frame holds. */
	memset(reason, 'r', sizeof reason);
	ck_assert_uint_eq(answer(1000, reason, sizeof reason, &peer), 1000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ws_parse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, length_forms_at_their_edges);
	tcase_add_test(tc, longer_length_forms_are_read);
	tcase_add_test(tc, every_opcode);
	tcase_add_test(tc, every_fault);
	tcase_add_test(tc, data_over_the_limit);
	tcase_add_test(tc, fragments);
	tcase_add_test(tc, unmask);
	tcase_add_test(tc, close_codes_by_class);
	tcase_add_test(tc, close_payload_shapes_and_reasons);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
