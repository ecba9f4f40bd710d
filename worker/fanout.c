/* worker/fanout.c - one message, every subscriber of its channel.
 *
 * The message becomes one immutable frame, built once. The channel's array
 * holds, next to each membership, the socket of a subscriber a frame may go
 * straight to (nothing waits ahead of it: conn_show_direct) and which bytes
 * that socket takes (a WebSocket frame or an event); for those the walk is
 * the floor's own loop, one send() per socket from a dense array, and reads
 * nothing else. The rest go through conn_deliver (queue, partial write,
 * park); those ahead are prefetched so their cache misses overlap a send().
 * Parked members are not in the array at all.
 */
#include "fanout.h"
#include "conn.h"
#include "log.h"
#include "session.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#define FAN_AHEAD 8

/* Direct deliveries are recorded in blocks of FAN_BLOCK, not one by one: a
 * clock read and three shared counters per send() are work the floor's
 * loop does not do. A block is recorded at the time its last send went out,
 * which over-states the others' latency by at most 31 sends (about 0.3 ms
 * here; the histogram's first bound is 0.5 ms). */
#define FAN_BLOCK 32

struct fanout {
	struct lg_worker *w;
	struct lg_frame  *f;
	const unsigned char *ws;      /* f as a WebSocket sends it */
	size_t              ws_len;
	const unsigned char *sse;     /* f as an event stream sends it (built on first use) */
	size_t              sse_len;
	unsigned            sent;     /* direct deliveries not yet recorded */
};

static void fan_record(struct fanout *fo)
{
	if (!fo->sent)
		return;
	lg_add(&fo->w->st->frames_delivered, fo->sent);
	lg_metrics_observe(fo->w->st, lg_now_ns() - fo->f->born_ns, fo->sent);
	fo->sent = 0;
}

/* One more direct delivery; a full block is recorded. */
static void fan_sent(struct fanout *fo)
{
	if (++fo->sent == FAN_BLOCK)
		fan_record(fo);
}

/* Returns the spread hint for a channel this big: big audiences refetch
 * over a window so the origin is not hit by everyone at once. */
static unsigned spread_for(size_t subscribers)
{
	size_t ms;

	if (subscribers < LG_SPREAD_MIN_SUBS)
		return 0;
	ms = subscribers / 5;
	return ms > LG_SPREAD_MAX_MS ? LG_SPREAD_MAX_MS : (unsigned)ms;
}

#ifndef NDEBUG
/* Returns 1 if the socket the walk found is what conn_show_direct shows. */
static int shown_current(const struct ps_member *e)
{
	const struct conn *c = ((const struct conn_chan *)e->m)->conn;

	return c->shown_fd == e->fd && c->fd == e->fd && e->tag == c->kind &&
	       !conn_waiting_ahead(c);
}
#endif

/* Sends the frame straight to the shown socket of member e. Returns 1 when
 * the member was parked (the walk rule), else 0. */
static int fan_direct(struct fanout *fo, const struct ps_member *e)
{
	const unsigned char *b = fo->ws;
	size_t n = fo->ws_len;
	ssize_t m;
	int direct;

	assert(shown_current(e));
	if (e->tag == CK_SSE) {
		if (!fo->sse && !(fo->sse = lg_frame_sse(fo->f, &fo->sse_len)))
			return conn_deliver(((struct conn_chan *)e->m)->conn, (struct conn_chan *)e->m,
			                    fo->f, 0, 0, &direct);
		b = fo->sse;
		n = fo->sse_len;
	}
	m = send(e->fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (m == (ssize_t)n) {
		fan_sent(fo);
		return 0;
	}
	return conn_deliver(((struct conn_chan *)e->m)->conn, (struct conn_chan *)e->m, fo->f, 1,
	                    m < 0 ? -errno : m, &direct);
}

/* Builds the frame for a message on ch; logs and counts one too large. */
static struct lg_frame *build(struct lg_worker *w, struct ps_channel *ch, const char *payload,
                              size_t plen)
{
	size_t nlen;
	const char *name = ps_channel_name(ch, &nlen);
	int too_large;
	struct lg_frame *f = lg_frame_invalidate(name, nlen, payload, plen,
	                                         spread_for(ps_channel_size(ch)), &too_large);

	if (!f) {
		lg_log_msg(LG_LOG_ERROR, "fanout", "out of memory building a frame; message dropped");
		return NULL;
	}
	if (too_large) {
		struct lg_logline l;
		lg_add(&w->st->payload_too_large, 1);
		if (lg_log_begin(&l, LG_LOG_WARN, "payload_too_large")) {
			lg_log_strn(&l, "channel", name, nlen);
			lg_log_int(&l, "bytes", (long long)plen);
			lg_log_int(&l, "limit", LG_MAX_PAYLOAD);
			lg_log_end(&l);
		}
	}
	f->seq = ps_channel_seq(ch);
	return f;
}

void fanout_on_message(void *ctx, struct ps_channel *ch, const char *payload, size_t plen)
{
	struct lg_worker *w = ctx;
	struct fanout fo = { .w = w };
	const struct ps_member *e;
	size_t n;

	if (payload)
		lg_add(&w->st->redis_messages, 1);
	fo.f = build(w, ch, payload, plen);
	if (!fo.f)
		return;
	fo.ws = lg_frame_ws(fo.f, &fo.ws_len);
	if (ps_channel_parked(ch))
		session_keep_newest(ch, fo.f);
	e = ps_channel_members(ch, &n);
	for (size_t i = 0; i < n;) {
		int parked = 0, direct;

		if (i + FAN_AHEAD < n && e[i + FAN_AHEAD].fd < 0)
			__builtin_prefetch(e[i + FAN_AHEAD].m);
		if (i + FAN_AHEAD / 2 < n && e[i + FAN_AHEAD / 2].fd < 0)
			__builtin_prefetch(((const struct conn_chan *)e[i + FAN_AHEAD / 2].m)->conn);
		if (e[i].fd >= 0) {
			parked = fan_direct(&fo, &e[i]);
		} else if (e[i].m->confirmed) {
			struct conn_chan *cc = (struct conn_chan *)e[i].m;
			parked = conn_deliver(cc->conn, cc, fo.f, 0, 0, &direct);
			if (direct)
				fan_sent(&fo);
		}
		if (parked) {
			/* The walk rule (registry.h): the last member moved into slot i. */
			session_keep_newest(ch, fo.f);
			e = ps_channel_members(ch, &n);
		} else {
			i++;
		}
	}
	fan_record(&fo);
	lg_frame_unref(fo.f);
}
