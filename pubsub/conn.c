/* pubsub/conn.c - one Redis connection: resolve, connect, TLS, AUTH and
 * SELECT, FIFO replies, pushes, liveness.
 *
 * States run forward only: START (a 0 ms timer, so that nothing is
 * reported from inside ps_conn_new) -> RESOLVING -> CONNECTING -> TLS ->
 * HANDSHAKE (AUTH/SELECT replies awaited) -> READY, or FAILED from any.
 * The owner's commands wait in the write buffer behind the handshake's
 * (wallow stops the writer there), so none runs before AUTH succeeded and
 * a refused AUTH is reported as itself, not as the next command's NOAUTH.
 *
 * Re-entrancy: every entry from the loop holds `depth`; an owner callback
 * may free the connection, which then only marks it, and the outermost
 * entry frees it on the way out.
 */
#include "conn.h"
#include "clock.h"
#include "resolve.h"
#include "redis_url.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>

#define MAX_ADDRS    8
#define READ_CHUNK   16384
#define READ_BUDGET  (64 * 1024)    /* per wake-up, so the owner's other work */
                                    /* gets its turn; the loop calls again */
#define NO_LIMIT     SIZE_MAX

enum state { ST_START, ST_RESOLVING, ST_CONNECTING, ST_TLS, ST_HANDSHAKE, ST_READY, ST_FAILED };

struct entry {
	ps_reply_fn      *cb;
	void             *arg;
	uint64_t          hash;     /* of the channel, for a subscribe-family command */
	enum ps_push_kind expect;   /* its confirmation kind, or NONE              */
};

struct ps_conn {
	struct ps_loop               loop;
	struct ps_conn_params        p;
	char                        *host, *user, *password;
	const struct ps_conn_events *ev;
	void                        *owner;
	enum state                   state;
	int                          fd;
	void                        *io;
	int                          io_events;
	void                        *timer;
	struct ps_resolve           *res;
	struct sockaddr_storage      addrs[MAX_ADDRS];
	socklen_t                    alens[MAX_ADDRS];
	int                          naddrs, addr_i;
	SSL                         *ssl;
	struct ps_reader            *reader;
	char                        *wbuf;
	size_t                       wlen, wpos, wcap;
	size_t                       wallow;      /* bytes from wpos the writer may send */
	struct entry                *q;           /* ring of commands awaiting replies */
	size_t                       qcap, qhead, qlen;
	int                          hs_pending;  /* handshake replies awaited */
	int64_t                      last_rx, ping_at;
	int                          ping_out;
	int                          depth, freed, want_room;
	char                         name[PS_REDIS_HOST_MAX + 16];
	char                         why[256];    /* the last connect error */
};

static const char *const fail_names[] = {
	[PS_CONN_RESOLVE] = "resolve", [PS_CONN_CONNECT] = "connect", [PS_CONN_TLS] = "tls",
	[PS_CONN_AUTH] = "auth", [PS_CONN_SETUP] = "setup", [PS_CONN_TIMEOUT] = "timeout",
	[PS_CONN_EOF] = "eof", [PS_CONN_IO] = "io", [PS_CONN_PROTOCOL] = "protocol",
	[PS_CONN_DEAD] = "dead", [PS_CONN_OOM] = "oom",
};

const char *ps_conn_fail_name(enum ps_conn_fail why)
{
	if ((size_t)why < sizeof fail_names / sizeof fail_names[0] && fail_names[why])
		return fail_names[why];
	return "unknown";
}

void ps_conn_defaults(struct ps_conn_params *p)
{
	if (!p->connect_timeout_ms)
		p->connect_timeout_ms = 5000;
	if (!p->max_wbuf)
		p->max_wbuf = 4u << 20;
	if (!p->max_inflight)
		p->max_inflight = 65536;
	if (!p->max_reply)
		p->max_reply = 8u << 20;
	if (p->idle_ms && !p->dead_ms)
		p->dead_ms = p->idle_ms;
}

/* --- plumbing ------------------------------------------------------------------ */

