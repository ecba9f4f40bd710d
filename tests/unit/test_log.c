/* tests/unit/test_log.c - unit tests of common/log: values escaped so that
 * logfmt and JSON parsers read them back exactly; the level names. */
#include <check.h>
#include "check_main.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Logs one line with the value under key "v" and returns what reached
 * stderr (static buffer). */
static const char *line_for(int json, const char *val, size_t n)
{
	static char out[8192];
	struct lg_logline l;
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t got;

	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(tmp), STDERR_FILENO), 0);
	lg_log_setup(LG_LOG_DEBUG, json, "test");
	ck_assert_int_eq(lg_log_begin(&l, LG_LOG_INFO, "ev"), 1);
	lg_log_strn(&l, "v", val, n);
	lg_log_end(&l);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	rewind(tmp);
	got = fread(out, 1, sizeof out - 1, tmp);
	fclose(tmp);
	out[got] = '\0';
	return out;
}

/* The text after " v=" up to the end of the line (logfmt). */
static const char *logfmt_value(const char *line)
{
	static char v[8192];
	const char *p = strstr(line, " v=");

	ck_assert_ptr_nonnull(p);
	snprintf(v, sizeof v, "%s", p + 3);
	v[strcspn(v, "\n")] = '\0';
	return v;
}

struct fmt_case { const char *in; const char *out; };

static const struct fmt_case logfmt_cases[] = {
	{ "plain", "plain" },
	{ "a\\b", "\"a\\\\b\"" },            /* the finding: was a\\b, unquoted */
	{ "\\", "\"\\\\\"" },
	{ "a\"b", "\"a\\\"b\"" },
	{ "x=y", "\"x=y\"" },
	{ "two words", "\"two words\"" },
	{ "", "\"\"" },
	{ "line\nbreak", "\"line\\u000abreak\"" },
	{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },  /* UTF-8 kept as it is */
	{ "bad\xff", "\"bad\\ufffd\"" },       /* invalid UTF-8 replaced */
};

/* Reads a quoted logfmt value back the way go-logfmt does (JSON string
 * rules) through jansson, and compares with what was logged. */
START_TEST(logfmt_values_read_back)
{
	const struct fmt_case *c = &logfmt_cases[_i];
	const char *v = logfmt_value(line_for(0, c->in, strlen(c->in)));

	ck_assert_str_eq(v, c->out);
	if (v[0] == '"' && !strstr(c->in, "\xff")) {
		json_error_t e;
		json_t *s = json_loads(v, JSON_DECODE_ANY, &e);
		ck_assert_msg(s != NULL, "%s: %s", v, e.text);
		ck_assert_str_eq(json_string_value(s), c->in);
		json_decref(s);
	}
}
END_TEST

START_TEST(json_lines_parse_back)
{
	const struct fmt_case *c = &logfmt_cases[_i];
	const char *line = line_for(1, c->in, strlen(c->in));
	json_error_t e;
	json_t *o = json_loads(line, 0, &e);

	ck_assert_msg(o != NULL, "%s: %s", line, e.text);
	ck_assert_str_eq(json_string_value(json_object_get(o, "level")), "info");
	ck_assert_str_eq(json_string_value(json_object_get(o, "event")), "ev");
	if (!strstr(c->in, "\xff"))
		ck_assert_str_eq(json_string_value(json_object_get(o, "v")), c->in);
	else
		ck_assert_str_eq(json_string_value(json_object_get(o, "v")), "bad\xef\xbf\xbd");
	json_decref(o);
}
END_TEST

/* A value too long for the line is left out whole and the line says so:
 * never a cut value, never an unclosed quote. */
START_TEST(long_value_marks_the_line)
{
	char big[LG_LOGLINE_MAX];
	const char *line;
	json_t *o;

	memset(big, '"', sizeof big);
	line = line_for(0, big, 1000);   /* fits unescaped, not escaped */
	ck_assert_ptr_nonnull(strstr(line, " truncated=true\n"));
	ck_assert_msg(strstr(line, " v=") == NULL, "%s", line);
	line = line_for(1, big, sizeof big);
	ck_assert_ptr_nonnull(strstr(line, "\"truncated\":true}"));
	o = json_loads(line, 0, NULL);
	ck_assert_ptr_nonnull(o);
	json_decref(o);
}
END_TEST

START_TEST(level_names)
{
	ck_assert_int_eq(lg_log_level_parse("error"), LG_LOG_ERROR);
	ck_assert_int_eq(lg_log_level_parse("warn"), LG_LOG_WARN);
	ck_assert_int_eq(lg_log_level_parse("info"), LG_LOG_INFO);
	ck_assert_int_eq(lg_log_level_parse("debug"), LG_LOG_DEBUG);
	ck_assert_int_eq(lg_log_level_parse("verbose"), -1);
	ck_assert_int_eq(lg_log_level_parse("INFO"), -1);
	for (int i = 0; i < LG_LOG_LEVELS; i++)
		ck_assert_int_eq(lg_log_level_parse(lg_log_level_names[i]), i);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	int n = (int)(sizeof logfmt_cases / sizeof logfmt_cases[0]);

	tcase_add_loop_test(tc, logfmt_values_read_back, 0, n);
	tcase_add_loop_test(tc, json_lines_parse_back, 0, n);
	tcase_add_test(tc, long_value_marks_the_line);
	tcase_add_test(tc, level_names);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
