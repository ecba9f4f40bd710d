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


/* --- the WebSocket form ---------------------------------------------------- */

/* A JSON frame of len bytes of text (all 'x'). */
static struct lg_frame *text_frame(size_t len)
{
	char *text = malloc(len ? len : 1);
	struct lg_frame *f;

	ck_assert_ptr_nonnull(text);
	memset(text, 'x', len);
	f = lg_frame_new(text, len);
	ck_assert_ptr_nonnull(f);
	free(text);
	return f;
}

START_TEST(ws_header_at_each_length_form)
{
	static const struct { size_t len, header; } cases[] = {
		{ 0, 2 }, { 125, 2 }, { 126, 4 }, { 65535, 4 }, { 65536, 10 }, { 70000, 10 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct lg_frame *f = text_frame(cases[i].len);
		size_t n, len = cases[i].len, h = cases[i].header;
		const unsigned char *w = lg_frame_ws(f, &n);

		ck_assert_uint_eq(n, h + len);
		ck_assert_ptr_eq(w + h, lg_frame_data(f));   /* written in the headroom */
		ck_assert_uint_eq(w[0], 0x81);                /* FIN, text */
		if (h == 2) {
			ck_assert_uint_eq(w[1], len);         /* unmasked, 7-bit length */
		} else if (h == 4) {
			ck_assert_uint_eq(w[1], 126);
			ck_assert_uint_eq((size_t)w[2] << 8 | w[3], len);
		} else {
			uint64_t got = 0;
			ck_assert_uint_eq(w[1], 127);
			for (int k = 2; k < 10; k++)
				got = got << 8 | w[k];
			ck_assert_uint_eq(got, len);
		}
		/* Every writer writes the same header: asking again changes nothing. */
		ck_assert_ptr_eq(lg_frame_ws(f, &n), w);
		ck_assert_uint_eq(n, h + len);
		lg_frame_unref(f);
	}
}
END_TEST

START_TEST(raw_frames_are_sent_as_they_are)
{
	static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
	struct lg_frame *f = lg_frame_raw(resp, sizeof resp - 1);
	size_t n;

	ck_assert_int_eq(memcmp(lg_frame_ws(f, &n), resp, sizeof resp - 1), 0);
	ck_assert_uint_eq(n, sizeof resp - 1);
	ck_assert_int_eq(memcmp(lg_frame_sse(f, &n), resp, sizeof resp - 1), 0);
	ck_assert_uint_eq(n, sizeof resp - 1);
	ck_assert_ptr_null(f->sse);
	lg_frame_unref(f);
}
END_TEST

START_TEST(control_frames)
{
	unsigned char payload[126];
	struct lg_frame *f;
	size_t n;
	const unsigned char *w;

	memset(payload, 'p', sizeof payload);
	for (unsigned op = 0x8; op <= 0xA; op++) {
		f = lg_frame_ws_control(op, payload, 125);
		ck_assert_ptr_nonnull(f);
		w = lg_frame_ws(f, &n);
		ck_assert_uint_eq(n, 127);
		ck_assert_uint_eq(w[0], 0x80 | op);
		ck_assert_uint_eq(w[1], 125);
		ck_assert_int_eq(memcmp(w + 2, payload, 125), 0);
		lg_frame_unref(f);
	}
	f = lg_frame_ws_control(0x9, NULL, 0);   /* an empty ping */
	w = lg_frame_ws(f, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(w[0], 0x89);
	ck_assert_uint_eq(w[1], 0);
	lg_frame_unref(f);
	/* Over 125 bytes, or a data opcode, is no control frame. */
	ck_assert_ptr_null(lg_frame_ws_control(0x9, payload, 126));
	ck_assert_ptr_null(lg_frame_ws_control(0x1, payload, 1));
	ck_assert_ptr_null(lg_frame_ws_control(0x7, payload, 1));
	ck_assert_ptr_null(lg_frame_ws_control(0xB, payload, 1));
}
END_TEST

/* The close frame's payload: code then reason, unmasked. */
static const unsigned char *close_payload(struct lg_frame *f, size_t *n)
{
	const unsigned char *w;

	ck_assert_ptr_nonnull(f);
	w = lg_frame_ws(f, n);
	ck_assert_uint_eq(w[0], 0x88);
	ck_assert_uint_eq(w[1], *n - 2);
	*n -= 2;
	return w + 2;
}

START_TEST(close_frames_and_their_reasons)
{
	char reason[200];
	struct lg_frame *f;
	const unsigned char *p;
	size_t n;

	f = lg_frame_ws_close(4001, "bad_signature");
	p = close_payload(f, &n);
	ck_assert_uint_eq(n, 2 + 13);
	ck_assert_uint_eq((unsigned)p[0] << 8 | p[1], 4001);
	ck_assert_int_eq(memcmp(p + 2, "bad_signature", 13), 0);
	lg_frame_unref(f);
	f = lg_frame_ws_close(1000, NULL);
	p = close_payload(f, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq((unsigned)p[0] << 8 | p[1], 1000);
	lg_frame_unref(f);
	/* 123 bytes of reason fit (125 with the code); 124 are cut to 123. */
	memset(reason, 'r', sizeof reason);
	reason[123] = '\0';
	p = close_payload(f = lg_frame_ws_close(1008, reason), &n);
	ck_assert_uint_eq(n, 125);
	lg_frame_unref(f);
	reason[123] = 'r';
	reason[124] = '\0';
	p = close_payload(f = lg_frame_ws_close(1008, reason), &n);
	ck_assert_uint_eq(n, 125);
	lg_frame_unref(f);
	/* A character that would straddle the cut is left out whole: the
	 * reason stays UTF-8 (RFC 6455 7.1.6). */
	memset(reason, 'a', 122);
	strcpy(reason + 122, "\xc3\xa9tail");           /* é at bytes 122-123 */
	p = close_payload(f = lg_frame_ws_close(4008, reason), &n);
	ck_assert_uint_eq(n, 2 + 122);
	ck_assert_uint_eq(p[2 + 121], 'a');
	lg_frame_unref(f);
	memset(reason, 'a', 121);
	strcpy(reason + 121, "\xf0\x9f\x98\x80");       /* an emoji at bytes 121-124 */
	p = close_payload(f = lg_frame_ws_close(4008, reason), &n);
	ck_assert_uint_eq(n, 2 + 121);
	lg_frame_unref(f);
	memset(reason, 'a', 119);
	strcpy(reason + 119, "\xf0\x9f\x98\x80");       /* ends exactly at 123: kept */
	p = close_payload(f = lg_frame_ws_close(4008, reason), &n);
	ck_assert_uint_eq(n, 2 + 123);
	ck_assert_int_eq(memcmp(p + 2 + 119, "\xf0\x9f\x98\x80", 4), 0);
	lg_frame_unref(f);
	/* Bytes that are not UTF-8 end the reason. */
	p = close_payload(f = lg_frame_ws_close(4008, "ok\xff then"), &n);
	ck_assert_uint_eq(n, 2 + 2);
	lg_frame_unref(f);
}
END_TEST

/* --- the event-stream form ------------------------------------------------- */

/* Reads one event the way a browser's EventSource does: the data lines'
 * values joined with "\n". Returns the bytes after the event. */
static const char *sse_event_data(const char *s, size_t n, char *out, size_t *olen)
{
	const char *end = s + n;

	*olen = 0;
	while (s < end && *s != '\n') {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		ck_assert_ptr_nonnull(nl);
		ck_assert_int_eq(strncmp(s, "data: ", 6), 0);
		if (*olen)
			out[(*olen)++] = '\n';
		memcpy(out + *olen, s + 6, (size_t)(nl - s - 6));
		*olen += (size_t)(nl - s - 6);
		s = nl + 1;
	}
	ck_assert(s < end && *s == '\n');
	return s + 1;
}

START_TEST(sse_form)
{
	static const char text[] = "{\"type\":\"invalidate\",\"channel\":\"todos\",\"data\":1}";
	struct lg_frame *f = lg_frame_new(text, sizeof text - 1);
	const unsigned char *e, *again;
	size_t n, dn;
	char data[256];

	e = lg_frame_sse(f, &n);
	ck_assert_uint_eq(n, 6 + sizeof text - 1 + 2);
	ck_assert_int_eq(memcmp(e, "data: ", 6), 0);
	ck_assert_int_eq(memcmp(e + 6, text, sizeof text - 1), 0);
	ck_assert_int_eq(memcmp(e + n - 2, "\n\n", 2), 0);
	/* Built once, kept with the frame. */
	again = lg_frame_sse(f, &dn);
	ck_assert_ptr_eq(again, e);
	ck_assert_ptr_nonnull(f->sse);
	ck_assert_ptr_eq(sse_event_data((const char *)e, n, data, &dn), (const char *)e + n);
	ck_assert_uint_eq(dn, sizeof text - 1);
	lg_frame_unref(f);   /* frees its event form with it (ASan, valgrind) */
}
END_TEST

/* A JSON text may hold CR and LF between tokens: each starts another data
 * line, so no line break can end the event early or smuggle a field in. */
START_TEST(sse_form_of_line_breaks)
{
	static const struct { const char *text, *event, *joined; } cases[] = {
		{ "{\n\"a\":1}", "data: {\ndata: \"a\":1}\n\n", "{\n\"a\":1}" },
		{ "{\r\"a\":1}", "data: {\ndata: \"a\":1}\n\n", "{\n\"a\":1}" },
		{ "{\r\n\"a\":1}", "data: {\ndata: \ndata: \"a\":1}\n\n", "{\n\n\"a\":1}" },
		{ "[1,\n\n2]\n", "data: [1,\ndata: \ndata: 2]\ndata: \n\n", "[1,\n\n2]\n" },
		{ "{\"a\":\"id: 1\\nevent: x\"}", "data: {\"a\":\"id: 1\\nevent: x\"}\n\n", NULL },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct lg_frame *f = lg_frame_new(cases[i].text, strlen(cases[i].text));
		size_t n, dn;
		const unsigned char *e = lg_frame_sse(f, &n);
		char data[256];
		json_t *a, *b;

		ck_assert_uint_eq(n, strlen(cases[i].event));
		ck_assert_int_eq(memcmp(e, cases[i].event, n), 0);
		sse_event_data((const char *)e, n, data, &dn);
		if (cases[i].joined) {
			ck_assert_uint_eq(dn, strlen(cases[i].joined));
			ck_assert_int_eq(memcmp(data, cases[i].joined, dn), 0);
		}
		/* What the page parses is the same JSON value. */
		a = json_loadb(cases[i].text, strlen(cases[i].text), JSON_DECODE_ANY, NULL);
		b = json_loadb(data, dn, JSON_DECODE_ANY, NULL);
		ck_assert(a && b && json_equal(a, b));
		json_decref(a);
		json_decref(b);
		lg_frame_unref(f);
	}
}
END_TEST

START_TEST(close_event)
{
	struct lg_frame *f = lg_frame_close_event(4002, "expired");
	json_t *v = parse(f);

	ck_assert_str_eq(json_string_value(json_object_get(v, "type")), "close");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "code")), 4002);
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), "expired");
	json_decref(v);
	lg_frame_unref(f);
	f = lg_frame_close_event(1012, NULL);
	v = parse(f);
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), "");
	json_decref(v);
	lg_frame_unref(f);
	f = lg_frame_close_event(4008, "bad \"x\"\n\xff");
	v = parse(f);
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), "bad \"x\"\n\xef\xbf\xbd");
	json_decref(v);
	lg_frame_unref(f);
}
END_TEST

