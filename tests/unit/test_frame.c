/* Unit tests of gateway/frame (the shared invalidate frames, JSON escaping)
 * and gateway/timer_wheel. */
#include <check.h>
#include "check_main.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "out_queue.h"
#include "timer_wheel.h"

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

/* --- outgoing queue -------------------------------------------------------- */

/* Pops everything, returning the first letters of the frames' text. */
static void drain_to(struct lg_outq *q, char *out)
{
	struct lg_frame *f;
	size_t n = 0;

	while ((f = lg_outq_pop(q))) {
		out[n++] = (char)lg_frame_data(f)[0];
		lg_frame_unref(f);
	}
	out[n] = '\0';
}

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

START_TEST(queue_keeps_every_frame_in_order)
{
	struct lg_outq q = {0};
	const char *msgs = "abcdefghij";
	char got[16];
	int a, b;

	for (int i = 0; i < 10; i++) {
		struct lg_frame *f = lg_frame_new(msgs + i, 1);
		ck_assert_int_eq(lg_outq_push(&q, i % 2 ? &a : &b, f, 12, 1 << 20), 0);
		lg_frame_unref(f);   /* the queue holds its own reference */
	}
	drain_to(&q, got);
	ck_assert_str_eq(got, msgs);
	ck_assert(lg_outq_empty(&q));
	lg_outq_clear(&q, NULL, NULL);
}
END_TEST

/* Records what lg_outq_clear drops, in order. */
struct dropped {
	const void *keys[8];
	char        text[8];
	size_t      n;
};

static void note_dropped(const void *key, struct lg_frame *f, void *arg)
{
	struct dropped *d = arg;

	ck_assert_uint_ge(f->refs, 1);
	d->keys[d->n] = key;
	d->text[d->n++] = (char)lg_frame_data(f)[0];
	d->text[d->n] = '\0';
}

START_TEST(queue_full_says_so_and_takes_nothing)
{
	struct lg_outq q = {0};
	int a, b;
	struct lg_frame *f[5];
	struct dropped d = { .n = 0 };

	for (int i = 0; i < 5; i++) {
		char t = (char)('0' + i);
		f[i] = lg_frame_new(&t, 1);
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(lg_outq_push(&q, i % 2 ? &a : &b, f[i], 4, 1 << 20), 0);
	/* full (4 entries): nothing is dropped to make room, nothing taken */
	ck_assert_int_eq(lg_outq_push(&q, &a, f[4], 4, 1 << 20), LG_OUTQ_FULL);
	ck_assert_uint_eq(f[4]->refs, 1);
	ck_assert_uint_eq(q.len, 4);
	/* clearing hands every frame over, oldest first, with its key */
	lg_outq_clear(&q, note_dropped, &d);
	ck_assert_str_eq(d.text, "0123");
	ck_assert_ptr_eq(d.keys[0], &b);
	ck_assert_ptr_eq(d.keys[1], &a);
	ck_assert_ptr_null(q.e);
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(f[i]->refs, 1);   /* the queue let go of every one */
		lg_frame_unref(f[i]);
	}
}
END_TEST

static int ka, kb, kc;
static const void *map_a_to_c(const void *key, void *arg)
{
	(void)arg;
	if (key == &ka)
		return &kc;
	return key == &kb ? NULL : key;
}

START_TEST(queue_byte_limit)
{
	struct lg_outq q = {0};
	int a, b;
	char got[8], big[100];
	struct lg_frame *f;

	memset(big, 'x', sizeof big);
	f = lg_frame_new("A", 1);
	ck_assert_int_eq(lg_outq_push(&q, &a, f, 100, 250), 0);
	lg_frame_unref(f);
	f = lg_frame_new(big, 100);
	ck_assert_int_eq(lg_outq_push(&q, &b, f, 100, 250), 0);
	ck_assert_int_eq(lg_outq_push(&q, &b, f, 100, 250), 0);   /* 201 bytes */
	ck_assert_int_eq(lg_outq_push(&q, &b, f, 100, 250), LG_OUTQ_FULL);
	ck_assert_uint_eq(q.bytes, 201);
	lg_frame_unref(f);
	drain_to(&q, got);
	ck_assert_str_eq(got, "Axx");
	ck_assert_uint_eq(q.bytes, 0);
	/* a frame bigger than the limit still goes into an empty queue, alone */
	memset(big, 'y', sizeof big);
	f = lg_frame_new(big, 100);
	ck_assert_int_eq(lg_outq_push(&q, &a, f, 100, 50), 0);
	ck_assert_int_eq(lg_outq_push(&q, &a, f, 100, 50), LG_OUTQ_FULL);
	ck_assert_uint_eq(q.len, 1);
	lg_frame_unref(f);
	drain_to(&q, got);
	ck_assert_str_eq(got, "y");
	lg_outq_clear(&q, NULL, NULL);
}
END_TEST

