/* worker/session.c - one subscriber, transport-neutral (see session.h).
 *
 * Falling behind: a session whose queue fills is parked. Its queue is
 * dropped (each channel that had frames in it is owed one) and its
 * memberships leave the channels' delivery arrays, so from then on it costs
 * the fan-out nothing per message, however far behind it is (3,000
 * non-readers on one channel used to take a whole core and starve the
 * Redis link). Each channel keeps its newest frame while any member is
 * parked; once the parked session's socket has taken everything, it gets
 * one invalidation per channel that had news, that newest frame marked
 * "coalesced", and is back in delivery.
 */
#include "session.h"
#include "catchup.h"
#include "redis_glue.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

static struct lg_frame *frame_of_text(const char *text)
{
	return lg_frame_new(text, strlen(text));
}

struct lg_frame *session_pong_frame(void)
{
	static struct lg_frame *pong;

	if (!pong)
		pong = frame_of_text("{\"type\":\"pong\"}");
	return pong;
}

void session_count_delivery(struct lg_worker *w, const struct lg_frame *f)
{
	lg_add(&w->st->frames_delivered, 1);
	lg_metrics_observe(w->st, lg_now_ns() - f->born_ns, 1);
}

int session_open(struct conn *c)
{
	struct lg_worker *w = c->w;

	lg_add(&w->st->connections_total, 1);
	if (w->draining || w->n_sessions >= w->cfg->max_connections) {
		lg_add(&w->st->over_capacity, 1);
		return w->draining ? 1012 : 1013;
	}
	c->counted = 1;
	w->n_sessions++;
	lg_set(&w->st->connections, w->n_sessions);
	return 0;
}

/* --- channels ---------------------------------------------------------------- */

/* Drops the channel's newest frame once no member is parked any more:
 * only parked members may need it (see session_unpark). */
static void release_newest(struct ps_channel *ch)
{
	struct lg_frame **newest = (struct lg_frame **)ps_channel_user(ch);

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
		struct lg_frame **newest = (struct lg_frame **)ps_channel_user(ch);
		lg_frame_unref(*newest);
		*newest = NULL;
	}
	ps_leave(w->reg, m);
}

static void leave_all(struct conn *c)
{
	for (size_t i = 0; i < c->n_chans; i++)
		chan_leave(c->w, &c->chans[i].m);
	free(c->chans);
	c->chans = NULL;
	c->n_chans = 0;
	lg_set(&c->w->st->channels, ps_registry_channel_count(c->w->reg));
}

/* Returns c's membership of the channel called name, or NULL. */
static struct conn_chan *find_chan(struct conn *c, const char *name)
{
	for (size_t i = 0; i < c->n_chans; i++)
		if (c->chans[i].m.chan && strcmp(ps_channel_name(c->chans[i].m.chan, NULL), name) == 0)
			return &c->chans[i];
	return NULL;
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

/* Returns the 'subscribed' frame listing c's channels, or NULL. */
static struct lg_frame *subscribed_frame(const struct conn *c)
{
	const char *names[LG_TOKEN_MAX_CHANNELS];
	size_t lens[LG_TOKEN_MAX_CHANNELS];

