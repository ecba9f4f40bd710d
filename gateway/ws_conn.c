/* gateway/ws_conn.c - one browser WebSocket: the subscribe handshake, the
 * protocol limits, the per-connection invalidation queue and its timers.
 *
 * Outgoing data never waits in a per-connection copy: the queue holds
 * references to the shared frames: at most one per channel followed plus
 * LG_QUEUE_EXTRA, and LG_QUEUE_BYTES of them. That absorbs a burst Redis
 * hands over in one read, so a client that keeps up gets every message. One
 * that falls so far behind that its queue fills is parked: its queue is
 * dropped and its memberships leave the channels' delivery arrays, so from
 * then on it costs nothing per message however far behind it is (3,000
 * non-readers on one channel used to take a whole core and starve the Redis
 * link). Once its socket has taken everything, it gets one invalidation
 * marked "coalesced" per channel that had news, carrying the newest data.
 */
#include "worker.h"
#include "frame.h"
#include "log.h"
#include "out_queue.h"

#include <assert.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <utlist.h>

enum conn_state { CS_AWAIT_SUBSCRIBE, CS_PENDING, CS_READY };

struct conn_chan {
	struct ps_membership  m;
	struct conn          *conn;
	uint8_t               owed;   /* parked with frames of this channel dropped */
};

/* What fan-out reads of a subscriber without a socket in the channel's
 * array (see show_direct) comes first, in one cache line. */
struct conn {
	struct lws           *wsi;           /* NULL until established */
	int                   fd;            /* wsi's socket */
	uint32_t              choked_since_s;  /* 0: not waiting for POLLOUT */
	struct lg_frame      *ctl;           /* 'subscribed' frame to send */
	uint16_t              close_code;    /* close requested with this code */
	uint8_t               want_pong;     /* pongs owed (one per ping; the rate
	                                        limit bounds it by LG_RATE_FRAMES) */
	uint8_t               peer_closing;  /* the peer's close frame arrived */
	uint8_t               want_ping;
	uint8_t               ping_sent;
	uint8_t               counted;       /* holds a place in w->n_conns */
	uint8_t               rate_i;
	uint8_t               rx_seen;       /* bytes came in: lws may owe a pong */
	uint8_t               parked;        /* fell behind: out of delivery (ps_park) */
	int                   shown_fd;      /* what the channels' arrays show: fd or -1 */
	size_t                n_chans;
	struct lg_outq        q;             /* invalidations to write */
	/* the rest */
	ev_io                 rx_watch;      /* sets rx_seen (see on_rx_ready) */
	unsigned              rx_iter;       /* loop iteration of the last rx_seen */
	struct conn          *prev, *next;   /* worker's list */
	struct ps_subscriber  sub;
	struct conn_chan     *chans;
	struct lg_wheel_node  timer;
	int64_t               exp;           /* token expiry, epoch seconds; 0: none */
	uint32_t              opened_ms;     /* ms since the worker started */
	uint32_t              last_rx_s;
	uint32_t              rate[LG_RATE_FRAMES];  /* ms of the last frames */
	uint8_t               state;
	uint16_t              peer_code;     /* close code the peer sent */
	char                 *rx;            /* reassembly of a fragmented message */
	size_t                rx_len;
};

static const char pong_json[] = "{\"type\":\"pong\"}";
/* The server's ping, a whole frame: lws reports a pong only when the ping
 * carried a payload. */
static const unsigned char ping_frame[] = { 0x89, 8, 'l', 'i', 'v', 'e', 'g', 'a', 't', 'e' };

size_t lg_ws_conn_size(void)
{
	return sizeof(struct conn);
}

static uint32_t now_ms(const struct lg_worker *w)
{
	return (uint32_t)((lg_now_ns() - w->mono0_ns) / 1000000u);
}

/* Arms the connection's single timer for its earliest deadline. */
static void conn_arm(struct lg_worker *w, struct conn *c)
{
	uint32_t now = lg_worker_secs(w), d;

	if (c->close_code)
		d = now + LG_CLOSE_GRACE_S;
	else if (c->state == CS_AWAIT_SUBSCRIBE)
		/* the wheel's second after the deadline: never early */
		d = (c->opened_ms + LG_SUBSCRIBE_DEADLINE_S * 1000u) / 1000u + 1;
	else
		d = c->last_rx_s + (c->ping_sent ? LG_HANGUP_IDLE_S : LG_PING_IDLE_S);
	if (c->exp && !c->close_code) {
		int64_t left = c->exp - (int64_t)time(NULL);
		uint32_t e = left <= 0 ? now : now + (uint32_t)(left > 86400 * 2 ? 86400 * 2 : left);
		if (e < d)
			d = e;
	}
	if (c->choked_since_s && c->choked_since_s + LG_CHOKE_LIMIT_S < d)
		d = c->choked_since_s + LG_CHOKE_LIMIT_S;
	lg_wheel_arm(&w->wheel, &c->timer, d);
}

