/* Unit tests of pubsub/conn: one connection on the poll loop, against a
 * loopback socket that this test plays as the server, for what a real
 * Redis cannot be made to do on cue: the write and in-flight bounds (FULL,
 * then room once replies come), a reply to no command, confirmations
 * matched to their command while an unasked sunsubscribe goes to the push
 * handler, and a refused AUTH reported as such with the owner's commands
 * never sent behind it. */
#include <check.h>
#include "check_main.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "loop_poll.h"

static struct ps_poll_loop *PL;
static struct ps_loop L;
static int lfd, port;

/* What the connection told its owner. */
static struct {
	int  ready, closed, room, pushes, unasked, replies, nulls;
	enum ps_conn_fail why;
	char detail[320];
	char last_push[64];
	char last_reply[64];
} E;

static void ev_ready(void *o, struct ps_conn *c) { (void)o; (void)c; E.ready = 1; }

static void ev_push(void *o, struct ps_conn *c, const struct ps_push *p, int solicited)
{
	(void)o;
	(void)c;
	E.pushes++;
	E.unasked += !solicited;
	snprintf(E.last_push, sizeof E.last_push, "%d %.*s", p->kind, (int)p->name_len, p->name);
}

static void ev_closed(void *o, struct ps_conn *c, enum ps_conn_fail why, const char *d)
{
	(void)o;
	(void)c;
	E.closed = 1;
	E.why = why;
	snprintf(E.detail, sizeof E.detail, "%s", d);
}

static void ev_room(void *o, struct ps_conn *c) { (void)o; (void)c; E.room++; }

static const struct ps_conn_events EV = { ev_ready, ev_push, ev_closed, ev_room };

static void on_reply(void *arg, struct ps_conn *c, const redisReply *r)
{
	(void)arg;
	(void)c;
	if (!r) {
		E.nulls++;
		return;
	}
	E.replies++;
	if (r->type == REDIS_REPLY_ARRAY && r->elements)
		snprintf(E.last_reply, sizeof E.last_reply, "array %.*s", (int)r->element[1]->len,
		         r->element[1]->str);
	else
		snprintf(E.last_reply, sizeof E.last_reply, "%d", r->type);
}

