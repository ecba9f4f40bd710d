/* tests/unit/test_ratelimit.c - unit tests of common/ratelimit: at most
 * `burst` lines per window, the lines held back counted in the next one
 * that goes out, windows that start at the first line after the last
 * one ended. */
#include <check.h>
#include "check_main.h"

#include "ratelimit.h"

START_TEST(burst_then_held_then_counted)
{
	struct lg_ratelimit r = { 0, 0, 0 };
	unsigned held = 99;

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(lg_ratelimit_ok(&r, 5000 + (uint64_t)i, 3, 1000, &held), 1);
		ck_assert_uint_eq(held, 0);
	}
	held = 77;
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(lg_ratelimit_ok(&r, 5100, 3, 1000, &held), 0);
	ck_assert_uint_eq(held, 77);   /* untouched while held back */
	ck_assert_uint_eq(r.suppressed, 5);
	/* The window started at 5000: 5999 is still in it, 6000 is not. */
	ck_assert_int_eq(lg_ratelimit_ok(&r, 5999, 3, 1000, &held), 0);
	ck_assert_int_eq(lg_ratelimit_ok(&r, 6000, 3, 1000, &held), 1);
	ck_assert_uint_eq(held, 6);    /* the next line says how many were held */
	ck_assert_uint_eq(r.suppressed, 0);
	ck_assert_int_eq(lg_ratelimit_ok(&r, 6001, 3, 1000, &held), 1);
	ck_assert_uint_eq(held, 0);
}
END_TEST

/* A zeroed limiter at a time below one window is in its first window. */
START_TEST(first_window_from_zero)
{
	struct lg_ratelimit r = { 0, 0, 0 };
	unsigned held;

	ck_assert_int_eq(lg_ratelimit_ok(&r, 10, 1, 1000, &held), 1);
	ck_assert_int_eq(lg_ratelimit_ok(&r, 999, 1, 1000, &held), 0);
	ck_assert_int_eq(lg_ratelimit_ok(&r, 1000, 1, 1000, &held), 1);
	ck_assert_uint_eq(held, 1);
	ck_assert_uint_eq(r.window_start_ms, 1000);
}
END_TEST

/* After a long quiet spell the window restarts at the next line, not on
 * a grid: a burst right after it is allowed whole. */
START_TEST(window_restarts_at_the_next_line)
{
	struct lg_ratelimit r = { 0, 0, 0 };
	unsigned held;

	ck_assert_int_eq(lg_ratelimit_ok(&r, 100, 2, 1000, &held), 1);
	ck_assert_int_eq(lg_ratelimit_ok(&r, 1000000 + 700, 2, 1000, &held), 1);
	ck_assert_uint_eq(r.window_start_ms, 1000700);
	ck_assert_int_eq(lg_ratelimit_ok(&r, 1000000 + 1699, 2, 1000, &held), 1);
	ck_assert_int_eq(lg_ratelimit_ok(&r, 1000000 + 1699, 2, 1000, &held), 0);
}
END_TEST

START_TEST(a_burst_of_zero_holds_everything)
{
	struct lg_ratelimit r = { 0, 0, 0 };
	unsigned held = 5;

	for (uint64_t t = 0; t < 5000; t += 100)
		ck_assert_int_eq(lg_ratelimit_ok(&r, t, 0, 1000, &held), 0);
	ck_assert_uint_eq(r.suppressed, 50);
	ck_assert_uint_eq(held, 5);
}
END_TEST

/* Bounded: however many lines are attempted, at most burst per window go
 * out. */
START_TEST(at_most_burst_per_window)
{
	struct lg_ratelimit r = { 0, 0, 0 };
	unsigned held, out = 0, total_held = 0;

	for (uint64_t t = 0; t < 10000; t++)
		for (int k = 0; k < 3; k++)
			if (lg_ratelimit_ok(&r, t, 10, 1000, &held)) {
				out++;
				total_held += held;
			}
	ck_assert_uint_eq(out, 100);                       /* 10 per second for 10 s */
	ck_assert_uint_eq(total_held + r.suppressed + out, 30000);   /* nothing uncounted */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, burst_then_held_then_counted);
	tcase_add_test(tc, first_window_from_zero);
	tcase_add_test(tc, window_restarts_at_the_next_line);
	tcase_add_test(tc, a_burst_of_zero_holds_everything);
	tcase_add_test(tc, at_most_burst_per_window);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