static void set_io(struct ps_conn *c, int events)
{
	if (c->io && c->io_events != events) {
		c->io_events = events;
		c->loop.ops->io_set(c->loop.loop, c->io, events);
	}
}

static void arm(struct ps_conn *c, unsigned ms)
{
	c->loop.ops->timer_arm(c->loop.loop, c->timer, ms);
}

static void close_socket(struct ps_conn *c)
{
	if (c->io) {
		c->loop.ops->io_free(c->loop.loop, c->io);
		c->io = NULL;
		c->io_events = 0;
	}
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

static void destroy(struct ps_conn *c)
{
	close_socket(c);
	ps_resolve_cancel(c->res);
	c->loop.ops->timer_free(c->loop.loop, c->timer);
	ps_reader_free(c->reader);
	ps_tls_unref(c->p.tls);
	free(c->wbuf);
	free(c->q);
	free(c->host);
	free(c->user);
	if (c->password) {
		memset(c->password, 0, strlen(c->password));
		free(c->password);
	}
	free(c);
}

static void enter(struct ps_conn *c)
{
	c->depth++;
}

/* Leaves an entry from the loop; returns 1 if c is gone. */
static int leave(struct ps_conn *c)
{
	if (--c->depth == 0 && c->freed) {
		destroy(c);
		return 1;
	}
	return 0;
}

static int gone(const struct ps_conn *c)
{
	return c->freed || c->state == ST_FAILED;
}

/* Fails the connection once: NULL replies to what waits, then closed. */
static void fail(struct ps_conn *c, enum ps_conn_fail why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct ps_conn *c, enum ps_conn_fail why, const char *fmt, ...)
{
	char detail[320];
	va_list ap;

	if (gone(c))
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	c->state = ST_FAILED;
	close_socket(c);
	c->loop.ops->timer_stop(c->loop.loop, c->timer);
	while (c->qlen && !c->freed) {
		struct entry e = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
		if (e.cb)
			e.cb(e.arg, c, NULL);
	}
	if (!c->freed)
		c->ev->closed(c->owner, c, why, detail);
}

/* --- the write side ------------------------------------------------------------- */

/* Appends buf to the write buffer. Returns 0 or -1 (out of memory). */
static int wappend(struct ps_conn *c, const char *buf, size_t n)
{
	if (c->wpos && c->wpos == c->wlen) {
		if (c->wallow != NO_LIMIT)
			c->wallow = 0;
		c->wpos = c->wlen = 0;
	}
	if (c->wlen + n > c->wcap) {
		size_t cap = c->wcap ? c->wcap : 1024;
		char *nb;
		if (c->wpos) {   /* make room by moving what is left to the front */
			memmove(c->wbuf, c->wbuf + c->wpos, c->wlen - c->wpos);
			c->wlen -= c->wpos;
			c->wpos = 0;
		}
		while (cap < c->wlen + n)
			cap *= 2;
		if (cap > c->wcap) {
			nb = realloc(c->wbuf, cap);
			if (!nb)
				return -1;
			c->wbuf = nb;
			c->wcap = cap;
		}
	}
	memcpy(c->wbuf + c->wlen, buf, n);
	c->wlen += n;
	return 0;
}

/* Appends an entry to the reply ring. Returns 0 or -1. */
static int qpush(struct ps_conn *c, const struct entry *e)
{
	if (c->qlen == c->qcap) {
		size_t cap = c->qcap ? c->qcap * 2 : 16;
		struct entry *nq = malloc(cap * sizeof *nq);
		if (!nq)
			return -1;
		for (size_t i = 0; i < c->qlen; i++)
			nq[i] = c->q[(c->qhead + i) % c->qcap];
		free(c->q);
		c->q = nq;
		c->qcap = cap;
		c->qhead = 0;
	}
	c->q[(c->qhead + c->qlen) % c->qcap] = *e;
	c->qlen++;
	return 0;
}

static size_t writable_now(const struct ps_conn *c)
{
	size_t n = c->wlen - c->wpos;
	return n < c->wallow ? n : c->wallow;
}

/* The events to watch for the current state. */
static void want_events(struct ps_conn *c)
{
	if (c->state == ST_CONNECTING)
		set_io(c, PS_IO_WRITE);
	else if (c->state >= ST_HANDSHAKE && c->state != ST_FAILED)
		set_io(c, PS_IO_READ | (writable_now(c) ? PS_IO_WRITE : 0));
}

/* A TLS write failed: the server has usually said why in an alert (a
 * client certificate it wants, say) that a read picks up. */
static void tls_write_failed(struct ps_conn *c, int e)
{
	char buf[256], why[200];
	int saved = errno;

	ERR_clear_error();
	(void)SSL_read(c->ssl, buf, sizeof buf);
	ps_tls_why(c->ssl, why, sizeof why);
	if (!strcmp(why, "TLS handshake failed"))   /* nothing better than errno */
		snprintf(why, sizeof why, "%s", e == SSL_ERROR_SYSCALL && saved ? strerror(saved)
		                                                               : "write failed");
	fail(c, PS_CONN_IO, "TLS write to %s: %s", c->name, why);
}

/* Writes what may be written. Returns 0, or -1 after failing c. */
static int flush(struct ps_conn *c)
{
	while (writable_now(c)) {
		size_t n = writable_now(c);
		ssize_t w;

		if (n > INT32_MAX)
			n = INT32_MAX;
		if (c->ssl) {
			int r;
			ERR_clear_error();
			r = SSL_write(c->ssl, c->wbuf + c->wpos, (int)n);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					break;
				tls_write_failed(c, e);
				return -1;
			}
			w = r;
		} else {
			w = send(c->fd, c->wbuf + c->wpos, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				fail(c, PS_CONN_IO, "write to %s: %s", c->name, strerror(errno));
				return -1;
			}
		}
		c->wpos += (size_t)w;
		if (c->wallow != NO_LIMIT)
			c->wallow -= (size_t)w;
	}
	if (c->wpos == c->wlen) {
		c->wpos = c->wlen = 0;
		if (c->wallow != NO_LIMIT)
			c->wallow = 0;
	}
	want_events(c);
	return 0;
}

