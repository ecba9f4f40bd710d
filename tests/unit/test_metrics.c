/* tests/unit/test_metrics.c - unit tests of common/metrics: counters
 * written by several threads lose no increment, and the Prometheus text
 * carries every counter. */
#include <check.h>
#include "check_main.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "metrics.h"

#define THREADS    4
#define PER_THREAD 2000000

static struct lg_shared *shm;

static void *bump(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++)
		lg_add_mt(&shm->tokens_issued, 1);
	return NULL;
}

/* The API counters are written from libmicrohttpd's threads at once. */
START_TEST(concurrent_adds_are_all_counted)
{
	pthread_t t[THREADS];
	int fd;

	shm = lg_metrics_create(&fd);
	ck_assert_ptr_nonnull(shm);
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, bump, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(lg_get(&shm->tokens_issued), (uint64_t)THREADS * PER_THREAD);
	munmap(shm, sizeof *shm);
	close(fd);
}
END_TEST

START_TEST(render_lists_the_api_counters)
{
	char *text;
	size_t len;
	int fd;

	shm = lg_metrics_create(&fd);
	ck_assert_ptr_nonnull(shm);
	lg_add_mt(&shm->tokens_issued, 3);
	lg_add_mt(&shm->api_publishes, 5);
	lg_add_mt(&shm->api_errors, 7);
	ck_assert_int_eq(lg_metrics_render(shm, &text, &len), 0);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_ptr_nonnull(strstr(text, "\nlivegate_tokens_issued_total 3\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nlivegate_api_publishes_total 5\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nlivegate_api_publish_errors_total 7\n"));
	free(text);
	munmap(shm, sizeof *shm);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, concurrent_adds_are_all_counted);
	tcase_add_test(tc, render_lists_the_api_counters);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
