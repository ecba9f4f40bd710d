/* tests/unit/test_regfile.c - unit tests of common/regfile: files named by
 * a setting are opened only when they are regular files (a FIFO, a
 * directory, a device or a socket is refused at once, without blocking),
 * and read whole up to a limit, never cut. */
#include <check.h>
#include "check_main.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "regfile.h"

static char dir[] = "/tmp/livegate-test-regfile-XXXXXX";
static char path[80];

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/f", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static void write_bytes(size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char block[4096];

	ck_assert_int_ge(fd, 0);
	memset(block, 'r', sizeof block);
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof block ? n - done : sizeof block;
		ck_assert_int_eq(write(fd, block, k), (ssize_t)k);
		done += k;
	}
	ck_assert_int_eq(close(fd), 0);
}

START_TEST(a_regular_file_opens)
{
	char err[256];
	int fd;

	write_bytes(3);
	fd = lg_regfile_open(path, err, sizeof err);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);   /* not inherited by workers */
	close(fd);
}
END_TEST

START_TEST(anything_else_is_refused_at_once)
{
	char err[256], sock_path[sizeof path + 8];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s;

	ck_assert_int_eq(mkfifo(path, 0600), 0);   /* no writer: open(2) would block */
	ck_assert_int_eq(lg_regfile_open(path, err, sizeof err), -1);
	ck_assert_msg(strstr(err, path) && strstr(err, "is not a regular file (a FIFO)"), "%s", err);
	unlink(path);
	ck_assert_int_eq(lg_regfile_open(dir, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "(a directory)"), "%s", err);
	ck_assert_int_eq(lg_regfile_open("/dev/null", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "(a device)"), "%s", err);
	snprintf(sock_path, sizeof sock_path, "%s/s", dir);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sock_path);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(lg_regfile_open(sock_path, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "cannot open") || strstr(err, "(a socket)"), "%s", err);
	close(s);
	unlink(sock_path);
	ck_assert_int_eq(lg_regfile_open(path, err, sizeof err), -1);   /* gone */
	ck_assert_msg(strstr(err, "cannot open") && strstr(err, "No such file"), "%s", err);
}
END_TEST

START_TEST(read_up_to_the_limit_never_cut)
{
	char err[256], *text = NULL;
	size_t len = 0;

	write_bytes(0);
	ck_assert_int_eq(lg_regfile_read(path, 10, &text, &len, err, sizeof err), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(text, "");
	free(text);
	write_bytes(10);
	ck_assert_int_eq(lg_regfile_read(path, 10, &text, &len, err, sizeof err), 0);
	ck_assert_uint_eq(len, 10);
	ck_assert_uint_eq(strlen(text), 10);   /* NUL-terminated */
	free(text);
	write_bytes(11);
	text = NULL;
	ck_assert_int_eq(lg_regfile_read(path, 10, &text, &len, err, sizeof err), -1);
	ck_assert_ptr_null(text);
	ck_assert_msg(strstr(err, "is larger than 10 bytes"), "%s", err);
	/* Larger than one read(2). */
	write_bytes(200000);
	ck_assert_int_eq(lg_regfile_read(path, 200000, &text, &len, err, sizeof err), 0);
	ck_assert_uint_eq(len, 200000);
	free(text);
	ck_assert_int_eq(lg_regfile_read(path, 199999, &text, &len, err, sizeof err), -1);
	ck_assert_int_eq(lg_regfile_read(dir, 10, &text, &len, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "(a directory)"), "%s", err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("regfile");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_regular_file_opens);
	tcase_add_test(tc, anything_else_is_refused_at_once);
	tcase_add_test(tc, read_up_to_the_limit_never_cut);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
