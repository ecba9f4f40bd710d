/* tests/unit/test_timer_wheel.c - unit tests of worker/timer_wheel: the
 * hashed wheel of one-second deadlines (firing, laps, re-arming from a
 * callback, past deadlines, catching up after a stall). */
#include <check.h>
#include "check_main.h"
#include <stdint.h>
#include <string.h>

#include "timer_wheel.h"

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


START_TEST(wheel_cancel_and_arm_edges)
{
	struct item a = {0}, b = {0};

	wheel_now = 10;
	lg_wheel_init(&W, 10);
	ck_assert(!lg_wheel_armed(&a.node));
	lg_wheel_cancel(&a.node);                 /* not armed: a no-op */
	lg_wheel_arm(&W, &a.node, 10);            /* now: the next tick */
	ck_assert(lg_wheel_armed(&a.node));
	ck_assert_uint_eq(a.node.deadline, 11);
	lg_wheel_advance(&W, 10, fire, NULL);     /* no time passed: nothing */
	ck_assert_int_eq(a.fired, 0);
	lg_wheel_arm(&W, &b.node, 11);
	lg_wheel_cancel(&b.node);
	lg_wheel_cancel(&b.node);                 /* twice is harmless */
	advance_to(11);
	ck_assert_int_eq(a.fired, 1);
	ck_assert_int_eq(b.fired, 0);
	/* A deadline many laps ahead waits for its lap, not its slot. */
	lg_wheel_arm(&W, &a.node, 11 + 5 * LG_WHEEL_SLOTS);
	advance_to(11 + 5 * LG_WHEEL_SLOTS - 1);
	ck_assert_int_eq(a.fired, 1);
	advance_to(11 + 5 * LG_WHEEL_SLOTS);
	ck_assert_int_eq(a.fired, 2);
}
END_TEST

/* fire may disarm other nodes due in the same tick (a connection closing
 * others): those do not fire. Here the first to fire cancels all the
 * rest, whatever the order. */
static struct item *crowd;
static size_t crowd_n;
static void fire_and_cancel(struct lg_wheel_node *n, void *arg)
{
	(void)arg;
	((struct item *)n)->fired++;
	for (size_t i = 0; i < crowd_n; i++)
		lg_wheel_cancel(&crowd[i].node);
}

START_TEST(wheel_fire_may_cancel_others)
{
	struct item items[100];
	int fired = 0;

	memset(items, 0, sizeof items);
	lg_wheel_init(&W, 0);
	for (int i = 0; i < 100; i++)
		lg_wheel_arm(&W, &items[i].node, 7);
	crowd = items;
	crowd_n = 100;
	lg_wheel_advance(&W, 7, fire_and_cancel, NULL);
	for (int i = 0; i < 100; i++) {
		fired += items[i].fired;
		ck_assert(!lg_wheel_armed(&items[i].node));
	}
	ck_assert_int_eq(fired, 1);
	crowd_n = 0;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("timer_wheel");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, wheel_fires_at_deadline);
	tcase_add_test(tc, wheel_rearm_and_past_deadlines);
	tcase_add_test(tc, wheel_catches_up_after_a_stall);
	tcase_add_test(tc, wheel_cancel_and_arm_edges);
	tcase_add_test(tc, wheel_fire_may_cancel_others);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