START_TEST(subscribed_to_nothing_and_escaped_names)
{
	const char *names[] = { "a\\b", "\"q\"" };
	size_t lens[] = { 3, 3 };
	struct lg_frame *f = lg_frame_subscribed(NULL, NULL, 0);
	json_t *v = parse(f);

	ck_assert_uint_eq(json_array_size(json_object_get(v, "channels")), 0);
	json_decref(v);
	lg_frame_unref(f);
	f = lg_frame_subscribed(names, lens, 2);
	v = parse(f);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "channels"), 0)), "a\\b");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "channels"), 1)), "\"q\"");
	json_decref(v);
	lg_frame_unref(f);
}
END_TEST

/* The coalesced variant keeps the original's identity (its message count
 * and birth, for the latency figures) and has its own event form. */
START_TEST(coalesced_variant_in_both_forms)
{
	int big;
	char *huge = malloc(LG_MAX_PAYLOAD + 1);
	struct lg_frame *f = lg_frame_invalidate("c", 1, "\"x\"", 3, 0, &big), *c, *t;
	const unsigned char *e;
	size_t n;
	json_t *v;

	f->seq = 42;
	c = lg_frame_coalesced(f);
	ck_assert_uint_eq(c->seq, 42);
	ck_assert_uint_eq(c->born_ns, f->born_ns);
	ck_assert_uint_eq(c->plain, 0);   /* a coalesced frame is not coalesced again */
	v = parse(c);
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), "coalesced");
	ck_assert_str_eq(json_string_value(json_object_get(v, "data")), "x");
	json_decref(v);
	e = lg_frame_sse(c, &n);
	ck_assert_uint_eq(n, 6 + c->len + 2);
	ck_assert_int_eq(memcmp(e + 6, lg_frame_data(c), c->len), 0);
	ck_assert_ptr_eq(lg_frame_coalesced(c), c);   /* and marks nothing twice */
	lg_frame_unref(c);
	lg_frame_unref(c);
	lg_frame_unref(f);
	/* A payload too large carries no data to lose: it stays itself. */
	ck_assert_ptr_nonnull(huge);
	memset(huge, 'a', LG_MAX_PAYLOAD + 1);
	t = lg_frame_invalidate("c", 1, huge, LG_MAX_PAYLOAD + 1, 0, &big);
	ck_assert_ptr_eq(lg_frame_coalesced(t), t);
	ck_assert_uint_eq(t->refs, 2);
	lg_frame_unref(t);
	lg_frame_unref(t);
	free(huge);
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
	tcase_add_test(tc, ws_header_at_each_length_form);
	tcase_add_test(tc, raw_frames_are_sent_as_they_are);
	tcase_add_test(tc, control_frames);
	tcase_add_test(tc, close_frames_and_their_reasons);
	tcase_add_test(tc, sse_form);
	tcase_add_test(tc, sse_form_of_line_breaks);
	tcase_add_test(tc, close_event);
	tcase_add_test(tc, subscribed_to_nothing_and_escaped_names);
	tcase_add_test(tc, coalesced_variant_in_both_forms);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