START_TEST(queue_rekey_moves_and_drops)
{
	struct lg_outq q = {0};
	struct lg_frame *f1 = lg_frame_new("1", 1), *f2 = lg_frame_new("2", 1), *f3 = lg_frame_new("3", 1);
	char got[8];

	lg_outq_push(&q, &ka, f1, 8, 1 << 20);
	lg_outq_push(&q, &kb, f2, 8, 1 << 20);
	lg_outq_push(&q, &ka, f3, 8, 1 << 20);
	lg_outq_rekey(&q, map_a_to_c, NULL);
	ck_assert_uint_eq(q.len, 2);
	ck_assert_ptr_eq(q.e[q.head].key, &kc);
	ck_assert_uint_eq(f2->refs, 1);
	drain_to(&q, got);
	ck_assert_str_eq(got, "13");
	lg_frame_unref(f1);
	lg_frame_unref(f2);
	lg_frame_unref(f3);
	lg_outq_clear(&q, NULL, NULL);
}
END_TEST

START_TEST(queue_wraps_and_grows)
{
	struct lg_outq q = {0};
	char got[64], want[64];
	int key;
	size_t n = 0;

	/* interleave pushes and pops so the ring wraps before it grows */
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 3; i++) {
			char t = (char)('A' + (round * 3 + i) % 26);
			struct lg_frame *f = lg_frame_new(&t, 1);
			ck_assert_int_eq(lg_outq_push(&q, &key, f, LG_OUTQ_MAX, 1 << 20), 0);
			lg_frame_unref(f);
		}
		struct lg_frame *f = lg_outq_pop(&q);
		want[n++] = (char)lg_frame_data(f)[0];
		lg_frame_unref(f);
	}
	ck_assert_uint_gt(q.cap, LG_OUTQ_KEEP_CAP);
	drain_to(&q, got);
	ck_assert_ptr_null(q.e);   /* a drained big ring is given back */
	memcpy(want + n, got, strlen(got) + 1);
	for (size_t i = 0; i < 60; i++)
		ck_assert_int_eq(want[i], 'A' + (int)(i % 26));
	lg_outq_clear(&q, NULL, NULL);
}
END_TEST

/* --- timer wheel ----------------------------------------------------------- */

struct item {
	struct lg_wheel_node node;
	int                  fired;
	uint32_t             fired_at;
	int                  rearm;
};

static uint32_t wheel_now;
static struct lg_wheel W;

static void fire(struct lg_wheel_node *n, void *arg)
{
	struct item *it = (struct item *)n;
	(void)arg;
	it->fired++;
	it->fired_at = wheel_now;
	if (it->rearm) {
		it->rearm--;
		lg_wheel_arm(&W, n, wheel_now + 1);
	}
}

static void advance_to(uint32_t t)
{
	while (wheel_now < t) {
		wheel_now++;
		lg_wheel_advance(&W, wheel_now, fire, NULL);
	}
}

START_TEST(wheel_fires_at_deadline)
{
	struct item a = {0}, b = {0}, c = {0};

	wheel_now = 0;
	lg_wheel_init(&W, 0);
	lg_wheel_arm(&W, &a.node, 3);
	lg_wheel_arm(&W, &b.node, 3 + LG_WHEEL_SLOTS);      /* same slot, a lap later */
	lg_wheel_arm(&W, &c.node, 10);
	advance_to(3);
	ck_assert_int_eq(a.fired, 1);
	ck_assert_uint_eq(a.fired_at, 3);
	ck_assert_int_eq(b.fired, 0);
	ck_assert(!lg_wheel_armed(&a.node));
	lg_wheel_cancel(&c.node);
	advance_to(3 + LG_WHEEL_SLOTS);
	ck_assert_int_eq(b.fired, 1);
	ck_assert_uint_eq(b.fired_at, 3 + LG_WHEEL_SLOTS);
	ck_assert_int_eq(c.fired, 0);
}
END_TEST

START_TEST(wheel_rearm_and_past_deadlines)
{
	struct item a = {0}, b = {0};

	wheel_now = 100;
	lg_wheel_init(&W, 100);
	a.rearm = 2;
	lg_wheel_arm(&W, &a.node, 101);
	lg_wheel_arm(&W, &b.node, 50);          /* in the past: next tick */
	lg_wheel_arm(&W, &b.node, 99);          /* re-arming replaces */
	advance_to(101);
	ck_assert_int_eq(b.fired, 1);
	ck_assert_int_eq(a.fired, 1);
	advance_to(105);
	ck_assert_int_eq(a.fired, 3);
	ck_assert_int_eq(b.fired, 1);
}
END_TEST

START_TEST(wheel_catches_up_after_a_stall)
{
	struct item a = {0};

	wheel_now = 0;
	lg_wheel_init(&W, 0);
	lg_wheel_arm(&W, &a.node, 5);
	wheel_now = 1000;                     /* the loop was blocked for a while */
	lg_wheel_advance(&W, wheel_now, fire, NULL);
	ck_assert_int_eq(a.fired, 1);
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
	tcase_add_test(tc, queue_keeps_every_frame_in_order);
	tcase_add_test(tc, queue_full_says_so_and_takes_nothing);
	tcase_add_test(tc, queue_byte_limit);
	tcase_add_test(tc, queue_rekey_moves_and_drops);
	tcase_add_test(tc, queue_wraps_and_grows);
	tcase_add_test(tc, wheel_fires_at_deadline);
	tcase_add_test(tc, wheel_rearm_and_past_deadlines);
	tcase_add_test(tc, wheel_catches_up_after_a_stall);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
