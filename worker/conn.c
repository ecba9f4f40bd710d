/* worker/conn.c - one accepted socket: its watcher, its input bytes, its
 * write path, its death (see conn.h).
 *
 * The write path is libuv's (src/unix/stream.c): write now, queue on
 * EAGAIN, and re-check after callbacks. Fan-out writes a frame straight to
 * the socket when nothing waits ahead of it; what the kernel does not take
 * waits here, in order: the rest of the frame being written (never
 * interleaved with another), the close, a WebSocket pong, the JSON pongs,
 * the server's keep-alive, 'subscribed' (or an HTTP response), a status
 * frame, then the invalidation queue. POLLOUT is armed only while
 * something waits, so a client that keeps up costs one send() per message
 * and no epoll change.
 */
#include "conn.h"
#include "accept.h"
#include "http_front.h"
#include "log.h"
#include "session.h"
#include "sse.h"
#include "ws.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utlist.h>

static void on_io(struct ev_loop *loop, ev_io *io, int revents);

struct conn *conn_new(struct lg_worker *w, int fd)
{
	struct conn *c = calloc(1, sizeof *c);

	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->w = w;
	c->kind = CK_HTTP;
	c->phase = PH_REQUEST;
	c->shown_fd = -1;
	c->opened_ms = lg_worker_ms(w);
	c->last_rx_s = lg_worker_secs(w);
	ev_io_init(&c->io, on_io, fd, EV_READ);
	ev_io_start(w->loop, &c->io);
	DL_APPEND(w->conns, c);
	w->handshaking++;
	conn_arm(c);
	return c;
}

/* Watches for POLLOUT too, or stops. */
static void set_write(struct conn *c, int on)
{
	int want = EV_READ | (on ? EV_WRITE : 0);

	if ((c->io.events & (EV_READ | EV_WRITE)) == want)
		return;
	ev_io_stop(c->w->loop, &c->io);
	ev_io_modify(&c->io, want);
	ev_io_start(c->w->loop, &c->io);
}

/* Something waits for the socket: POLLOUT, and the choke clock runs. */
static void want_write(struct conn *c)
{
	if (!c->choked_since_s) {
		c->choked_since_s = lg_worker_secs(c->w);
		if (!c->choked_since_s)
			c->choked_since_s = 1;
		if (c->timer.deadline > c->choked_since_s + LG_CHOKE_LIMIT_S)
			conn_arm(c);
	}
	set_write(c, 1);
	conn_show_direct(c);
}

void conn_kill(struct conn *c, const char *why)
{
	struct lg_worker *w = c->w;
	struct lg_logline l;

	if (c->dead)
		return;
	if (lg_log_begin(&l, LG_LOG_DEBUG, "conn_drop")) {
		lg_log_str(&l, "reason", why);
		lg_log_end(&l);
	}
	c->dead = 1;
	conn_show_direct(c);   /* out of the fan-out's direct path at once */
	ev_io_stop(w->loop, &c->io);
	lg_wheel_cancel(&c->timer);
	DL_DELETE(w->conns, c);
	DL_APPEND(w->graveyard, c);
}

void conn_close(struct conn *c, int code, const char *reason)
{
	struct lg_logline l;

	if (c->close_code || c->dead)
		return;
	c->close_code = (uint16_t)code;
	c->phase = PH_CLOSING;
	c->closing_s = lg_worker_secs(c->w);
	/* Counted now, not when the socket goes: a client that has the close
	 * can already see it in /metrics. */
	lg_add(&c->w->st->closes[lg_close_index(code)], 1);
	if (lg_log_begin(&l, LG_LOG_DEBUG, "close")) {
		lg_log_int(&l, "code", code);
		lg_log_str(&l, "reason", reason);
		lg_log_end(&l);
	}
	c->close_f = c->kind == CK_SSE ? sse_close_frame(code, reason)
	                               : lg_frame_ws_close((unsigned)code, reason);
	if (!c->close_f) {
		conn_kill(c, "out of memory building a close");
		return;
	}
	conn_arm(c);
	(void)conn_flush(c);
}

/* --- output ----------------------------------------------------------------- */

