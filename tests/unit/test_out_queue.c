/* tests/unit/test_out_queue.c - unit tests of worker/out_queue: a
 * connection's bounded FIFO of shared frames (order, the entry and byte
 * limits, re-keying, clearing, the ring growing, wrapping and shrinking). */
#include <check.h>
#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "out_queue.h"

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


/* The entry ceiling binds whatever limit the caller asks for; a limit of
 * zero still lets an empty queue take one frame. */
START_TEST(queue_limits_at_their_edges)
{
	struct lg_outq q = {0};
	struct lg_frame *f = lg_frame_new("z", 1);
	int key;

	for (int i = 0; i < LG_OUTQ_MAX; i++)
		ck_assert_int_eq(lg_outq_push(&q, &key, f, (size_t)LG_OUTQ_MAX * 4, 1 << 20), 0);
	ck_assert_int_eq(lg_outq_push(&q, &key, f, (size_t)LG_OUTQ_MAX * 4, 1 << 20), LG_OUTQ_FULL);
	ck_assert_uint_eq(q.len, LG_OUTQ_MAX);
	ck_assert_uint_le(q.cap, LG_OUTQ_MAX);
	ck_assert_uint_eq(f->refs, 1 + LG_OUTQ_MAX);
	lg_outq_clear(&q, NULL, NULL);
	ck_assert_uint_eq(f->refs, 1);
	ck_assert_ptr_null(q.e);
	ck_assert(lg_outq_empty(&q));

	ck_assert_int_eq(lg_outq_push(&q, &key, f, 0, 0), 0);
	ck_assert_int_eq(lg_outq_push(&q, &key, f, 0, 0), LG_OUTQ_FULL);
	ck_assert_uint_eq(q.len, 1);
	lg_outq_clear(&q, NULL, NULL);
	lg_frame_unref(f);
}
END_TEST

START_TEST(queue_empty_operations)
{
	struct lg_outq q = {0};
	struct dropped d = { .n = 0 };

	ck_assert(lg_outq_empty(&q));
	ck_assert_ptr_null(lg_outq_pop(&q));
	lg_outq_rekey(&q, map_a_to_c, NULL);
	lg_outq_clear(&q, note_dropped, &d);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(q.bytes, 0);
	/* A small ring that drains is kept for the next burst. */
	struct lg_frame *f = lg_frame_new("k", 1);
	ck_assert_int_eq(lg_outq_push(&q, &ka, f, 8, 100), 0);
	lg_frame_unref(lg_outq_pop(&q));
	ck_assert_ptr_nonnull(q.e);
	ck_assert_uint_le(q.cap, LG_OUTQ_KEEP_CAP);
	/* Re-keying everything away empties the queue and its byte count. */
	ck_assert_int_eq(lg_outq_push(&q, &kb, f, 8, 100), 0);
	ck_assert_int_eq(lg_outq_push(&q, &kb, f, 8, 100), 0);
	lg_outq_rekey(&q, map_a_to_c, NULL);
	ck_assert(lg_outq_empty(&q));
	ck_assert_uint_eq(q.bytes, 0);
	ck_assert_uint_eq(f->refs, 1);
	lg_outq_clear(&q, NULL, NULL);
	lg_frame_unref(f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("out_queue");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, queue_keeps_every_frame_in_order);
	tcase_add_test(tc, queue_full_says_so_and_takes_nothing);
	tcase_add_test(tc, queue_byte_limit);
	tcase_add_test(tc, queue_rekey_moves_and_drops);
	tcase_add_test(tc, queue_wraps_and_grows);
	tcase_add_test(tc, queue_limits_at_their_edges);
	tcase_add_test(tc, queue_empty_operations);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