/* Tells the owner there is room again after a refusal. */
static void maybe_room(struct ps_conn *c)
{
	if (!c->want_room || c->state != ST_READY)
		return;
	if (c->wlen - c->wpos > c->p.max_wbuf / 2 || c->qlen > c->p.max_inflight / 2)
		return;
	c->want_room = 0;
	if (c->ev->room)
		c->ev->room(c->owner, c);
}

/* Encodes and queues a command; limits are the caller's business. */
static int queue(struct ps_conn *c, const struct entry *e, int argc, const char **argv,
                 const size_t *lens)
{
	char *cmd;
	long n = ps_resp_format(&cmd, argc, argv, lens);
	int rc;

	if (n < 0)
		return -1;
	rc = qpush(c, e);
	if (rc == 0 && wappend(c, cmd, (size_t)n) < 0) {
		c->qlen--;   /* undo the entry just pushed */
		rc = -1;
	}
	free(cmd);
	return rc;
}

int ps_conn_command(struct ps_conn *c, ps_reply_fn *cb, void *arg,
                    int argc, const char **argv, const size_t *lens)
{
	struct entry e = { cb, arg, 0, PS_PUSH_NONE };
	size_t buffered;

	if (!c || gone(c) || argc < 1)
		return PS_CMD_FAILED;
	e.expect = ps_resp_command_kind(argv[0], lens[0]);
	if (e.expect != PS_PUSH_NONE) {
		if (argc != 2)
			return PS_CMD_FAILED;
		e.hash = ps_hash64(argv[1], lens[1]);
	}
	buffered = c->wlen - c->wpos;
	if (buffered >= c->p.max_wbuf || c->qlen >= c->p.max_inflight) {
		c->want_room = 1;
		return PS_CMD_FULL;
	}
	if (queue(c, &e, argc, argv, lens) < 0)
		return PS_CMD_FAILED;
	if (c->state == ST_READY)
		want_events(c);
	return PS_CMD_QUEUED;
}

