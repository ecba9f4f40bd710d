/* tests/unit/test_json_escape.c - unit tests of common/json_escape: text
 * into the body of a JSON string (quotes, backslashes and controls
 * escaped, UTF-8 kept, invalid bytes replaced by U+FFFD), within the
 * 6 * n bytes the header promises, always valid JSON. */
#include <check.h>
#include "check_main.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "json_escape.h"

/* Escapes s[0..n) into a string (static buffer). */
static const char *esc(const char *s, size_t n)
{
	static char out[6 * 256 + 1];
	size_t o;

	ck_assert_uint_le(n, 256);
	o = lg_json_escape(out, s, n);
	ck_assert_uint_le(o, 6 * n);
	out[o] = '\0';
	return out;
}

#define ESC(lit) esc(lit, sizeof(lit) - 1)

START_TEST(what_is_escaped)
{
	ck_assert_str_eq(ESC(""), "");
	ck_assert_str_eq(ESC("todos"), "todos");
	ck_assert_str_eq(ESC("say \"hi\""), "say \\\"hi\\\"");
	ck_assert_str_eq(ESC("a\\b"), "a\\\\b");
	ck_assert_str_eq(ESC("/</script>"), "/</script>");   /* '/' needs nothing */
	ck_assert_str_eq(ESC("\x7f"), "\x7f");                 /* DEL is not a control in JSON */
	ck_assert_str_eq(ESC("a\nb\rc\td"), "a\\u000ab\\u000dc\\u0009d");
	ck_assert_str_eq(ESC("\x00"), "\\u0000");
	ck_assert_str_eq(ESC("\x1f"), "\\u001f");
	ck_assert_str_eq(ESC("\x1b[0m"), "\\u001b[0m");
}
END_TEST

START_TEST(utf8_is_kept_and_the_rest_replaced)
{
	ck_assert_str_eq(ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	ck_assert_str_eq(ESC("\xe2\x80\xa8"), "\xe2\x80\xa8");   /* U+2028 is valid in JSON */
	/* One replacement per byte that starts no valid sequence. */
	ck_assert_str_eq(ESC("\xff"), "\\ufffd");
	ck_assert_str_eq(ESC("a\xfe\xffz"), "a\\ufffd\\ufffdz");
	ck_assert_str_eq(ESC("\xc0\xaf"), "\\ufffd\\ufffd");                 /* overlong */
	ck_assert_str_eq(ESC("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");      /* surrogate */
	ck_assert_str_eq(ESC("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");
	ck_assert_str_eq(ESC("caf\xc3"), "caf\\ufffd");                      /* cut at the end */
	ck_assert_str_eq(ESC("\xc3\"x"), "\\ufffd\\\"x");                    /* cut before a quote */
	/* Only n bytes are read: a character cut by n is replaced. */
	ck_assert_str_eq(esc("\xc3\xa9", 1), "\\ufffd");
}
END_TEST

/* The worst case fills the 6 * n bytes exactly. */
START_TEST(the_worst_case_fits)
{
	char in[64], *out = malloc(6 * sizeof in + 1);

	ck_assert_ptr_nonnull(out);
	memset(in, 0x01, sizeof in);
	ck_assert_uint_eq(lg_json_escape(out, in, sizeof in), 6 * sizeof in);
	memset(in, 0xff, sizeof in);
	ck_assert_uint_eq(lg_json_escape(out, in, sizeof in), 6 * sizeof in);
	free(out);
}
END_TEST

/* Any bytes give a JSON string jansson reads back as the input, with its
 * invalid bytes replaced. */
START_TEST(any_bytes_give_valid_json)
{
	static char in[256], out[6 * 256 + 3];
	unsigned x = 12345;

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(round % 256), o;
		json_error_t e;
		json_t *v;

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			/* mostly text, some controls, quotes and high bytes */
			in[i] = (char)((x >> 16) % 4 ? 0x20 + (x >> 8) % 0x60 : (x >> 20) & 0xff);
		}
		out[0] = '"';
		o = 1 + lg_json_escape(out + 1, in, n);
		out[o++] = '"';
		v = json_loadb(out, o, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
		ck_assert_msg(v != NULL, "round %d: %s", round, e.text);
		ck_assert(json_is_string(v));
		ck_assert_uint_le(json_string_length(v), 3 * n);
		json_decref(v);
	}
	/* Every single byte. */
	for (unsigned b = 0; b < 256; b++) {
		char c = (char)b;
		json_t *v;
		size_t o;

		out[0] = '"';
		o = 1 + lg_json_escape(out + 1, &c, 1);
		out[o++] = '"';
		v = json_loadb(out, o, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		ck_assert_msg(v != NULL, "byte %02x", b);
		if (b < 0x80)
			ck_assert(json_string_length(v) == 1 && json_string_value(v)[0] == c);
		else
			ck_assert_str_eq(json_string_value(v), "\xef\xbf\xbd");
		json_decref(v);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json_escape");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, what_is_escaped);
	tcase_add_test(tc, utf8_is_kept_and_the_rest_replaced);
	tcase_add_test(tc, the_worst_case_fits);
	tcase_add_test(tc, any_bytes_give_valid_json);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