	for (size_t i = 0; i < c->n_chans; i++)
		names[i] = ps_channel_name(c->chans[i].m.chan, &lens[i]);
	return lg_frame_subscribed(names, lens, c->n_chans);
}

/* The catch-up (contract 3a): right after 'subscribed', one "missed"
 * invalidation per channel the latest subscribe brought whose last publish
 * came after the page's render minus the slack, or where this worker cannot
 * know. The queue follows 'subscribed' on the wire. A token without iat
 * gets none. */
static void catch_up(struct conn *c)
{
	struct lg_worker *w = c->w;

	for (size_t i = 0; i < c->n_chans; i++) {
		struct conn_chan *cc = &c->chans[i];
		size_t nlen;
		const char *name;
		struct lg_frame *f;

		if (!cc->fresh)
			continue;
		cc->fresh = 0;
		name = ps_channel_name(cc->m.chan, &nlen);
		if (!c->iat_ms || !w->catchup ||
		    !lg_catchup_missed(w->catchup, name, nlen, c->iat_ms, w->cfg->render_slack_ms,
		                       redis_glue_covered_since(w, name, nlen)))
			continue;
		lg_add(&w->st->catchup_missed, 1);
		f = lg_frame_missed(name, nlen);
		/* A parked or full queue: owed, like any message it missed. */
		if (c->parked || !f ||
		    lg_outq_push(&c->q, cc, f, c->n_chans + LG_QUEUE_EXTRA, LG_QUEUE_BYTES) != 0)
			cc->owed = 1;
		lg_frame_unref(f);
	}
}

/* Every channel of c is confirmed: 'subscribed' goes out, first in line
 * after what is being written (replacing one not yet out), then the
 * catch-up. */
static void became_ready(struct conn *c)
{
	struct lg_frame *f = subscribed_frame(c);

	if (!f) {
		conn_close(c, 1011, "out of memory");
		return;
	}
	c->phase = PH_READY;
	lg_frame_unref(c->ctl);
	c->ctl = f;
	catch_up(c);
	conn_arm(c);
	(void)conn_flush(c);
}

void session_on_ready(void *ctx, struct ps_subscriber *sub)
{
	struct conn *c = (struct conn *)((char *)sub - offsetof(struct conn, sub));

	(void)ctx;
	if (!c->dead && c->phase == PH_PENDING)
		became_ready(c);
}

/* Replaces c's channels with the token's. Channels kept from the old set
 * move over whole: their place in the channel, their confirmation, a
 * resync owed after an outage (a client that re-subscribes while Redis is
 * away must still get it), what they missed while parked. */
static void apply_claims(struct conn *c, const struct lg_token_claims *cl)
{
	struct lg_worker *w = c->w;
	struct conn_chan *nc = calloc(cl->n_channels, sizeof *nc);
	size_t i;

	if (!nc) {
		conn_close(c, 1011, "out of memory");
		return;
	}
	for (i = 0; i < cl->n_channels; i++) {
		nc[i].conn = c;
		if (find_chan(c, cl->channels[i]))
			continue;
		nc[i].fresh = 1;
		if (ps_join(w->reg, &c->sub, &nc[i].m, cl->channels[i], strlen(cl->channels[i])) < 0)
			break;
	}
	if (i < cl->n_channels) {
		while (i--)
			chan_leave(w, &nc[i].m);
		free(nc);
		lg_log_msg(LG_LOG_WARN, "channel_limit", "registry full or out of memory; closing 1013");
		conn_close(c, 1013, "channel limit");
		return;
	}
	{
		struct rekey rk = { nc, cl };
		lg_outq_rekey(&c->q, rekey_one, &rk);
	}
	for (i = 0; i < cl->n_channels; i++) {
		struct conn_chan *old = find_chan(c, cl->channels[i]);
		if (old) {
			ps_move(&old->m, &nc[i].m);
			nc[i].owed = old->owed;
		}
	}
	leave_all(c);
	c->chans = nc;
	c->n_chans = cl->n_channels;
	c->shown_fd = -1;   /* what the new memberships show */
	if (c->parked)      /* new memberships park with the rest */
		for (i = 0; i < c->n_chans; i++)
			ps_park(&c->chans[i].m);
	c->exp_ms = cl->exp * 1000;
	c->iat_ms = cl->iat_ms;
	c->phase = PH_PENDING;
	lg_set(&w->st->channels, ps_registry_channel_count(w->reg));
	conn_arm(c);
	if (c->sub.pending == 0) {
		became_ready(c);
		return;
	}
	if (!w->redis_up) {   /* say why 'subscribed' waits */
		struct lg_frame *down = frame_of_text("{\"type\":\"status\",\"redis\":\"down\"}");
		if (down) {
			lg_frame_unref(c->status);
			c->status = down;
		}
	}
	(void)conn_flush(c);
	conn_show_direct(c);
}

const char *session_refusal_reason(enum lg_token_status st, const struct lg_token_claims *cl,
                                   char *buf, size_t n)
{
	if (st == LG_TOKEN_BAD_CLAIMS && cl->bad_claim)
		snprintf(buf, n, "%s: %s", lg_token_status_name(st), cl->bad_claim);
	else
		snprintf(buf, n, "%s", lg_token_status_name(st));
	return buf;
}

enum lg_token_status session_verify(struct conn *c, const char *token, size_t len,
                                    struct lg_token_claims *cl)
{
	struct lg_worker *w = c->w;
	enum lg_token_status st;