/* --- the read side -------------------------------------------------------------- */

static void start_liveness(struct ps_conn *c);
static void dispatch(struct ps_conn *c, redisReply *r);

/* Reads what the socket holds, up to a budget. Returns 0, or -1 after
 * failing c. */
static int read_some(struct ps_conn *c)
{
	char buf[READ_CHUNK];
	size_t budget = READ_BUDGET;

	/* TLS keeps decrypted bytes the poller cannot see: drain those too. */
	while (budget > 0 || (c->ssl && SSL_pending(c->ssl) > 0)) {
		ssize_t n;

		if (c->ssl) {
			int r;
			ERR_clear_error();
			r = SSL_read(c->ssl, buf, sizeof buf);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return 0;
				if (e == SSL_ERROR_ZERO_RETURN) {
					fail(c, PS_CONN_EOF, "%s closed the connection", c->name);
				} else {
					char why[200];
					ps_tls_why(c->ssl, why, sizeof why);
					fail(c, e == SSL_ERROR_SYSCALL ? PS_CONN_EOF : PS_CONN_IO,
					     "TLS read from %s: %s", c->name,
					     e == SSL_ERROR_SYSCALL ? "connection closed" : why);
				}
				return -1;
			}
			n = r;
		} else {
			n = recv(c->fd, buf, sizeof buf, 0);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return 0;
				fail(c, PS_CONN_IO, "read from %s: %s", c->name, strerror(errno));
				return -1;
			}
			if (n == 0) {
				fail(c, PS_CONN_EOF, "%s closed the connection", c->name);
				return -1;
			}
		}
		c->last_rx = ps_mono_ms();
		budget = (size_t)n < budget ? budget - (size_t)n : 0;
		if (ps_reader_feed(c->reader, buf, (size_t)n) < 0) {
			fail(c, PS_CONN_OOM, "reading from %s: out of memory", c->name);
			return -1;
		}
		for (;;) {
			redisReply *r;
			int rc = ps_reader_next(c->reader, &r);
			if (rc == 0)
				break;
			if (rc < 0) {
				fail(c, PS_CONN_PROTOCOL, "from %s: %s", c->name, ps_reader_error(c->reader));
				return -1;
			}
			dispatch(c, r);
			freeReplyObject(r);
			if (gone(c))
				return -1;
		}
	}
	return 0;
}

/* Pops the oldest entry. */
static struct entry qpop(struct ps_conn *c)
{
	struct entry e = c->q[c->qhead];

	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
	return e;
}

static void dispatch(struct ps_conn *c, redisReply *r)
{
	struct ps_push p;
	enum ps_push_kind k = ps_resp_classify(r, &p);

	if (k != PS_PUSH_NONE && !ps_push_is_confirmation(k)) {
		if (c->ev->push)
			c->ev->push(c->owner, c, &p, 0);
		return;
	}
	if (k != PS_PUSH_NONE) {
		/* A confirmation answers the oldest command if that command asked
		 * for it; anything else was sent unasked. */
		if (c->qlen && c->q[c->qhead].expect == k &&
		    c->q[c->qhead].hash == ps_hash64(p.name, p.name_len)) {
			struct entry e = qpop(c);
			if (e.cb)
				e.cb(e.arg, c, r);
			else if (c->ev->push)
				c->ev->push(c->owner, c, &p, 1);
		} else if (c->ev->push) {
			c->ev->push(c->owner, c, &p, 0);
		}
		maybe_room(c);
		return;
	}
	if (!c->qlen) {
		fail(c, PS_CONN_PROTOCOL, "%s sent a reply to no command", c->name);
		return;
	}
	/* A server that wants a password refuses everything with NOAUTH:
	 * report that, not the refused command. */
	if (r->type == REDIS_REPLY_ERROR && ps_resp_error(r->str, r->len, NULL) == PS_ERR_AUTH &&
	    strncmp(r->str, "NOAUTH", 6) == 0) {
		fail(c, PS_CONN_AUTH, "%s requires a password (%s)", c->name, r->str);
		return;
	}
	{
		struct entry e = qpop(c);
		if (e.cb)
			e.cb(e.arg, c, r);
	}
	maybe_room(c);
}