static void setup(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;

	memset(&E, 0, sizeof E);
	PL = ps_poll_new();
	ps_loop_poll(&L, PL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
}

static void teardown(void)
{
	close(lfd);
	ps_poll_free(PL);
}

static struct ps_conn *conn(const char *password, size_t max_wbuf, size_t max_inflight)
{
	struct ps_conn_params p = { .host = "127.0.0.1", .port = port, .password = password,
	                            .max_wbuf = max_wbuf, .max_inflight = max_inflight };
	struct ps_conn *c = ps_conn_new(&L, &p, &EV, NULL);

	ck_assert_ptr_nonnull(c);
	return c;
}

/* Runs the loop until *flag is set (or 5 s pass). */
static void run_until(const int *flag)
{
	ck_assert_int_eq(ps_poll_run(PL, flag, ps_mono_ms() + 5000), 0);
}

/* Runs the loop for ms. */
static void run_for(int ms)
{
	int never = 0;
	ps_poll_run(PL, &never, ps_mono_ms() + ms);
}

/* Reads what the client sent within ms. */
static size_t server_read(int fd, char *buf, size_t n, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t got = 0;

	while (got < n - 1 && poll(&p, 1, ms) == 1) {
		ssize_t r = read(fd, buf + got, n - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		ms = 50;
	}
	buf[got] = '\0';
	return got;
}

static void server_write(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static int cmd(struct ps_conn *c, const char *a0, const char *a1)
{
	const char *argv[2] = { a0, a1 };
	size_t lens[2] = { strlen(a0), a1 ? strlen(a1) : 0 };

	return ps_conn_command(c, on_reply, NULL, a1 ? 2 : 1, argv, lens);
}

START_TEST(bounds_then_room)
{
	struct ps_conn *c = conn(NULL, 1 << 20, 10);
	int s, queued = 0, rc;
	char buf[4096];

	run_until(&E.ready);
	s = accept(lfd, NULL, NULL);
	while ((rc = cmd(c, "PING", NULL)) == PS_CMD_QUEUED)
		queued++;
	ck_assert_int_eq(rc, PS_CMD_FULL);
	ck_assert_int_eq(queued, 10);                    /* the in-flight bound */
	ck_assert_uint_eq(ps_conn_inflight(c), 10);
	run_for(100);
	ck_assert_uint_gt(server_read(s, buf, sizeof buf, 1000), 0);
	for (int i = 0; i < 6; i++)
		server_write(s, "+PONG\r\n");
	run_for(200);
	ck_assert_int_eq(E.replies, 6);
	ck_assert_int_eq(E.room, 1);                     /* half the bound is free again */
	ck_assert_int_eq(cmd(c, "PING", NULL), PS_CMD_QUEUED);
	ps_conn_free(c);                                  /* no NULL replies after a free */
	ck_assert_int_eq(E.nulls, 0);
	close(s);
}
END_TEST

START_TEST(write_buffer_bound)
{
	struct ps_conn *c = conn(NULL, 256, 1000);
	char big[200];
	int queued = 0;

	memset(big, 'b', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	/* Not connected yet: everything waits in the buffer. */
	while (cmd(c, "ECHO", big) == PS_CMD_QUEUED)
		queued++;
	ck_assert_int_eq(queued, 2);   /* the second took it past 256 bytes */
	ps_conn_free(c);
}
END_TEST

START_TEST(reply_to_no_command_is_a_protocol_error)
{
	struct ps_conn *c = conn(NULL, 0, 0);
	int s;

	run_until(&E.ready);
	s = accept(lfd, NULL, NULL);
	server_write(s, "+OK\r\n");
	run_until(&E.closed);
	ck_assert_int_eq(E.why, PS_CONN_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(E.detail, "reply to no command"));
	ps_conn_free(c);
	close(s);
}
END_TEST

START_TEST(confirmations_find_their_command)
{
	struct ps_conn *c = conn(NULL, 0, 0);
	const char *argv[2] = { "SSUBSCRIBE", "x" };
	size_t lens[2] = { 10, 1 };
	int s;

	run_until(&E.ready);
	s = accept(lfd, NULL, NULL);
	ck_assert_int_eq(ps_conn_command(c, on_reply, NULL, 2, argv, lens), PS_CMD_QUEUED);
	ck_assert_int_eq(cmd(c, "PING", NULL), PS_CMD_QUEUED);
	/* a subscribe-family command names one channel */
	{
		const char *two[3] = { "SSUBSCRIBE", "a", "b" };
		size_t tl[3] = { 10, 1, 1 };
		ck_assert_int_eq(ps_conn_command(c, on_reply, NULL, 3, two, tl), PS_CMD_FAILED);
	}
	/* the slot of y moved away: unasked, before x's confirmation */
	server_write(s, "*3\r\n$12\r\nsunsubscribe\r\n$1\r\ny\r\n:0\r\n"
	                "*3\r\n$10\r\nssubscribe\r\n$1\r\nx\r\n:1\r\n"
	                "*3\r\n$8\r\nsmessage\r\n$1\r\nx\r\n$2\r\nhi\r\n"
	                "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
	run_for(300);
	ck_assert_int_eq(E.unasked, 2);                   /* sunsubscribe y, smessage */
	ck_assert_str_eq(E.last_push, "3 x");             /* PS_PUSH_SMESSAGE on x */
	ck_assert_int_eq(E.replies, 2);                   /* x's confirmation, the PING */
	ck_assert_int_eq(E.closed, 0);
	ps_conn_free(c);
	close(s);
}
END_TEST

START_TEST(auth_refused_is_reported_and_nothing_else_is_sent)
{
	struct ps_conn *c = conn("wrong-password", 0, 0);
	char buf[4096];
	int s;

	ck_assert_int_eq(cmd(c, "PSUBSCRIBE", "p*"), PS_CMD_QUEUED);   /* queued before connect */
	run_for(100);
	s = accept(lfd, NULL, NULL);
	server_read(s, buf, sizeof buf, 1000);
	ck_assert_ptr_nonnull(strstr(buf, "AUTH"));
	ck_assert_ptr_null(strstr(buf, "PSUBSCRIBE"));    /* held behind AUTH */
	server_write(s, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	run_until(&E.closed);
	ck_assert_int_eq(E.why, PS_CONN_AUTH);
	ck_assert_ptr_nonnull(strstr(E.detail, "AUTH refused"));
	ck_assert_ptr_nonnull(strstr(E.detail, "WRONGPASS"));
	ck_assert_ptr_null(strstr(E.detail, "wrong-password"));
	ck_assert_int_eq(E.nulls, 1);                     /* the PSUBSCRIBE's NULL reply */
	ck_assert_int_eq(E.ready, 0);
	server_read(s, buf, sizeof buf, 200);
	ck_assert_ptr_null(strstr(buf, "PSUBSCRIBE"));
	ps_conn_free(c);
	close(s);
}
END_TEST

START_TEST(noauth_from_a_later_command_is_an_auth_failure)
{
	struct ps_conn *c = conn(NULL, 0, 0);
	int s;

	run_until(&E.ready);
	s = accept(lfd, NULL, NULL);
	ck_assert_int_eq(cmd(c, "PSUBSCRIBE", "p*"), PS_CMD_QUEUED);
	server_write(s, "-NOAUTH Authentication required.\r\n");
	run_until(&E.closed);
	ck_assert_int_eq(E.why, PS_CONN_AUTH);
	ck_assert_ptr_nonnull(strstr(E.detail, "requires a password"));
	ps_conn_free(c);
	close(s);
}
END_TEST

START_TEST(refused_connect)
{
	struct ps_conn *c;

	close(lfd);   /* nobody listens on the port now */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	c = conn(NULL, 0, 0);
	run_until(&E.closed);
	ck_assert_int_eq(E.why, PS_CONN_CONNECT);
	ck_assert_ptr_nonnull(strstr(E.detail, "refused"));
	ps_conn_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("conn");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bounds_then_room);
	tcase_add_test(tc, write_buffer_bound);
	tcase_add_test(tc, reply_to_no_command_is_a_protocol_error);
	tcase_add_test(tc, confirmations_find_their_command);
	tcase_add_test(tc, auth_refused_is_reported_and_nothing_else_is_sent);
	tcase_add_test(tc, noauth_from_a_later_command_is_an_auth_failure);
	tcase_add_test(tc, refused_connect);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