	st = lg_token_verify(w->keys, token, len, lg_wall_ms() / 1000,
	                     (int64_t)w->cfg->max_token_lifetime, cl);
	if (st != LG_TOKEN_OK)
		lg_add(&w->st->auth_failures[st], 1);
	return st;
}

void session_apply(struct conn *c, const struct lg_token_claims *cl)
{
	apply_claims(c, cl);
}

void session_app_ping(struct conn *c)
{
	if (c->app_pongs < UINT8_MAX)
		c->app_pongs++;
	(void)conn_flush(c);
}

/* --- falling behind -------------------------------------------------------------- */

void session_keep_newest(struct ps_channel *ch, struct lg_frame *f)
{
	struct lg_frame **newest = (struct lg_frame **)ps_channel_user(ch);

	if (*newest && (*newest)->seq >= f->seq)
		return;
	lg_frame_unref(*newest);
	*newest = lg_frame_ref(f);
}

/* A frame dropped from a parking session's queue: its channel is owed a
 * coalesced invalidation, and the frame may be the newest to send then. */
static void owe_dropped(const void *key, struct lg_frame *f, void *arg)
{
	struct conn_chan *cc = (struct conn_chan *)key;
	struct lg_worker *w = arg;

	cc->owed = 1;
	session_keep_newest(cc->m.chan, f);
	lg_add(&w->st->invalidations_coalesced, 1);
}

void session_park(struct conn *c, struct conn_chan *cc)
{
	if (!c->parked) {
		c->parked = 1;
		lg_add(&c->w->st->clients_parked, 1);
		lg_outq_clear(&c->q, owe_dropped, c->w);
	}
	for (size_t i = 0; i < c->n_chans; i++)
		ps_park(&c->chans[i].m);
	/* The message being delivered is the first cc misses (parking records
	 * the count after it): owed, and the newest of its channel for now. */
	cc->owed = 1;
	lg_add(&c->w->st->invalidations_coalesced, 1);
	conn_show_direct(c);
}

int session_unpark(struct conn *c)
{
	int rc = 0;

	c->parked = 0;
	for (size_t i = 0; i < c->n_chans; i++) {
		struct conn_chan *cc = &c->chans[i];
		struct ps_channel *ch = cc->m.chan;
		uint64_t missed = ps_unpark(&cc->m);

		lg_add(&c->w->st->invalidations_coalesced, missed);
		if ((missed || cc->owed) && cc->m.confirmed && rc == 0) {
			struct lg_frame *newest = *(struct lg_frame **)ps_channel_user(ch);
			size_t nlen;
			const char *name = ps_channel_name(ch, &nlen);
			/* No message since it parked: what it is owed is a catch-up. */
			struct lg_frame *f = newest ? lg_frame_coalesced(newest) : lg_frame_missed(name, nlen);
			/* The queue was empty and holds one per channel and more. */
			if (!f || lg_outq_push(&c->q, cc, f, c->n_chans + LG_QUEUE_EXTRA, SIZE_MAX) != 0)
				rc = -1;
			lg_frame_unref(f);
		}
		cc->owed = 0;
		release_newest(ch);
	}
	return rc;
}

/* --- Redis trouble ------------------------------------------------------------------ */

void session_status_all(struct lg_worker *w, int redis_up)
{
	struct lg_frame *f = frame_of_text(redis_up ? "{\"type\":\"status\",\"redis\":\"up\"}"
	                                            : "{\"type\":\"status\",\"redis\":\"down\"}");
	struct conn *c;

	if (!f) {
		lg_log_msg(LG_LOG_ERROR, "status", "out of memory building a status frame");
		return;
	}
	DL_FOREACH(w->conns, c) {
		if (c->kind == CK_HTTP || (c->phase != PH_PENDING && c->phase != PH_READY))
			continue;
		lg_frame_unref(c->status);
		c->status = lg_frame_ref(f);
		(void)conn_flush(c);
	}
	lg_frame_unref(f);
}

unsigned session_close_some(struct lg_worker *w, unsigned n, int code)
{
	unsigned done = 0;
	struct conn *c, *tmp;

	DL_FOREACH_SAFE(w->conns, c, tmp) {
		if (done == n)
			break;
		if (c->kind == CK_HTTP || c->close_code)
			continue;
		conn_close(c, code, "server restarting");
		done++;
	}
	return done;
}

/* --- deadlines ------------------------------------------------------------------------ */

/* The wheel's second at or after ms (since the worker started): a deadline
 * never fires early. */
static uint32_t second_after(uint32_t ms)
{
	return ms / 1000u + 1;
}

void conn_arm(struct conn *c)
{
	struct lg_worker *w = c->w;
	uint32_t now = lg_worker_secs(w), d;

	if (c->dead)
		return;
	switch (c->phase) {
	case PH_CLOSING:
		d = c->closing_s + LG_CLOSE_GRACE_S;
		break;
	case PH_REQUEST:
	case PH_RESPONDING:
		d = second_after(c->opened_ms + LG_HANDSHAKE_S * 1000u);
		break;
	case PH_AWAIT_SUBSCRIBE:
		d = second_after(c->opened_ms + LG_SUBSCRIBE_DEADLINE_S * 1000u);
		break;
	default:
		if (c->kind == CK_SSE)
			d = c->last_rx_s + LG_SSE_PING_S;
		else
			d = c->last_rx_s + (c->ping_sent ? LG_HANGUP_IDLE_S : LG_PING_IDLE_S);
		break;
	}
	if (c->exp_ms && c->phase != PH_CLOSING) {
		int64_t left = (c->exp_ms - lg_wall_ms() + 999) / 1000;
		uint32_t e = left <= 0 ? now : now + (uint32_t)(left > 86400 * 2 ? 86400 * 2 : left);
		if (e < d)
			d = e;
	}
	if (c->choked_since_s && c->choked_since_s + LG_CHOKE_LIMIT_S < d)
		d = c->choked_since_s + LG_CHOKE_LIMIT_S;
	lg_wheel_arm(&w->wheel, &c->timer, d);
}

/* c's timer fired: act on whatever deadline passed. */
static void on_deadline(struct lg_wheel_node *n, void *arg)
{
	struct lg_worker *w = arg;
	struct conn *c = (struct conn *)((char *)n - offsetof(struct conn, timer));
	uint32_t now = lg_worker_secs(w), now_ms = lg_worker_ms(w);

	if (c->phase == PH_CLOSING) {
		if (now - c->closing_s >= LG_CLOSE_GRACE_S) {
			conn_kill(c, "close not completed in time");
			return;
		}
	} else if (c->choked_since_s && now - c->choked_since_s >= LG_CHOKE_LIMIT_S) {
		lg_add(&w->st->slow_closed, 1);
		conn_kill(c, "socket choked");
		return;
	} else if (c->phase == PH_REQUEST || c->phase == PH_RESPONDING) {
		if (now_ms - c->opened_ms >= LG_HANDSHAKE_S * 1000u) {
			conn_kill(c, "request not in time");
			return;
		}
	} else if (c->phase == PH_AWAIT_SUBSCRIBE &&
	           now_ms - c->opened_ms >= LG_SUBSCRIBE_DEADLINE_S * 1000u) {
		conn_close(c, 4003, "no subscribe in time");
		return;
	} else if (c->exp_ms && lg_wall_ms() >= c->exp_ms) {
		conn_close(c, 4002, "token expired");
		return;
	} else if (c->kind == CK_WS && now - c->last_rx_s >= LG_HANGUP_IDLE_S) {
		conn_kill(c, "peer silent");
		return;
	} else if (c->kind == CK_WS && !c->ping_sent && now - c->last_rx_s >= LG_PING_IDLE_S) {
		c->ping_sent = 1;
		c->ping_due = 1;
		if (conn_flush(c) < 0)
			return;
	} else if (c->kind == CK_SSE && now - c->last_rx_s >= LG_SSE_PING_S) {
		c->last_rx_s = now;
		c->ping_due = 1;
		if (conn_flush(c) < 0)
			return;
	}
	conn_arm(c);
}

void session_tick(struct lg_worker *w)
{
	lg_wheel_advance(&w->wheel, lg_worker_secs(w), on_deadline, w);
}

void session_end(struct conn *c)
{
	struct lg_worker *w = c->w;

	if (c->kind != CK_HTTP && !c->close_code)   /* ours were counted when sent */
		lg_add(&w->st->closes[lg_close_index(c->peer_code ? c->peer_code : 1006)], 1);
	leave_all(c);
	if (c->counted) {
		c->counted = 0;
		w->n_sessions--;
		lg_set(&w->st->connections, w->n_sessions);
	}
}