/* --- handshake --------------------------------------------------------------------- */

static void hs_done(struct ps_conn *c)
{
	c->state = ST_READY;
	c->wallow = NO_LIMIT;
	start_liveness(c);
	if (c->ev->ready)
		c->ev->ready(c->owner, c);
	if (!gone(c))
		flush(c);
}

static void on_auth(void *arg, struct ps_conn *c, const redisReply *r)
{
	(void)arg;
	if (!r)
		return;
	/* Where AUTH is optional, a server that does need a password refuses
	 * the next command with NOAUTH, which fails the connection then. */
	if (r->type == REDIS_REPLY_ERROR && !c->p.auth_optional) {
		fail(c, PS_CONN_AUTH, "AUTH refused by %s: %s", c->name, r->str);
		return;
	}
	if (--c->hs_pending == 0)
		hs_done(c);
}

static void on_select(void *arg, struct ps_conn *c, const redisReply *r)
{
	(void)arg;
	if (!r)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		fail(c, PS_CONN_SETUP, "SELECT %d refused by %s: %s", c->p.db, c->name, r->str);
		return;
	}
	if (--c->hs_pending == 0)
		hs_done(c);
}

/* Queues AUTH and SELECT, at creation, so they come before any command of
 * the owner; wallow holds the owner's back until they are answered.
 * Returns 0 or -1. */
static int queue_handshake(struct ps_conn *c)
{
	const char *argv[3];
	size_t lens[3];
	int rc = 0;

	if (c->password) {
		struct entry e = { on_auth, NULL, 0, PS_PUSH_NONE };
		int argc = 0;
		argv[argc] = "AUTH"; lens[argc++] = 4;
		if (c->user) {
			argv[argc] = c->user; lens[argc++] = strlen(c->user);
		}
		argv[argc] = c->password; lens[argc++] = strlen(c->password);
		rc |= queue(c, &e, argc, argv, lens);
		c->hs_pending++;
	}
	if (c->p.db > 0) {
		struct entry e = { on_select, NULL, 0, PS_PUSH_NONE };
		char db[16];
		snprintf(db, sizeof db, "%d", c->p.db);
		argv[0] = "SELECT"; lens[0] = 6;
		argv[1] = db; lens[1] = strlen(db);
		rc |= queue(c, &e, 2, argv, lens);
		c->hs_pending++;
	}
	c->wallow = c->wlen;
	return rc;
}

static void connected(struct ps_conn *c)
{
	c->state = ST_HANDSHAKE;
	c->last_rx = ps_mono_ms();
	if (c->hs_pending == 0) {
		hs_done(c);
		return;
	}
	flush(c);
}

/* --- TLS ------------------------------------------------------------------------------ */

static void tls_step(struct ps_conn *c)
{
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		connected(c);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		set_io(c, PS_IO_READ);
	} else if (e == SSL_ERROR_WANT_WRITE) {
		set_io(c, PS_IO_WRITE);
	} else {
		char why[200];
		ps_tls_why(c->ssl, why, sizeof why);
		if (e == SSL_ERROR_SYSCALL && !strcmp(why, "TLS handshake failed"))
			snprintf(why, sizeof why, "connection closed during the TLS handshake");
		fail(c, PS_CONN_TLS, "TLS with %s: %s", c->name, why);
	}
}

static void start_tls(struct ps_conn *c)
{
	char err[200];

	c->ssl = ps_tls_session(c->p.tls, c->fd, c->host, err, sizeof err);
	if (!c->ssl) {
		fail(c, PS_CONN_TLS, "TLS with %s: %s", c->name, err);
		return;
	}
	c->state = ST_TLS;
	tls_step(c);
}

/* --- connecting -------------------------------------------------------------------------- */

static void on_io(void *arg, int revents);