int conn_waiting_ahead(const struct conn *c)
{
	return c->choked_since_s || c->cur || c->close_f || c->ctrl || c->app_pongs ||
	       c->ping_due || c->ctl || c->status || c->parked || c->dead ||
	       c->phase != PH_READY || !lg_outq_empty(&c->q);
}

void conn_show_direct(struct conn *c)
{
	int fd = conn_waiting_ahead(c) ? -1 : c->fd;

	if (fd == c->shown_fd)
		return;
	c->shown_fd = fd;
	for (size_t i = 0; i < c->n_chans; i++)
		ps_set_fd(&c->chans[i].m, fd, c->kind);
}

const unsigned char *conn_bytes(const struct conn *c, struct lg_frame *f, size_t *n)
{
	return c->kind == CK_SSE ? lg_frame_sse(f, n) : lg_frame_ws(f, n);
}

/* Takes the next thing to write into cur. Returns 0 when nothing waits. */
static int take_next(struct conn *c)
{
	struct lg_frame **slot = NULL;
	struct lg_frame *f = NULL;

	c->cur_off = 0;
	c->cur_item = IT_OTHER;
	if (c->close_f) {
		c->cur = c->close_f;
		c->close_f = NULL;
		c->cur_item = IT_CLOSE;
		return 1;
	}
	if (c->phase == PH_CLOSING)
		return 0;   /* the close went out: nothing follows it */
	if (c->ctrl)
		slot = &c->ctrl;
	else if (c->app_pongs) {
		c->app_pongs--;
		f = session_pong_frame();
	} else if (c->ping_due) {
		c->ping_due = 0;
		f = c->kind == CK_SSE ? sse_ping_frame() : ws_ping_frame();
	} else if (c->ctl) {
		slot = &c->ctl;
		if (c->kind == CK_HTTP)
			c->cur_item = IT_RESPONSE;
	} else if (c->status)
		slot = &c->status;
	if (slot) {
		c->cur = *slot;
		*slot = NULL;
		return 1;
	}
	if (f) {
		c->cur = lg_frame_ref(f);
		return 1;
	}
	if (lg_outq_empty(&c->q) && c->parked && session_unpark(c) < 0) {
		conn_kill(c, "out of memory unparking");
		return 0;
	}
	c->cur = lg_outq_pop(&c->q);
	c->cur_item = IT_INVALIDATION;
	return c->cur != NULL;
}

/* The last byte of cur went out. */
static void item_done(struct conn *c)
{
	struct lg_frame *f = c->cur;
	enum conn_item item = (enum conn_item)c->cur_item;

	c->cur = NULL;
	if (item == IT_INVALIDATION)
		session_count_delivery(c->w, f);
	lg_frame_unref(f);
	if (item == IT_CLOSE)
		c->kind == CK_WS ? ws_close_sent(c) : conn_kill(c, "closed");
	else if (item == IT_RESPONSE)
		http_response_sent(c);
}

int conn_flush(struct conn *c)
{
	while (!c->dead) {
		const unsigned char *b;
		size_t n;
		ssize_t m;

		if (!c->cur && !take_next(c))
			break;
		b = conn_bytes(c, c->cur, &n);
		if (!b) {
			conn_kill(c, "out of memory encoding a frame");
			return -1;
		}
		uint32_t before = c->cur_off;

		m = send(c->fd, b + c->cur_off, n - c->cur_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (m < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				want_write(c);
				return 0;
			}
			conn_kill(c, "send failed");
			return -1;
		}
		c->cur_off += (uint32_t)m;
		if (c->cur_off < n) {
			if (before == 0 && c->cur_item == IT_INVALIDATION)
				lg_add(&c->w->st->partial_writes, 1);
			want_write(c);
			return 0;
		}
		item_done(c);
	}
	if (c->dead)
		return -1;
	c->choked_since_s = 0;
	set_write(c, 0);
	conn_show_direct(c);
	return 0;
}