/* Returns 1 when something of c's must go out before a new frame. */
static int waiting_ahead(const struct conn *c)
{
	return c->choked_since_s || c->ctl || c->want_pong || c->peer_closing || c->close_code ||
	       c->parked || !lg_outq_empty(&c->q);
}

/* Returns 1 when a frame may go straight to c's socket with nothing to
 * check: nothing waits ahead of it and no bytes came in that could be a
 * ping whose pong lws holds part of. */
static int direct_ok(const struct conn *c)
{
	return c->wsi && !waiting_ahead(c) && !c->rx_seen;
}

/* Shows c's socket next to its memberships in the channels' arrays while
 * direct_ok holds, -1 otherwise: fan-out then sends to c without reading
 * c at all (the floor's loop: an array of sockets). Everything that changes
 * what direct_ok reads calls this afterwards. */
static void show_direct(struct conn *c)
{
	int fd = direct_ok(c) ? c->fd : -1;

	if (fd == c->shown_fd)
		return;
	c->shown_fd = fd;
	for (size_t i = 0; i < c->n_chans; i++)
		ps_set_fd(&c->chans[i].m, fd);
}

/* Asks for POLLOUT; starts the choke clock when output is waiting. */
static void want_write(struct lg_worker *w, struct conn *c)
{
	if (!c->choked_since_s) {
		c->choked_since_s = lg_worker_secs(w);
		if (!c->choked_since_s)
			c->choked_since_s = 1;
		if (c->timer.deadline > c->choked_since_s + LG_CHOKE_LIMIT_S)
			conn_arm(w, c);
	}
	lws_callback_on_writable(c->wsi);
	show_direct(c);
}

static int after_send(struct lg_worker *w, struct conn *c, const unsigned char *bytes, size_t n,
                      ssize_t m);

/* Writes bytes[0..n) straight to the socket when nothing waits ahead of
 * them, so a client that keeps up costs one send() and no POLLOUT round trip
 * through the loop. A short write hands the rest to lws, which sends it
 * before anything else of this connection (pongs, close). Returns 1 when
 * the bytes are out or with lws, 0 when nothing was sent (queue them), -1
 * when lws could not take the rest (the connection is lost). */
static int send_direct(struct lg_worker *w, struct conn *c, const unsigned char *bytes, size_t n)
{
	if (waiting_ahead(c) || (c->rx_seen && lws_partial_buffered(c->wsi)))
		return 0;
	return after_send(w, c, bytes, n, send(c->fd, bytes, n, MSG_DONTWAIT | MSG_NOSIGNAL));
}

/* Finishes a direct send() of bytes[0..n) to c that returned m. Returns as
 * send_direct. */
static int after_send(struct lg_worker *w, struct conn *c, const unsigned char *bytes, size_t n,
                      ssize_t m)
{
	if (m <= 0)
		return 0;   /* full, or an error lws meets on the queued path */
	if ((size_t)m == n)
		return 1;
	lg_add(&w->st->partial_writes, 1);
	if (lws_write(c->wsi, (unsigned char *)bytes + m, n - (size_t)m, LWS_WRITE_RAW) <
	    (int)(n - (size_t)m))
		return -1;
	want_write(w, c);   /* the choke clock runs until lws has it all out */
	return 1;
}

/* Bytes arrived on the socket (lws reads them; this watcher on the same fd
 * only looks). lws answers a client's WebSocket ping itself, telling us
 * nothing, and may keep part of that pong buffered; a direct write in the
 * middle of it would corrupt the stream. Asking lws whether it holds
 * anything costs a cache miss on its connection per delivery (7 % of a
 * fan-out's CPU), so send_direct asks only while rx_seen is set: from the
 * iteration that read bytes until lws next calls us writeable, which it does
 * only once any pong is out whole. The first delivery after that asks for
 * a writeable (fan_one), so an idle connection's pongs cost no round trip. */
static void on_rx_ready(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = (struct conn *)((char *)io - offsetof(struct conn, rx_watch));

	(void)revents;
	c->rx_seen = 1;
	c->rx_iter = ev_iteration(loop);
	show_direct(c);
}

/* Requests a close with code; the close frame goes out on the next
 * writeable. A second request keeps the first code. */