static void tcp_up(struct ps_conn *c)
{
	int one = 1;

	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	(void)setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	if (c->p.tls)
		start_tls(c);
	else
		connected(c);
}

/* Tries the addresses from addr_i on until one connects or is in progress. */
static void try_next(struct ps_conn *c)
{
	while (c->addr_i < c->naddrs) {
		struct sockaddr_storage *sa = &c->addrs[c->addr_i];
		socklen_t len = c->alens[c->addr_i++];
		int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			snprintf(c->why, sizeof c->why, "socket: %s", strerror(errno));
			continue;
		}
		c->fd = fd;
		c->io = c->loop.ops->io_new(c->loop.loop, fd, on_io, c);
		if (!c->io) {
			close_socket(c);
			fail(c, PS_CONN_OOM, "connect %s: out of memory", c->name);
			return;
		}
		if (connect(fd, (struct sockaddr *)sa, len) == 0) {
			tcp_up(c);
			return;
		}
		if (errno == EINPROGRESS) {
			c->state = ST_CONNECTING;
			want_events(c);
			return;
		}
		snprintf(c->why, sizeof c->why, "%s", strerror(errno));
		close_socket(c);
	}
	fail(c, PS_CONN_CONNECT, "connect %s: %s", c->name, c->why[0] ? c->why : "no address");
}

static void connect_done(struct ps_conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0) {
		tcp_up(c);
		return;
	}
	snprintf(c->why, sizeof c->why, "%s", strerror(err));
	close_socket(c);
	try_next(c);
}

static void on_resolved(void *arg, const struct addrinfo *res, const char *why)
{
	struct ps_conn *c = arg;

	enter(c);
	c->res = NULL;
	if (!res) {
		fail(c, PS_CONN_RESOLVE, "%s", why);
	} else {
		for (const struct addrinfo *a = res; a && c->naddrs < MAX_ADDRS; a = a->ai_next) {
			if (a->ai_addrlen > sizeof c->addrs[0])
				continue;
			memcpy(&c->addrs[c->naddrs], a->ai_addr, a->ai_addrlen);
			c->alens[c->naddrs++] = a->ai_addrlen;
		}
		try_next(c);
	}
	leave(c);
}

static void on_io(void *arg, int revents)
{
	struct ps_conn *c = arg;

	enter(c);
	switch (c->state) {
	case ST_CONNECTING:
		connect_done(c);
		break;
	case ST_TLS:
		tls_step(c);
		break;
	case ST_HANDSHAKE:
	case ST_READY:
		if ((revents & PS_IO_READ) && read_some(c) < 0)
			break;
		if (!gone(c))
			flush(c);
		break;
	default:
		break;
	}
	leave(c);
}

/* --- timers: start, connect timeout, liveness --------------------------------------------- */

static void start_liveness(struct ps_conn *c)
{
	c->ping_out = 0;
	if (c->p.idle_ms)
		arm(c, c->p.idle_ms);
	else
		c->loop.ops->timer_stop(c->loop.loop, c->timer);
}

static void on_pong(void *arg, struct ps_conn *c, const redisReply *r)
{
	(void)arg;
	(void)r;
	c->ping_out = 0;
}

/* Returns 1 if the socket holds bytes not read yet. */
static int unread_bytes(const struct ps_conn *c)
{
	int n = 0;

	if (c->ssl && SSL_pending(c->ssl) > 0)
		return 1;
	return ioctl(c->fd, FIONREAD, &n) == 0 && n > 0;
}

