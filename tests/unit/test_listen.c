/* tests/unit/test_listen.c - unit tests of common/listen: the listeners'
 * sockets on loopback (close-on-exec; shared ones non-blocking with
 * SO_REUSEPORT), the probe that finds a port already held, and the one
 * line naming the setting when a bind fails. */
#include <check.h>
#include "check_main.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

/* A loopback address on a port the kernel just handed out (free now). */
static struct lg_addr free_addr(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	struct lg_addr a;
	char text[32], err[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	snprintf(text, sizeof text, "127.0.0.1:%u", ntohs(sin.sin_port));
	ck_assert_int_eq(lg_addr_parse(&a, text, err, sizeof err), 0);
	return a;
}

static int opt(int fd, int name)
{
	int v = 0;
	socklen_t l = sizeof v;

	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, name, &v, &l), 0);
	return v;
}

START_TEST(a_private_listener)
{
	struct lg_addr a = free_addr();
	char err[256];
	int fd = lg_listen(&a, "LIVEGATE_PRIVATE_ADDR", 0, 16, err, sizeof err);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(opt(fd, SO_REUSEPORT), 0);
	ck_assert_int_ne(opt(fd, SO_ACCEPTCONN), 0);
	/* The port is now held: the probe and a second listener say so,
	 * naming the setting. */
	ck_assert_int_eq(lg_listen_check_free(&a, "LIVEGATE_PRIVATE_ADDR", err, sizeof err), -1);
	ck_assert_msg(strncmp(err, "LIVEGATE_PRIVATE_ADDR: cannot listen on 127.0.0.1:", 50) == 0 &&
	              strstr(err, "already in use"), "%s", err);
	ck_assert_int_eq(lg_listen(&a, "LIVEGATE_PRIVATE_ADDR", 0, 16, err, sizeof err), -1);
	ck_assert_ptr_null(strchr(err, '\n'));
	close(fd);
	ck_assert_int_eq(lg_listen_check_free(&a, "LIVEGATE_PRIVATE_ADDR", err, sizeof err), 0);
}
END_TEST

/* Shared sockets: one per worker on one port, each with its own queue. */
START_TEST(shared_listeners)
{
	struct lg_addr a = free_addr();
	char err[256];
	int one, two;

	ck_assert_int_eq(lg_listen_check_free(&a, "LIVEGATE_PUBLIC_ADDR", err, sizeof err), 0);
	one = lg_listen(&a, "LIVEGATE_PUBLIC_ADDR", 1, 16, err, sizeof err);
	two = lg_listen(&a, "LIVEGATE_PUBLIC_ADDR", 1, 16, err, sizeof err);
	ck_assert_int_ge(one, 0);
	ck_assert_int_ge(two, 0);
	ck_assert_int_ne(opt(one, SO_REUSEPORT), 0);
	ck_assert_int_ne(fcntl(one, F_GETFL) & O_NONBLOCK, 0);
	/* The probe sets no SO_REUSEPORT, so it sees them: a second livegate
	 * is refused instead of taking a share of the connections. */
	ck_assert_int_eq(lg_listen_check_free(&a, "LIVEGATE_PUBLIC_ADDR", err, sizeof err), -1);
	close(one);
	close(two);
}
END_TEST

START_TEST(an_address_that_cannot_be_bound)
{
	struct lg_addr a;
	char err[256];

	/* 192.0.2.1 (TEST-NET-1) is no address of this machine. */
	ck_assert_int_eq(lg_addr_parse(&a, "192.0.2.1:8080", err, sizeof err), 0);
	ck_assert_int_eq(lg_listen(&a, "LIVEGATE_PUBLIC_ADDR", 0, 16, err, sizeof err), -1);
	ck_assert_msg(strncmp(err, "LIVEGATE_PUBLIC_ADDR: cannot listen on 192.0.2.1:8080: ", 55) == 0,
	              "%s", err);
	ck_assert_int_eq(lg_listen_check_free(&a, "LIVEGATE_PUBLIC_ADDR", err, sizeof err), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("listen");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, a_private_listener);
	tcase_add_test(tc, shared_listeners);
	tcase_add_test(tc, an_address_that_cannot_be_bound);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