static void conn_close(struct lg_worker *w, struct conn *c, int code, const char *why)
{
	struct lg_logline l;

	if (c->close_code)
		return;
	c->close_code = (uint16_t)code;
	/* Counted now, not at CLOSED: a client that has the close frame can
	 * already see it in /metrics. */
	lg_add(&w->st->closes[lg_close_index(code)], 1);
	if (lg_log_begin(&l, LG_LOG_DEBUG, "ws_close")) {
		lg_log_int(&l, "code", code);
		lg_log_str(&l, "reason", why);
		lg_log_end(&l);
	}
	conn_arm(w, c);
	want_write(w, c);
}

/* Drops the connection at once (no close frame can get through). */
static void conn_kill(struct lg_worker *w, struct conn *c, const char *why)
{
	struct lg_logline l;

	if (lg_log_begin(&l, LG_LOG_DEBUG, "ws_drop")) {
		lg_log_str(&l, "reason", why);
		lg_log_end(&l);
	}
	lg_wheel_cancel(&c->timer);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Drops the channel's newest frame once no member is parked any more:
 * only parked members may need it (see unpark). */
static void chan_release_newest(struct ps_channel *ch)
{
	void **newest = ps_channel_user(ch);

	if (*newest && ps_channel_parked(ch) == 0) {
		lg_frame_unref(*newest);
		*newest = NULL;
	}
}

/* Leaves ch through m, letting go of the channel's newest frame when m was
 * its last parked member. */
static void chan_leave(struct lg_worker *w, struct ps_membership *m)
{
	struct ps_channel *ch = m->chan;

	if (ch && m->parked && ps_channel_parked(ch) == 1) {
		void **newest = ps_channel_user(ch);
		lg_frame_unref(*newest);
		*newest = NULL;
	}
	ps_leave(w->reg, m);
}

/* Leaves every channel (the queue is the caller's to re-key or clear). */
static void conn_leave_all(struct lg_worker *w, struct conn *c)
{
	for (size_t i = 0; i < c->n_chans; i++)
		chan_leave(w, &c->chans[i].m);
	free(c->chans);
	c->chans = NULL;
	c->n_chans = 0;
	lg_set(&w->st->channels, ps_registry_channel_count(w->reg));
}

/* Maps a queued frame's membership (always one of the connection's current
 * channels) to the new one of the same channel, or NULL (dropped) when the
 * new token no longer names it. */
struct rekey {
	struct conn_chan             *nc;
	const struct lg_token_claims *cl;
};

static const void *rekey_one(const void *key, void *arg)
{
	const struct rekey *rk = arg;
	const struct conn_chan *cc = key;
	const char *name = ps_channel_name(cc->m.chan, NULL);

	for (size_t i = 0; i < rk->cl->n_channels; i++)
		if (strcmp(rk->cl->channels[i], name) == 0)
			return &rk->nc[i];
	return NULL;
}

/* Returns the 'subscribed' frame listing the connection's channels, or NULL. */
static struct lg_frame *subscribed_frame(const struct conn *c)
{
	const char *names[LG_TOKEN_MAX_CHANNELS];
	size_t lens[LG_TOKEN_MAX_CHANNELS];

	for (size_t i = 0; i < c->n_chans; i++)
		names[i] = ps_channel_name(c->chans[i].m.chan, &lens[i]);
	return lg_frame_subscribed(names, lens, c->n_chans);
}

/* Returns c's membership of the channel called name, or NULL. */
static struct conn_chan *find_chan(struct conn *c, const char *name)
{
	for (size_t i = 0; i < c->n_chans; i++)
		if (c->chans[i].m.chan && strcmp(ps_channel_name(c->chans[i].m.chan, NULL), name) == 0)
			return &c->chans[i];
	return NULL;
}

/* Sends 'subscribed' now when nothing waits ahead of it (the common case:
 * no POLLOUT round trip per new client), else queues it first in line,
 * replacing one not yet out. */
static void became_ready(struct lg_worker *w, struct conn *c)
{
	struct lg_frame *f = subscribed_frame(c);
	int rc = 0;

	c->state = CS_READY;
	if (!f) {
		conn_close(w, c, 1011, "out of memory");
		return;
	}
	if (!c->ctl) {
		size_t n;
		const unsigned char *wire = lg_frame_wire(f, &n);
		rc = send_direct(w, c, wire, n);
	}
	if (rc != 0) {
		lg_frame_unref(f);
		if (rc < 0)
			conn_kill(w, c, "out of memory buffering a frame");
		show_direct(c);
		return;
	}
	lg_frame_unref(c->ctl);
	c->ctl = f;
	want_write(w, c);
}

void lg_ws_on_ready(void *ctx, struct ps_subscriber *sub)
{
	struct conn *c = (struct conn *)((char *)sub - offsetof(struct conn, sub));

	became_ready(ctx, c);
}

/* Replaces the connection's channels with the token's. Channels kept from
 * the old set keep their place in Redis and their queued frames. */
static void apply_claims(struct lg_worker *w, struct conn *c,
                         const struct lg_token_claims *cl)
{
	struct conn_chan *nc = calloc(cl->n_channels, sizeof *nc);
	size_t i;

	if (!nc) {
		conn_close(w, c, 1011, "out of memory");
		return;
	}
	for (i = 0; i < cl->n_channels; i++) {
		nc[i].conn = c;
		if (!find_chan(c, cl->channels[i]) &&
		    ps_join(w->reg, &c->sub, &nc[i].m, cl->channels[i],
		            strlen(cl->channels[i])) < 0)
			break;
	}
	if (i < cl->n_channels) {
		while (i--)
			chan_leave(w, &nc[i].m);
		free(nc);
		lg_log_msg(LG_LOG_WARN, "channel_limit", "registry full or out of memory; closing 1013");
		conn_close(w, c, 1013, "channel limit");
		return;
	}
	{
		struct rekey rk = { nc, cl };
		lg_outq_rekey(&c->q, rekey_one, &rk);
	}
	/* Channels kept from the old set move over whole: their place in the
	 * channel, their confirmation, a resync owed after an outage (a client
	 * that re-subscribes while Redis is away must still get it), what they
	 * missed while parked. */
	for (i = 0; i < cl->n_channels; i++) {
		struct conn_chan *old = find_chan(c, cl->channels[i]);
		if (old) {
			ps_move(&old->m, &nc[i].m);
			nc[i].owed = old->owed;
		}
	}
	conn_leave_all(w, c);
	c->chans = nc;
	c->n_chans = cl->n_channels;
	c->shown_fd = -1;   /* what the new memberships show */
	c->exp = cl->exp;
	c->state = CS_PENDING;
	conn_arm(w, c);
	if (c->sub.pending == 0)
		became_ready(w, c);
	show_direct(c);
}

static void handle_subscribe(struct lg_worker *w, struct conn *c, json_t *msg)
{
	json_t *tok = json_object_get(msg, "token");
	struct lg_token_claims cl;
	enum lg_token_status st;

	if (!json_is_string(tok)) {
		conn_close(w, c, 4008, "subscribe without token");
		return;
	}
	st = lg_token_verify(w->keys, json_string_value(tok), json_string_length(tok),
	                     (int64_t)time(NULL), w->cfg->max_token_lifetime, &cl);
	if (st != LG_TOKEN_OK) {
		lg_add(&w->st->auth_failures[st], 1);
		conn_close(w, c, st == LG_TOKEN_EXPIRED ? 4002 : 4001, lg_token_status_name(st));
		return;
	}
	apply_claims(w, c, &cl);
	lg_token_claims_free(&cl);
}

/* Handles one whole client message. */
static void handle_message(struct lg_worker *w, struct conn *c, const char *p, size_t n)
{
	json_error_t err;
	json_t *msg = json_loadb(p, n, JSON_REJECT_DUPLICATES, &err);
	const char *type;

	if (!json_is_object(msg)) {
		conn_close(w, c, 4008, "not a JSON object");
		json_decref(msg);
		return;
	}
	type = json_string_value(json_object_get(msg, "type"));
	if (type && strcmp(type, "subscribe") == 0)
		handle_subscribe(w, c, msg);
	else if (type && strcmp(type, "ping") == 0) {
		c->want_pong++;
		want_write(w, c);
	} else
		conn_close(w, c, 4008, "unknown type");
	json_decref(msg);
}

/* Returns 1 if one more message now would exceed the rate limit. */
static int rate_exceeded(struct lg_worker *w, struct conn *c)
{
	uint32_t t = now_ms(w) + 1;  /* 0 marks an unused slot */
	uint32_t oldest = c->rate[c->rate_i];

	if (oldest && t - oldest < LG_RATE_WINDOW_MS)
		return 1;
	c->rate[c->rate_i] = t;
	c->rate_i = (uint8_t)((c->rate_i + 1) % LG_RATE_FRAMES);
	return 0;
}

static void on_receive(struct lg_worker *w, struct conn *c, const char *in, size_t len)
{
	struct lws *wsi = c->wsi;
	size_t total;

	if (c->close_code)
		return;
	c->last_rx_s = lg_worker_secs(w);
	c->ping_sent = 0;
	if (lws_is_first_fragment(wsi) && c->rx_len == 0) {
		if (lws_frame_is_binary(wsi)) {
			conn_close(w, c, 4008, "binary frame");
			return;
		}
		if (rate_exceeded(w, c)) {
			conn_close(w, c, 4008, "too many frames");
			return;
		}
	}
	total = c->rx_len + len + lws_remaining_packet_payload(wsi);
	if (total > LG_MAX_FRAME) {
		conn_close(w, c, 4008, "frame too large");
		return;
	}
	if (lws_is_final_fragment(wsi) && c->rx_len == 0) {
		handle_message(w, c, in, len);
		return;
	}
	if (!c->rx) {
		c->rx = malloc(LG_MAX_FRAME);
		if (!c->rx) {
			conn_close(w, c, 1011, "out of memory");
			return;
		}
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (lws_is_final_fragment(wsi)) {
		handle_message(w, c, c->rx, c->rx_len);
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
	}
}

/* Counts frame f as delivered, with its time since it came from Redis. */
static void count_delivery(struct lg_worker *w, const struct lg_frame *f)
{
	lg_add(&w->st->frames_delivered, 1);
	lg_metrics_observe(w->st, lg_now_ns() - f->born_ns, 1);
}

/* Writes one frame; returns 0, or -1 when lws could not. */
static int write_text(struct lws *wsi, struct lg_frame *f)
{
	return lws_write(wsi, lg_frame_data(f), f->len, LWS_WRITE_TEXT) < (int)f->len ? -1 : 0;
}

/* --- falling behind ---------------------------------------------------------
 *
 * A connection whose queue is full is parked (see the top of this file).
 * Each channel keeps its newest frame while any member is parked, so that
 * an unparking member can be told what it missed without the fan-out ever
 * looking at it. */

/* Makes f the channel's newest frame unless a newer one is kept. */
static void keep_newest(struct ps_channel *ch, struct lg_frame *f)
{
	struct lg_frame **newest = (struct lg_frame **)ps_channel_user(ch);

	if (*newest && (*newest)->seq >= f->seq)
		return;
	lg_frame_unref(*newest);
	*newest = lg_frame_ref(f);
}

/* A frame dropped from a parking connection's queue: its channel is owed a
 * coalesced invalidation, and the frame may be the newest to send then. */
static void owe_dropped(const void *key, struct lg_frame *f, void *arg)
{
	struct conn_chan *cc = (struct conn_chan *)key;
	struct lg_worker *w = arg;

	cc->owed = 1;
	keep_newest(cc->m.chan, f);
	lg_add(&w->st->invalidations_coalesced, 1);
}

/* Parks c: drops its queue (each channel that had frames in it is owed) and
 * takes every membership out of delivery. Idempotent: a membership joined
 * since is parked too. */
static void conn_park(struct lg_worker *w, struct conn *c)
{
	if (!c->parked) {
		c->parked = 1;
		lg_add(&w->st->clients_parked, 1);
		lg_outq_clear(&c->q, owe_dropped, w);
		want_write(w, c);
	}
	for (size_t i = 0; i < c->n_chans; i++)
		ps_park(&c->chans[i].m);
	show_direct(c);
}

/* c's socket took everything: back into delivery, with one invalidation
 * per channel that had news meanwhile, the newest, marked "coalesced" (a
 * resync stays a resync). Returns 0, or -1 when out of memory. */
static int conn_unpark(struct lg_worker *w, struct conn *c)
{
	int rc = 0;

	c->parked = 0;
	for (size_t i = 0; i < c->n_chans; i++) {
		struct conn_chan *cc = &c->chans[i];
		struct ps_channel *ch = cc->m.chan;
		uint64_t missed = ps_unpark(&cc->m);

		lg_add(&w->st->invalidations_coalesced, missed);
		if ((missed || cc->owed) && cc->m.confirmed && rc == 0) {
			struct lg_frame *f = lg_frame_coalesced(*(struct lg_frame **)ps_channel_user(ch));
			/* The queue was empty and holds one per channel and more. */
			if (!f || lg_outq_push(&c->q, cc, f, c->n_chans + LG_QUEUE_EXTRA, SIZE_MAX) != 0)
				rc = -1;
			lg_frame_unref(f);
		}
		cc->owed = 0;
		chan_release_newest(ch);
	}
	return rc;
}

/* One write per writeable callback, most urgent first. Returns -1 to close. */
static int on_writeable(struct lg_worker *w, struct conn *c)
{
	static struct lg_frame *pong;

	c->choked_since_s = 0;
	/* lws calls us only with no pong pending and nothing of its own
	 * buffered; bytes read in this same iteration may still hold a ping
	 * (read after this call), so those wait for the next writeable. */
	if (c->rx_seen) {
		if (ev_iteration(w->loop) != c->rx_iter)
			c->rx_seen = 0;
		else
			lws_callback_on_writable(c->wsi);
	}
	if (c->close_code) {
		lws_close_reason(c->wsi, (enum lws_close_status)c->close_code, NULL, 0);
		return -1;
	}
	if (c->want_pong) {
		if (!pong && !(pong = lg_frame_new(pong_json, sizeof pong_json - 1)))
			return -1;
		c->want_pong--;
		if (write_text(c->wsi, pong) < 0)
			return -1;
	} else if (c->want_ping) {
		c->want_ping = 0;
		/* RAW: lws only reads (or copies) these bytes */
		if (lws_write(c->wsi, (unsigned char *)ping_frame, sizeof ping_frame, LWS_WRITE_RAW) <
		    (int)sizeof ping_frame)
			return -1;
	} else if (c->ctl) {
		int rc = write_text(c->wsi, c->ctl);
		lg_frame_unref(c->ctl);
		c->ctl = NULL;
		if (rc < 0)
			return -1;
	} else {
		struct lg_frame *f;

		if (lg_outq_empty(&c->q) && c->parked && conn_unpark(w, c) < 0)
			return -1;
		f = lg_outq_pop(&c->q);
		if (f && write_text(c->wsi, f) < 0) {
			lg_frame_unref(f);
			return -1;
		}
		if (f)
			count_delivery(w, f);
		lg_frame_unref(f);
	}
	/* lws may have taken only part of what we wrote: until it calls us
	 * again (once it has the rest out), nothing may go straight to the
	 * socket (want_write keeps waiting_ahead true). */
	if (c->want_pong || c->want_ping || c->ctl || c->parked || !lg_outq_empty(&c->q) ||
	    lws_partial_buffered(c->wsi))
		want_write(w, c);
	return 0;
}

#define FAN_AHEAD 8

/* Direct deliveries are recorded in blocks of FAN_BLOCK, not one by one: a
 * clock read and three shared counters per send() are work the floor's
 * loop does not do. A block is recorded at the time its last send went out,
 * which over-states the others' latency by at most 31 sends (about 0.3 ms
 * here; the histogram's first bound is 0.5 ms). */
#define FAN_BLOCK 32

struct fanout {
	struct lg_worker    *w;
	struct lg_frame     *f;
	const unsigned char *wire;      /* f as sent on the socket */
	size_t               wire_len;
	unsigned             sent;      /* direct deliveries not yet recorded */
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

/* Delivers fo's frame to the member m: straight to its socket, or into its
 * queue; a full queue parks the connection (m included). tried: the walk
 * already sent it to the socket, which took sent bytes (or -1). Returns 1
 * when m was parked (the walk rule: its slot now holds another member),
 * else 0. */
static int fan_one(struct fanout *fo, struct ps_membership *m, int tried, ssize_t sent)
{
	struct conn_chan *cc = (struct conn_chan *)m;
	struct conn *c = cc->conn;
	int was_empty, rc;

	if (!tried && c->close_code)
		return 0;
	rc = tried ? after_send(fo->w, c, fo->wire, fo->wire_len, sent)
	           : send_direct(fo->w, c, fo->wire, fo->wire_len);
	switch (rc) {
	case 1:
		fan_sent(fo);
		if (c->rx_seen)   /* the writeable that clears it (on_rx_ready) */
			lws_callback_on_writable(c->wsi);
		return 0;
	case -1:
		conn_kill(fo->w, c, "out of memory buffering a frame");
		return 0;
	}
	was_empty = lg_outq_empty(&c->q);
	rc = c->parked ? LG_OUTQ_FULL
	               : lg_outq_push(&c->q, cc, fo->f, c->n_chans + LG_QUEUE_EXTRA, LG_QUEUE_BYTES);
	if (rc < 0) {
		conn_kill(fo->w, c, "out of memory queueing a frame");
		return 0;
	}
	if (rc == LG_OUTQ_FULL) {
		/* This message is the first c misses on m's channel (parking
		 * records the seq after it): owed, and the newest for now. */
		conn_park(fo->w, c);
		cc->owed = 1;
		lg_add(&fo->w->st->invalidations_coalesced, 1);
		return 1;
	}
	if (was_empty)
		want_write(fo->w, c);
	show_direct(c);
	return 0;
}

#ifndef NDEBUG
/* Returns 1 if the socket the walk found is what show_direct shows now. */
static int shown_current(const struct ps_member *e)
{
	const struct conn *c = ((const struct conn_chan *)e->m)->conn;

	return c->shown_fd == e->fd && c->fd == e->fd && direct_ok(c);
}
#endif

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

void lg_ws_on_message(void *ctx, struct ps_channel *ch, const char *payload, size_t plen)
{
	struct lg_worker *w = ctx;
	struct fanout fo = { w, NULL, NULL, 0, 0 };
	const struct ps_member *e;
	size_t nlen, n;
	const char *name = ps_channel_name(ch, &nlen);
	int too_large;

	if (payload)
		lg_add(&w->st->redis_messages, 1);
	fo.f = lg_frame_invalidate(name, nlen, payload, plen, spread_for(ps_channel_size(ch)),
	                           &too_large);
	if (!fo.f) {
		lg_log_msg(LG_LOG_ERROR, "fanout", "out of memory building a frame; message dropped");
		return;
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
	fo.f->seq = ps_channel_seq(ch);
	fo.wire = lg_frame_wire(fo.f, &fo.wire_len);
	if (ps_channel_parked(ch))
		keep_newest(ch, fo.f);
	e = ps_channel_members(ch, &n);
	/* A member with a socket shown gets one send() and nothing of it is
	 * read: the floor's loop. The others are read; for those ahead, ask for
	 * their memory (the membership FAN_AHEAD slots on, its connection half
	 * as far), so the cache misses overlap this member's send(). A member
	 * that gets parked leaves its slot to the array's last member (the walk
	 * rule, registry.h): visit the slot again. */
	for (size_t i = 0; i < n;) {
		int parked = 0;

		if (i + FAN_AHEAD < n && e[i + FAN_AHEAD].fd < 0)
			__builtin_prefetch(e[i + FAN_AHEAD].m);
		if (i + FAN_AHEAD / 2 < n && e[i + FAN_AHEAD / 2].fd < 0)
			__builtin_prefetch(((const struct conn_chan *)e[i + FAN_AHEAD / 2].m)->conn);
		if (e[i].fd >= 0) {
			ssize_t m;

			assert(shown_current(&e[i]));
			m = send(e[i].fd, fo.wire, fo.wire_len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (m == (ssize_t)fo.wire_len)
				fan_sent(&fo);
			else
				parked = fan_one(&fo, e[i].m, 1, m);
		} else if (e[i].m->confirmed) {
			parked = fan_one(&fo, e[i].m, 0, 0);
		}
		if (parked) {
			keep_newest(ch, fo.f);
			e = ps_channel_members(ch, &n);
		} else {
			i++;
		}
	}
	fan_record(&fo);
	lg_frame_unref(fo.f);
}

/* The connection's timer fired: act on whatever deadline passed. */
static void conn_timer(struct lg_wheel_node *n, void *arg)
{
	struct lg_worker *w = arg;
	struct conn *c = (struct conn *)((char *)n - offsetof(struct conn, timer));
	uint32_t now = lg_worker_secs(w);

	if (c->close_code) {
		conn_kill(w, c, "close not sent in time");
		return;
	}
	if (c->choked_since_s && now - c->choked_since_s >= LG_CHOKE_LIMIT_S) {
		lg_add(&w->st->slow_closed, 1);
		conn_kill(w, c, "socket choked");
		return;
	}
	if (now - c->last_rx_s >= LG_HANGUP_IDLE_S) {
		conn_kill(w, c, "peer silent");
		return;
	}
	if (c->state == CS_AWAIT_SUBSCRIBE &&
	    now_ms(w) - c->opened_ms >= LG_SUBSCRIBE_DEADLINE_S * 1000u) {
		conn_close(w, c, 4003, "no subscribe in time");
		return;
	}
	if (c->exp && (int64_t)time(NULL) >= c->exp) {
		conn_close(w, c, 4002, "token expired");
		return;
	}
	if (!c->ping_sent && now - c->last_rx_s >= LG_PING_IDLE_S) {
		int rc = send_direct(w, c, ping_frame, sizeof ping_frame);
		c->ping_sent = 1;
		if (rc < 0) {
			conn_kill(w, c, "out of memory buffering a ping");
			return;
		}
		if (rc == 0) {
			c->want_ping = 1;
			want_write(w, c);
		}
	}
	conn_arm(w, c);
}

void lg_ws_tick(struct lg_worker *w)
{
	lg_wheel_advance(&w->wheel, lg_worker_secs(w), conn_timer, w);
}

unsigned lg_ws_close_some(struct lg_worker *w, unsigned n, int code)
{
	unsigned done = 0;
	struct conn *c;

	DL_FOREACH(w->conns, c) {
		if (done == n)
			break;
		if (c->close_code)
			continue;
		conn_close(w, c, code, "server restarting");
		done++;
	}
	return done;
}

/* Refuses a handshake with a complete HTTP/1.1 response. lws's own status
 * helper answers "HTTP/1.0" at this stage (the request's version is parsed
 * only for plain HTTP), which some WebSocket clients reject outright. */
static void refuse(struct lws *wsi, int status)
{
	static const char forbidden[] = "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n"
	                                "content-length: 20\r\nconnection: close\r\n\r\n"
	                                "origin not allowed\r\n";
	static const char not_found[] = "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n"
	                                "content-length: 11\r\nconnection: close\r\n\r\n"
	                                "not found\r\n";
	const char *r = status == 403 ? forbidden : not_found;
	size_t n = strlen(r);
	unsigned char buf[LWS_PRE + sizeof forbidden + sizeof not_found];

	memcpy(buf + LWS_PRE, r, n);
	/* Small enough for any socket buffer; a failure means the peer is gone. */
	(void)lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_HEADERS);
}

/* Returns 1 if the handshake may proceed; answers 403/404 itself if not. */
static int confirm_upgrade(struct lg_worker *w, struct lws *wsi)
{
	char buf[LG_ORIGIN_MAX_LEN + 2];
	int n;

	n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_GET_URI);
	if (n <= 0 || strcmp(buf, "/ws") != 0) {
		refuse(wsi, 404);
		return 0;
	}
	n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
	if (n <= 0)
		return 1;   /* not a browser: the token is what authorizes */
	if ((size_t)n >= sizeof buf ||
	    lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_ORIGIN) != n ||
	    !lg_config_origin_allowed(w->cfg, buf, (size_t)n)) {
		lg_add(&w->st->origin_rejected, 1);
		refuse(wsi, 403);
		return 0;
	}
	return 1;
}

static void on_established(struct lg_worker *w, struct conn *c, struct lws *wsi)
{
	c->wsi = wsi;
	c->fd = lws_get_socket_fd(wsi);
	c->opened_ms = now_ms(w);
	c->last_rx_s = lg_worker_secs(w);
	c->shown_fd = -1;
	/* lws may already hold bytes the client sent along with the upgrade. */
	c->rx_seen = 1;
	c->rx_iter = ev_iteration(w->loop);
	ev_io_init(&c->rx_watch, on_rx_ready, c->fd, EV_READ);
	ev_io_start(w->loop, &c->rx_watch);
	DL_APPEND(w->conns, c);
	lg_add(&w->st->connections_total, 1);
	if (w->n_conns >= w->cfg->max_connections || w->draining) {
		lg_add(&w->st->over_capacity, 1);
		conn_close(w, c, w->draining ? 1012 : 1013, "over capacity");
		return;
	}
	c->counted = 1;
	w->n_conns++;
	lg_set(&w->st->connections, w->n_conns);
	conn_arm(w, c);
}

static void on_closed(struct lg_worker *w, struct conn *c)
{
	if (!c->close_code)   /* ours were counted when sent */
		lg_add(&w->st->closes[lg_close_index(c->peer_code ? c->peer_code : 1006)], 1);
	/* Before lws closes the fd: a watcher left on it would see the next
	 * socket to get that number. */
	ev_io_stop(w->loop, &c->rx_watch);
	lg_wheel_cancel(&c->timer);
	lg_outq_clear(&c->q, NULL, NULL);
	conn_leave_all(w, c);
	lg_frame_unref(c->ctl);
	c->ctl = NULL;
	free(c->rx);
	c->rx = NULL;
	DL_DELETE(w->conns, c);
	if (c->counted) {
		w->n_conns--;
		lg_set(&w->st->connections, w->n_conns);
	}
	c->wsi = NULL;
}

int lg_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
                   void *user, void *in, size_t len)
{
	struct lg_worker *w = lg_worker_of(wsi);
	struct conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		lg_worker_protocols_ready(w);
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return confirm_upgrade(w, wsi) ? 0 : 1;
	case LWS_CALLBACK_ESTABLISHED:
		lg_worker_handshake_done(wsi);
		on_established(w, c, wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (c && c->wsi)
			on_receive(w, c, in, len);
		return 0;
	case LWS_CALLBACK_RECEIVE_PONG:
		if (c && c->wsi) {
			c->last_rx_s = lg_worker_secs(w);
			c->ping_sent = 0;
		}
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE: {
		int rc;
		if (!c || !c->wsi)
			return 0;
		rc = on_writeable(w, c);
		show_direct(c);
		return rc;
	}
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (!c || !c->wsi)
			return 0;
		c->peer_closing = 1;
		show_direct(c);
		if (len >= 2)
			c->peer_code = (uint16_t)(((const unsigned char *)in)[0] << 8 |
			                          ((const unsigned char *)in)[1]);
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (c && c->wsi)   /* CLOSED also comes for handshakes refused above */
			on_closed(w, c);
		return 0;
	default:
		return 0;
	}
}
