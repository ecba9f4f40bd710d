/* pubsub/conn.c - one Redis connection, its protocol side: commands and
 * their FIFO replies, pushes, AUTH and SELECT, the life cycle. The bytes
 * (resolving, connecting, TLS, reading, writing, liveness) are
 * conn_net.c's.
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
#include "conn_int.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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

void rconn_set_io(struct ps_conn *c, int events)
{
	if (c->io && c->io_events != events) {
		c->io_events = events;
		c->loop.ops->io_set(c->loop.loop, c->io, events);
	}
}

void rconn_arm(struct ps_conn *c, unsigned ms)
{
	c->loop.ops->timer_arm(c->loop.loop, c->timer, ms);
}

static void destroy(struct ps_conn *c)
{
	rconn_close_socket(c);
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

void rconn_enter(struct ps_conn *c)
{
	c->depth++;
}

/* Leaves an entry from the loop; returns 1 if c is gone. */
int rconn_leave(struct ps_conn *c)
{
	if (--c->depth == 0 && c->freed) {
		destroy(c);
		return 1;
	}
	return 0;
}

int rconn_gone(const struct ps_conn *c)
{
	return c->freed || c->state == ST_FAILED;
}

/* Fails the connection once: NULL replies to what waits, then closed. */
void rconn_fail(struct ps_conn *c, enum ps_conn_fail why, const char *fmt, ...)
{
	char detail[320];
	va_list ap;

	if (rconn_gone(c))
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	c->state = ST_FAILED;
	rconn_close_socket(c);
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

size_t rconn_writable_now(const struct ps_conn *c)
{
	size_t n = c->wlen - c->wpos;
	return n < c->wallow ? n : c->wallow;
}

/* The events to watch for the current state. */
void rconn_want_events(struct ps_conn *c)
{
	if (c->state == ST_CONNECTING)
		rconn_set_io(c, PS_IO_WRITE);
	else if (c->state >= ST_HANDSHAKE && c->state != ST_FAILED)
		rconn_set_io(c, PS_IO_READ | (rconn_writable_now(c) ? PS_IO_WRITE : 0));
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
int rconn_queue(struct ps_conn *c, const struct entry *e, int argc, const char **argv,
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

	if (!c || rconn_gone(c) || argc < 1)
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
	if (rconn_queue(c, &e, argc, argv, lens) < 0)
		return PS_CMD_FAILED;
	if (c->state == ST_READY)
		rconn_want_events(c);
	return PS_CMD_QUEUED;
}

/* --- the read side -------------------------------------------------------------- */


/* Pops the oldest entry. */
static struct entry qpop(struct ps_conn *c)
{
	struct entry e = c->q[c->qhead];

	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
	return e;
}

void rconn_dispatch(struct ps_conn *c, redisReply *r)
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
		rconn_fail(c, PS_CONN_PROTOCOL, "%s sent a reply to no command", c->name);
		return;
	}
	/* A server that wants a password refuses everything with NOAUTH:
	 * report that, not the refused command. */
	if (r->type == REDIS_REPLY_ERROR && ps_resp_error(r->str, r->len, NULL) == PS_ERR_AUTH &&
	    strncmp(r->str, "NOAUTH", 6) == 0) {
		rconn_fail(c, PS_CONN_AUTH, "%s requires a password (%s)", c->name, r->str);
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
	rconn_start_liveness(c);
	if (c->ev->ready)
		c->ev->ready(c->owner, c);
	if (!rconn_gone(c))
		rconn_flush(c);
}

static void on_auth(void *arg, struct ps_conn *c, const redisReply *r)
{
	(void)arg;
	if (!r)
		return;
	/* Where AUTH is optional, a server that does need a password refuses
	 * the next command with NOAUTH, which fails the connection then. */
	if (r->type == REDIS_REPLY_ERROR && !c->p.auth_optional) {
		rconn_fail(c, PS_CONN_AUTH, "AUTH refused by %s: %s", c->name, r->str);
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
		rconn_fail(c, PS_CONN_SETUP, "SELECT %d refused by %s: %s", c->p.db, c->name, r->str);
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
		rc |= rconn_queue(c, &e, argc, argv, lens);
		c->hs_pending++;
	}
	if (c->p.db > 0) {
		struct entry e = { on_select, NULL, 0, PS_PUSH_NONE };
		char db[16];
		snprintf(db, sizeof db, "%d", c->p.db);
		argv[0] = "SELECT"; lens[0] = 6;
		argv[1] = db; lens[1] = strlen(db);
		rc |= rconn_queue(c, &e, 2, argv, lens);
		c->hs_pending++;
	}
	c->wallow = c->wlen;
	return rc;
}

void rconn_connected(struct ps_conn *c)
{
	c->state = ST_HANDSHAKE;
	c->last_rx = ps_mono_ms();
	if (c->hs_pending == 0) {
		hs_done(c);
		return;
	}
	rconn_flush(c);
}

/* --- timers: start and connect timeout (liveness: conn_net.c) ---------------------------- */

static void on_timer(void *arg)
{
	struct ps_conn *c = arg;

	rconn_enter(c);
	switch (c->state) {
	case ST_START:
		rconn_start(c);
		break;
	case ST_READY:
		rconn_liveness(c);
		break;
	case ST_FAILED:
		break;
	default:
		rconn_fail(c, PS_CONN_TIMEOUT, "%s: no connection within %u ms (%s)", c->name,
		          c->p.connect_timeout_ms, ps_conn_stage(c));
		break;
	}
	rconn_leave(c);
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
	rconn_arm(c, 0);
	return c;
}

void ps_conn_free(struct ps_conn *c)
{
	if (!c)
		return;
	if (c->depth > 0) {
		c->freed = 1;
		rconn_close_socket(c);
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