int conn_deliver(struct conn *c, struct conn_chan *cc, struct lg_frame *f, int tried,
                 ssize_t sent, int *direct)
{
	size_t n;
	const unsigned char *b;
	int rc;

	*direct = 0;
	if (c->dead || c->phase == PH_CLOSING)
		return 0;
	if (!tried && !conn_waiting_ahead(c)) {
		b = conn_bytes(c, f, &n);
		if (!b) {
			conn_kill(c, "out of memory encoding a frame");
			return 0;
		}
		sent = send(c->fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0)
			sent = -errno;
		tried = 1;
	}
	if (tried) {
		conn_bytes(c, f, &n);   /* built by the walk or just above */
		if (sent == (ssize_t)n) {
			*direct = 1;
			return 0;
		}
		if (sent > 0) {
			/* The kernel took part: the rest goes before anything else. */
			lg_add(&c->w->st->partial_writes, 1);
			c->cur = lg_frame_ref(f);
			c->cur_off = (uint32_t)sent;
			c->cur_item = IT_INVALIDATION;
			want_write(c);
			return 0;
		}
		if (sent != -EAGAIN && sent != -EWOULDBLOCK && sent != -EINTR) {
			conn_kill(c, "send failed");
			return 0;
		}
	}
	rc = c->parked ? LG_OUTQ_FULL
	               : lg_outq_push(&c->q, cc, f, c->n_chans + LG_QUEUE_EXTRA, LG_QUEUE_BYTES);
	if (rc < 0) {
		conn_kill(c, "out of memory queueing a frame");
		return 0;
	}
	if (rc == LG_OUTQ_FULL) {
		session_park(c, cc);
		return 1;
	}
	want_write(c);
	return 0;
}

/* --- input ------------------------------------------------------------------ */

ssize_t conn_in_reserve(struct conn *c, size_t want, size_t cap)
{
	size_t room = c->in_cap - c->in_len, ncap;
	char *nb;

	if (room >= want || c->in_cap >= cap)
		return (ssize_t)room;
	ncap = c->in_cap ? c->in_cap : 1024;
	while (ncap - c->in_len < want && ncap < cap)
		ncap *= 2;
	if (ncap > cap)
		ncap = cap;
	nb = realloc(c->in, ncap);
	if (!nb)
		return -1;
	c->in = nb;
	c->in_cap = (uint32_t)ncap;
	return (ssize_t)(ncap - c->in_len);
}

void conn_in_consume(struct conn *c, size_t n)
{
	if (n >= c->in_len) {
		/* an idle connection holds no input buffer */
		free(c->in);
		c->in = NULL;
		c->in_len = c->in_cap = 0;
		return;
	}
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= (uint32_t)n;
}

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = (struct conn *)((char *)io - offsetof(struct conn, io));

	(void)loop;
	if ((revents & EV_WRITE) && conn_flush(c) < 0)
		return;
	if (!(revents & EV_READ) || c->dead)
		return;
	switch (c->kind) {
	case CK_HTTP:
		http_read(c);
		break;
	case CK_WS:
		ws_read(c);
		break;
	case CK_SSE:
		sse_read(c);
		break;
	}
}

/* --- the end ----------------------------------------------------------------- */

/* Frees c; its socket closes. */
static void conn_free(struct lg_worker *w, struct conn *c)
{
	session_end(c);
	lg_outq_clear(&c->q, NULL, NULL);
	lg_frame_unref(c->cur);
	lg_frame_unref(c->close_f);
	lg_frame_unref(c->ctrl);
	lg_frame_unref(c->ctl);
	lg_frame_unref(c->status);
	free(c->in);
	free(c->msg);
	free(c->req);
	if (c->kind == CK_HTTP)
		w->handshaking--;
	close(c->fd);
	free(c);
}

void conn_reap(struct lg_worker *w)
{
	struct conn *c, *tmp;
	unsigned was = w->handshaking;

	DL_FOREACH_SAFE(w->graveyard, c, tmp) {
		DL_DELETE(w->graveyard, c);
		conn_free(w, c);
	}
	if (was != w->handshaking)
		accept_resume_if_room(w);
}

void conn_free_all(struct lg_worker *w)
{
	struct conn *c, *tmp;

	DL_FOREACH_SAFE(w->conns, c, tmp) {
		DL_DELETE(w->conns, c);
		conn_free(w, c);
	}
	conn_reap(w);
}
