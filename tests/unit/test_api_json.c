/* tests/unit/test_api_json.c - unit tests of supervisor/api_json: the
 * `data` of POST /v1/publish found and compacted as the client wrote it
 * (issue 10, finding 13). */
#include <check.h>
#include "check_main.h"
#include <string.h>

#include "api_json.h"

/* The member's text as a NUL-terminated string, "<absent>" when absent. */
static const char *member(const char *text, const char *name)
{
	static char out[1024];
	const char *v;
	size_t n;
	int rc = lg_json_member(text, strlen(text), name, &v, &n);

	ck_assert_int_ge(rc, 0);
	if (!rc)
		return "<absent>";
	ck_assert_uint_lt(n, sizeof out);
	memcpy(out, v, n);
	out[n] = '\0';
	return out;
}

static const char *compact(const char *text)
{
	static char out[1024];
	size_t n = lg_json_compact(out, text, strlen(text));

	ck_assert_uint_le(n, strlen(text));
	out[n] = '\0';
	return out;
}

START_TEST(numbers_stay_as_written)
{
	ck_assert_str_eq(member("{\"channel\":\"t\",\"data\":{\"id\":12345678901234567890}}", "data"),
	                 "{\"id\":12345678901234567890}");
	ck_assert_str_eq(member("{\"data\":0.1}", "data"), "0.1");
	ck_assert_str_eq(member("{\"data\":-0}", "data"), "-0");
	ck_assert_str_eq(member("{\"data\":1E+2,\"channel\":\"t\"}", "data"), "1E+2");
	ck_assert_str_eq(member("{\"data\":-0.0e-0}", "data"), "-0.0e-0");
}
END_TEST

START_TEST(the_value_is_first_to_last_byte)
{
	ck_assert_str_eq(member("{ \"data\" :\n [ 1 , 2 ] \n}", "data"), "[ 1 , 2 ]");
	ck_assert_str_eq(member("{\"data\":\"  spaced  \"}", "data"), "\"  spaced  \"");
	ck_assert_str_eq(member("{\"data\":null}", "data"), "null");
	ck_assert_str_eq(member("{\"data\":true }", "data"), "true");
	ck_assert_str_eq(member("{\"data\":{}}", "data"), "{}");
}
END_TEST

START_TEST(only_the_top_level_member_matches)
{
	ck_assert_str_eq(member("{\"x\":{\"data\":1},\"data\":2}", "data"), "2");
	ck_assert_str_eq(member("{\"x\":\"\\\"data\\\":5\",\"data\":[1,\"]\"]}", "data"),
	                 "[1,\"]\"]");
	ck_assert_str_eq(member("{\"x\":[{\"data\":[[]]}],\"y\":\"}\"}", "data"), "<absent>");
	ck_assert_str_eq(member("{\"dat\":1,\"datas\":2}", "data"), "<absent>");
	ck_assert_str_eq(member("{}", "data"), "<absent>");
	ck_assert_str_eq(member("[1]", "data"), "<absent>");
}
END_TEST

/* jansson decodes names: "\u0064ata" is "data" to the validator, so it
 * must be to the locator too. */
START_TEST(escaped_names_match)
{
	ck_assert_str_eq(member("{\"\\u0064ata\":7}", "data"), "7");
	ck_assert_str_eq(member("{\"da\\\"ta\":7}", "data"), "<absent>");
	ck_assert_str_eq(member("{\"x\\\\\":1,\"data\":8}", "data"), "8");
}
END_TEST

START_TEST(compact_keeps_tokens)
{
	ck_assert_str_eq(compact("{ \"a\" : [ 1 , 2.50 ],\n\t\"b\" : \"x y\" }"),
	                 "{\"a\":[1,2.50],\"b\":\"x y\"}");
	ck_assert_str_eq(compact("\"a \\\" b \\\\\""), "\"a \\\" b \\\\\"");
	ck_assert_str_eq(compact(" -0 "), "-0");
	ck_assert_str_eq(compact("[ \"\\u0020\" , null ]"), "[\"\\u0020\",null]");
	ck_assert_str_eq(compact("12345678901234567890"), "12345678901234567890");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_json");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, numbers_stay_as_written);
	tcase_add_test(tc, the_value_is_first_to_last_byte);
	tcase_add_test(tc, only_the_top_level_member_matches);
	tcase_add_test(tc, escaped_names_match);
	tcase_add_test(tc, compact_keeps_tokens);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