static void liveness(struct ps_conn *c)
{
	int64_t now = ps_mono_ms(), quiet = now - c->last_rx;
	const char *ping[] = { "PING" };
	const size_t ping_len[] = { 4 };

	if (quiet < (int64_t)c->p.idle_ms) {
		arm(c, (unsigned)(c->p.idle_ms - quiet));
		return;
	}
	if (!c->ping_out) {
		struct entry e = { on_pong, NULL, 0, PS_PUSH_NONE };
		if (queue(c, &e, 1, ping, ping_len) < 0) {
			fail(c, PS_CONN_OOM, "PING to %s: out of memory", c->name);
			return;
		}
		c->ping_out = 1;
		c->ping_at = now;
		arm(c, c->p.dead_ms);
		flush(c);
		return;
	}
	if (now - c->ping_at < (int64_t)c->p.dead_ms) {
		arm(c, (unsigned)(c->p.dead_ms - (now - c->ping_at)));
		return;
	}
	if (unread_bytes(c)) {   /* the answer waits behind what we have not read */
		arm(c, c->p.dead_ms);
		return;
	}
	fail(c, PS_CONN_DEAD, "%s read nothing for %lld ms and did not answer PING",
	     c->name, (long long)quiet);
}

static void start(struct ps_conn *c)
{
	arm(c, c->p.connect_timeout_ms);
	c->state = ST_RESOLVING;
	/* A numeric host answers at once, from inside this call. */
	c->res = ps_resolve_start(&c->loop, c->host, c->p.port, on_resolved, c);
}

static void on_timer(void *arg)
{
	struct ps_conn *c = arg;

	enter(c);
	switch (c->state) {
	case ST_START:
		start(c);
		break;
	case ST_READY:
		liveness(c);
		break;
	case ST_FAILED:
		break;
	default:
		fail(c, PS_CONN_TIMEOUT, "%s: no connection within %u ms (%s)", c->name,
		     c->p.connect_timeout_ms, ps_conn_stage(c));
		break;
	}
	leave(c);
}

/* --- life cycle ------------------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

struct ps_conn *ps_conn_new(const struct ps_loop *loop, const struct ps_conn_params *p,
                            const struct ps_conn_events *ev, void *owner)
{
	struct ps_conn *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->loop = *loop;
	c->p = *p;
	ps_conn_defaults(&c->p);
	c->ev = ev;
	c->owner = owner;
	c->fd = -1;
	c->state = ST_START;
	c->host = strdup(p->host);
	c->user = dup_or_null(p->user);
	c->password = dup_or_null(p->password);
	c->reader = ps_reader_new(c->p.max_reply, 1u << 20);
	c->timer = loop->ops->timer_new(loop->loop, on_timer, c);
	if (!c->host || (p->user && *p->user && !c->user) ||
	    (p->password && *p->password && !c->password) || !c->reader || !c->timer) {
		c->p.tls = NULL;
		destroy(c);
		return NULL;
	}
	ps_tls_ref(c->p.tls);
	ps_redis_hostport(c->host, p->port, c->name, sizeof c->name);
	if (queue_handshake(c) < 0) {
		destroy(c);
		return NULL;
	}
	arm(c, 0);
	return c;
}

void ps_conn_free(struct ps_conn *c)
{
	if (!c)
		return;
	if (c->depth > 0) {
		c->freed = 1;
		close_socket(c);
		ps_resolve_cancel(c->res);
		c->res = NULL;
		c->loop.ops->timer_stop(c->loop.loop, c->timer);
		return;
	}
	destroy(c);
}

int ps_conn_is_ready(const struct ps_conn *c)
{
	return c && c->state == ST_READY && !c->freed;
}

const char *ps_conn_name(const struct ps_conn *c)
{
	return c->name;
}

const char *ps_conn_host(const struct ps_conn *c)
{
	return c->host;
}

int ps_conn_port(const struct ps_conn *c)
{
	return c->p.port;
}

size_t ps_conn_inflight(const struct ps_conn *c)
{
	return c->qlen;
}

void *ps_conn_owner(const struct ps_conn *c)
{
	return c->owner;
}

const char *ps_conn_stage(const struct ps_conn *c)
{
	switch (c->state) {
	case ST_START:
	case ST_RESOLVING:  return "resolving the name";
	case ST_CONNECTING: return "TCP connect";
	case ST_TLS:        return "TLS handshake";
	case ST_HANDSHAKE:  return "AUTH/SELECT";
	case ST_READY:      return "connected";
	case ST_FAILED:     return "failed";
	}
	return "";
}
