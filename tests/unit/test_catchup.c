/* Unit tests of worker/catchup: a publish after the render (minus the
 * slack) is missed, one before is not, a worker that was not watching
 * cannot know, collisions err on the side of a refetch. */
#include <check.h>
#include "check_main.h"
#include <stdio.h>

#include "catchup.h"

#define T0 1764871234000LL   /* some wall-clock ms */
#define W  (T0 - 60000)      /* covered since a minute before */

START_TEST(publish_in_the_gap_is_missed_and_before_it_is_not)
{
	struct lg_catchup *t = lg_catchup_new(42);

	lg_catchup_seen(t, "todos", 5, T0 - 5000);
	/* rendered at T0: the publish 5 s before is in the page */
	ck_assert_int_eq(lg_catchup_missed(t, "todos", 5, T0, 1000, W), 0);
	/* within the slack before the render: counted as missed (the render
	 * may have read its data before the publish) */
	lg_catchup_seen(t, "todos", 5, T0 - 999);
	ck_assert_int_eq(lg_catchup_missed(t, "todos", 5, T0, 1000, W), 1);
	/* after the render */
	lg_catchup_seen(t, "users", 5, T0 + 300);
	ck_assert_int_eq(lg_catchup_missed(t, "users", 5, T0, 1000, W), 1);
	/* a channel never seen */
	ck_assert_int_eq(lg_catchup_missed(t, "orders", 6, T0, 1000, W), 0);
	/* an older time never overwrites a newer one */
	lg_catchup_seen(t, "users", 5, T0 - 100000);
	ck_assert_int_eq(lg_catchup_missed(t, "users", 5, T0, 1000, W), 1);
	lg_catchup_free(t);
}
END_TEST

START_TEST(not_watching_then_cannot_know)
{
	struct lg_catchup *t = lg_catchup_new(7);

	ck_assert_int_eq(lg_catchup_missed(t, "todos", 5, T0, 1000, -1), 1);         /* not covered now */
	ck_assert_int_eq(lg_catchup_missed(t, "todos", 5, T0, 1000, T0 - 500), 1);   /* since after render - slack */
	ck_assert_int_eq(lg_catchup_missed(t, "todos", 5, T0 + 2000, 1000, T0 - 500), 0);
	ck_assert_int_eq(lg_catchup_missed(t, "todos", 5, T0, 1000, T0 - 1000), 0);  /* exactly then: knows */
	lg_catchup_free(t);
}
END_TEST

START_TEST(collisions_only_add_refetches)
{
	struct lg_catchup *t = lg_catchup_new(3);
	char name[32];
	int missed = 0;

	/* 200,000 names seen before the render, then one after: whatever
	 * collides with it reports missed, nothing reports less */
	for (int i = 0; i < 200000; i++) {
		int n = snprintf(name, sizeof name, "ch:%d", i);
		lg_catchup_seen(t, name, (size_t)n, T0 - 10000);
	}
	lg_catchup_seen(t, "hot", 3, T0 + 10);
	ck_assert_int_eq(lg_catchup_missed(t, "hot", 3, T0, 1000, W), 1);
	for (int i = 0; i < 200000; i++) {
		int n = snprintf(name, sizeof name, "ch:%d", i);
		missed += lg_catchup_missed(t, name, (size_t)n, T0, 1000, W);
	}
	/* about 200000/65536 names share "hot"'s slot */
	ck_assert_int_lt(missed, 20);
	lg_catchup_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("catchup");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, publish_in_the_gap_is_missed_and_before_it_is_not);
	tcase_add_test(tc, not_watching_then_cannot_know);
	tcase_add_test(tc, collisions_only_add_refetches);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
