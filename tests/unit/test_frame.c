/* tests/unit/test_frame.c - unit tests of wire/frame: the shared outgoing
 * frames (invalidate, subscribed, close event), their WebSocket header at
 * every length form, their event-stream encoding, control and close
 * frames, the coalesced variant and reference counting. */
#include <check.h>
#include "check_main.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* Returns the frame's text parsed as JSON (the frame must be valid JSON). */
static json_t *parse(struct lg_frame *f)
{
	json_error_t e;
	json_t *v = json_loadb((const char *)lg_frame_data(f), f->len, 0, &e);
	ck_assert_msg(v != NULL, "frame is not JSON: %s: %.*s", e.text, (int)f->len,
	              (const char *)lg_frame_data(f));
	return v;
}

START_TEST(json_payload_is_embedded)
{
	int big;
	struct lg_frame *f = lg_frame_invalidate("todos", 5, "{\"id\": 1}", 9, 0, &big);
	json_t *v = parse(f);

	ck_assert_int_eq(big, 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "type")), "invalidate");
	ck_assert_str_eq(json_string_value(json_object_get(v, "channel")), "todos");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "data"), "id")), 1);
	ck_assert_ptr_null(json_object_get(v, "spread"));
	json_decref(v);
	lg_frame_unref(f);
}
END_TEST

START_TEST(other_payloads_become_strings)
{
	static const struct { const char *in; size_t n; const char *want; } cases[] = {
		{ "hello \"w\"", 9, "hello \"w\"" },
		{ "updated", 7, "updated" },
		{ "{\"a\":1", 6, "{\"a\":1" },
		{ "1 2", 3, "1 2" },
		{ "", 0, "" },
		{ "a\nb\\c\x01", 7, "a\nb\\c\x01" },
		{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },
		{ "bad\xff\xfe", 5, "bad\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },   /* a surrogate */
		{ "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },                   /* overlong */
		{ "nul\0x", 5, NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int big;
		struct lg_frame *f = lg_frame_invalidate("c", 1, cases[i].in, cases[i].n, 0, &big);
		json_error_t e;
		json_t *v = json_loadb((const char *)lg_frame_data(f), f->len, JSON_ALLOW_NUL, &e);
		json_t *d;
		ck_assert_msg(v != NULL, "case %zu not JSON: %s", i, e.text);
		d = json_object_get(v, "data");
		ck_assert_msg(json_is_string(d), "case %zu: data not a string", i);
		if (cases[i].want)
			ck_assert_str_eq(json_string_value(d), cases[i].want);
		else
			ck_assert_int_eq(memcmp(json_string_value(d), "nul\0x", 5), 0);
		json_decref(v);
		lg_frame_unref(f);
	}
}
END_TEST

START_TEST(resync_and_too_large)
{
	int big;
	char *huge = malloc(LG_MAX_PAYLOAD + 1);
	struct lg_frame *f = lg_frame_invalidate("c", 1, NULL, 0, 0, &big);
	json_t *v = parse(f);

	ck_assert(json_is_null(json_object_get(v, "data")));
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), "resync");
	json_decref(v);
	lg_frame_unref(f);

	memset(huge, 'a', LG_MAX_PAYLOAD + 1);
	f = lg_frame_invalidate("c", 1, huge, LG_MAX_PAYLOAD + 1, 0, &big);
	ck_assert_int_eq(big, 1);
	v = parse(f);
	ck_assert(json_is_null(json_object_get(v, "data")));
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), "payload_too_large");
	json_decref(v);
	lg_frame_unref(f);

	/* exactly at the limit is embedded */
	f = lg_frame_invalidate("c", 1, huge, LG_MAX_PAYLOAD, 0, &big);
	ck_assert_int_eq(big, 0);
	v = parse(f);
	ck_assert_uint_eq(json_string_length(json_object_get(v, "data")), LG_MAX_PAYLOAD);
	json_decref(v);
	lg_frame_unref(f);
	free(huge);
}
END_TEST

START_TEST(spread_hint_and_subscribed)
{
	int big;
	const char *names[] = { "a", "b\"c" };
	size_t lens[] = { 1, 3 };
	struct lg_frame *f = lg_frame_invalidate("c", 1, "1", 1, 250, &big);
	json_t *v = parse(f), *chs;

	ck_assert_int_eq(json_integer_value(json_object_get(v, "spread")), 250);
	json_decref(v);
	lg_frame_unref(f);
	f = lg_frame_subscribed(names, lens, 2);
	v = parse(f);
	chs = json_object_get(v, "channels");
	ck_assert_str_eq(json_string_value(json_object_get(v, "type")), "subscribed");
	ck_assert_uint_eq(json_array_size(chs), 2);
	ck_assert_str_eq(json_string_value(json_array_get(chs, 1)), "b\"c");
	json_decref(v);
	lg_frame_unref(f);
}
END_TEST

START_TEST(refcount_shares_one_buffer)
{
	struct lg_frame *f = lg_frame_new("x", 1);

	ck_assert_ptr_eq(lg_frame_ref(f), f);
	ck_assert_uint_eq(f->refs, 2);
	lg_frame_unref(f);
	ck_assert_uint_eq(f->refs, 1);
	lg_frame_unref(f);   /* freed: valgrind/ASan check the rest */
	lg_frame_unref(NULL);
}
END_TEST

START_TEST(coalesced_marks_data_frames_once_and_keeps_the_rest)
{
	int too_large;
	struct lg_frame *f = lg_frame_invalidate("todos", 5, "{\"id\":7}", 8, 600, &too_large);
	struct lg_frame *r = lg_frame_invalidate("todos", 5, NULL, 0, 0, &too_large);
	struct lg_frame *c1 = lg_frame_coalesced(f), *c2 = lg_frame_coalesced(f), *cr;
	const char want[] = "{\"type\":\"invalidate\",\"reason\":\"coalesced\",\"channel\":\"todos\","
	                    "\"data\":{\"id\":7},\"spread\":600}";

	ck_assert_ptr_eq(c1, c2);                  /* built once, shared */
	ck_assert_uint_eq(c1->len, sizeof want - 1);
	ck_assert_int_eq(memcmp(lg_frame_data(c1), want, c1->len), 0);
	cr = lg_frame_coalesced(r);                /* a resync stays a resync */
	ck_assert_ptr_eq(cr, r);
	lg_frame_unref(c1);
	lg_frame_unref(c2);
	lg_frame_unref(cr);
	lg_frame_unref(r);
	lg_frame_unref(f);                         /* frees the variant with it (ASan) */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, json_payload_is_embedded);
	tcase_add_test(tc, other_payloads_become_strings);
	tcase_add_test(tc, resync_and_too_large);
	tcase_add_test(tc, spread_hint_and_subscribed);
	tcase_add_test(tc, refcount_shares_one_buffer);
	tcase_add_test(tc, coalesced_marks_data_frames_once_and_keeps_the_rest);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
