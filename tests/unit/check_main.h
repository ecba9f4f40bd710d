/* tests/unit/check_main.h - runs one Check suite and turns its result into
 * the process exit status (shared by the unit test programs). */
#ifndef LG_TESTS_CHECK_MAIN_H
#define LG_TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

static inline int lg_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
