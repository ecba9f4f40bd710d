/* pubsub/redis_sub.c - the Redis subscriber connection.
 *
 * States: IDLE (waiting to retry), CONNECTING (TCP, AUTH and PING in
 * flight, under a timeout), UP (subscribed mode, heartbeat running).
 * hiredis 0.14 has no reconnect and no async timeouts: both live here, on
 * the owner's single timer.
 */
#include "redis_sub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <hiredis/hiredis.h>

/* A channel name with a space can never be a livegate channel, so the
 * heartbeat cannot collide with one. */
#define HEARTBEAT_CHANNEL "livegate heartbeat"

enum state { ST_IDLE, ST_CONNECTING, ST_UP, ST_STOPPED };

struct ps_redis {
	struct ps_redis_params       p;
	char                        *prefix;
	size_t                       prefix_len;
	char                        *hb_name;      /* prefix + HEARTBEAT_CHANNEL */
	size_t                       hb_len;
	struct ps_registry          *reg;
	const struct ps_redis_hooks *hooks;
	void                        *loop;
	redisAsyncContext           *ac;
	enum state                   state;
	unsigned                     attempts;     /* failed attempts since last up */
	int                          hb_waiting;   /* heartbeat sent, not answered */
	int                          rx_alive;     /* a reply came since the last check */
	int                          freeing;      /* we are inside redisAsyncFree */
	char                         detail[160];  /* why the last attempt failed */
};

static void connect_now(struct ps_redis *r);

static int be_subscribe(void *be, const char *name, size_t len);
static int be_unsubscribe(void *be, const char *name, size_t len);
static const struct ps_backend_ops backend_ops = { be_subscribe, be_unsubscribe };

/* Returns the next retry delay: base * 2^attempts capped, with jitter over
 * its upper half so a fleet restarting together spreads out. */
static unsigned next_delay(struct ps_redis *r)
{
	unsigned d = r->p.backoff_base_ms;

	for (unsigned i = 0; i < r->attempts && d < r->p.backoff_cap_ms; i++)
		d *= 2;
	if (d > r->p.backoff_cap_ms)
		d = r->p.backoff_cap_ms;
	if (r->attempts < 32)
		r->attempts++;
	return d / 2 + (unsigned)(random() % (d / 2 + 1));
}

/* Goes IDLE and arms the retry timer; reports ev with the current detail. */
static void retry_later(struct ps_redis *r, enum ps_link_event ev)
{
	unsigned d = next_delay(r);

	r->state = ST_IDLE;
	r->hooks->arm_timer(r->loop, d);
	r->hooks->link_event(r->loop, ev, r->detail, d);
}

/* Records why the link failed. The first reason of an attempt stands: a
 * refused AUTH makes the pipelined PING behind it fail too (NOAUTH), and
 * the log must name the password, not the PING. */
static void set_detail(struct ps_redis *r, const char *what, const char *why)
{
	if (r->detail[0])
		return;
	snprintf(r->detail, sizeof r->detail, "%s%s%s", what, why ? ": " : "",
	         why ? why : "");
}

/* Drops the current context ourselves (timeout, dead heartbeat, shutdown).
 * hiredis may call on_disconnect from inside; `freeing` makes it a no-op. */
static void drop_context(struct ps_redis *r)
{
	redisAsyncContext *ac = r->ac;

	if (!ac)
		return;
	r->ac = NULL;
	r->freeing = 1;
	redisAsyncFree(ac);
	r->freeing = 0;
}

/* The link was lost while up or connecting: tell the registry, retry. */
static void link_lost(struct ps_redis *r)
{
	int was_up = r->state == ST_UP;

	r->hb_waiting = 0;
	r->rx_alive = 0;
	if (was_up)
		ps_registry_link_down(r->reg);
	retry_later(r, was_up ? PS_LINK_DOWN : PS_LINK_RETRY);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct ps_redis *r = ac->data;

	(void)status;
	if (!r || r->freeing)
		return;
	r->ac = NULL;
	if (r->state == ST_STOPPED)
		return;
	if (ac->err)
		set_detail(r, "connection lost", ac->errstr);
	else if (!r->detail[0])
		set_detail(r, "connection closed", NULL);
	link_lost(r);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct ps_redis *r = ac->data;

	if (status == REDIS_OK || !r)
		return;
	/* hiredis frees the context after this and calls no on_disconnect. */
	r->ac = NULL;
	set_detail(r, "connect failed", ac->errstr);
	retry_later(r, PS_LINK_RETRY);
}

/* Returns 1 if reply is a pub/sub push [kind, channel, ...] with at least n
 * elements, filling kind and chan. */
static int push_parts(const redisReply *reply, size_t n, const redisReply **kind,
                      const redisReply **chan)
{
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < n)
		return 0;
	*kind = reply->element[0];
	*chan = reply->element[1];
	return (*kind)->type == REDIS_REPLY_STRING && (*chan)->type == REDIS_REPLY_STRING;
}

static void on_sub(redisAsyncContext *ac, void *rp, void *priv)
{
	struct ps_redis *r = priv;
	const redisReply *reply = rp, *kind, *chan;
	const char *name;
	size_t len;

	(void)ac;
	if (!push_parts(reply, 3, &kind, &chan) || r->state != ST_UP)
		return;
	r->rx_alive = 1;
	if ((size_t)chan->len == r->hb_len && memcmp(chan->str, r->hb_name, r->hb_len) == 0) {
		r->hb_waiting = 0;
		return;
	}
	if ((size_t)chan->len <= r->prefix_len || memcmp(chan->str, r->prefix, r->prefix_len) != 0)
		return;
	name = chan->str + r->prefix_len;
	len = (size_t)chan->len - r->prefix_len;
	if (strcmp(kind->str, "message") == 0) {
		const redisReply *pl = reply->element[2];
		if (pl->type == REDIS_REPLY_STRING)
			ps_registry_message(r->reg, name, len, pl->str, (size_t)pl->len);
	} else if (strcmp(kind->str, "subscribe") == 0) {
		ps_registry_confirmed(r->reg, name, len);
	}
	/* "unsubscribe" confirmations carry nothing we act on: the registry's
	 * own state says whether the channel is wanted. */
}

static int send_heartbeat(struct ps_redis *r)
{
	if (redisAsyncCommand(r->ac, on_sub, r, "SUBSCRIBE %b", r->hb_name,
	                      r->hb_len) != REDIS_OK)
		return -1;
	r->hb_waiting = 1;
	return 0;
}

/* AUTH and PING replies. The PING answer means the link is usable. */
static void on_hello(redisAsyncContext *ac, void *rp, void *priv)
{
	struct ps_redis *r = ac->data;
	const redisReply *reply = rp;

	if (!reply || !r || r->state != ST_CONNECTING)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		/* Wrong password and the like: keep the server's reason for the log,
		 * drop the link and back off like any failure. */
		set_detail(r, priv ? "AUTH refused" : "PING refused", reply->str);
		redisAsyncDisconnect(ac);
		return;
	}
	if (priv)   /* AUTH OK; the PING answer follows */
		return;
	r->state = ST_UP;
	r->attempts = 0;
	r->detail[0] = '\0';
	redisEnableKeepAlive(&ac->c);
	if (send_heartbeat(r) < 0) {
		set_detail(r, "heartbeat", "could not queue SUBSCRIBE");
		redisAsyncDisconnect(ac);
		return;
	}
	r->hooks->arm_timer(r->loop, r->p.heartbeat_ms);
	r->hooks->link_event(r->loop, PS_LINK_UP, "", 0);
	ps_registry_link_up(r->reg);
}

static void connect_now(struct ps_redis *r)
{
	const struct ps_redis_url *u = &r->p.url;
	redisAsyncContext *ac;
	int rc;

	r->detail[0] = '\0';
	ac = redisAsyncConnect(u->host, u->port);
	if (!ac) {
		set_detail(r, "connect", "out of memory");
		retry_later(r, PS_LINK_RETRY);
		return;
	}
	if (ac->err) {
		set_detail(r, "connect failed", ac->errstr);
		redisAsyncFree(ac);
		retry_later(r, PS_LINK_RETRY);
		return;
	}
	ac->data = r;
	if (r->hooks->attach(r->loop, ac) < 0) {
		set_detail(r, "connect", "could not watch the socket");
		redisAsyncFree(ac);
		retry_later(r, PS_LINK_RETRY);
		return;
	}
	r->ac = ac;
	r->state = ST_CONNECTING;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	/* Pipelined before the connect completes: hiredis keeps the order. A
	 * non-NULL privdata marks the AUTH reply. */
	if (u->password[0] && u->user[0])
		rc = redisAsyncCommand(ac, on_hello, r, "AUTH %s %s", u->user, u->password);
	else if (u->password[0])
		rc = redisAsyncCommand(ac, on_hello, r, "AUTH %s", u->password);
	else
		rc = REDIS_OK;
	if (rc == REDIS_OK)
		rc = redisAsyncCommand(ac, on_hello, NULL, "PING");
	if (rc != REDIS_OK) {
		set_detail(r, "connect", "could not queue AUTH/PING");
		drop_context(r);
		retry_later(r, PS_LINK_RETRY);
		return;
	}
	r->hooks->arm_timer(r->loop, r->p.connect_timeout_ms);
}

/* Returns 1 if the kernel holds bytes from Redis we have not read yet. */
static int unread_bytes(const struct ps_redis *r)
{
	int n = 0;

	return r->ac && r->ac->c.fd >= 0 && ioctl(r->ac->c.fd, FIONREAD, &n) == 0 && n > 0;
}

void ps_redis_timer(struct ps_redis *r)
{
	switch (r->state) {
	case ST_IDLE:
		connect_now(r);
		break;
	case ST_CONNECTING:
		if (!r->detail[0])
			set_detail(r, "connect timed out", NULL);
		drop_context(r);
		link_lost(r);
		break;
	case ST_UP:
		/* A link that delivered anything since the last check, or has bytes
		 * waiting that we have not read yet, is alive: the heartbeat's
		 * answer may be queued behind seconds of messages on a busy link. */
		if (r->hb_waiting && !r->rx_alive && !unread_bytes(r)) {
			set_detail(r, "heartbeat unanswered", NULL);
			drop_context(r);
			link_lost(r);
			break;
		}
		r->rx_alive = 0;
		if (!r->hb_waiting && send_heartbeat(r) < 0) {
			set_detail(r, "heartbeat", "could not queue SUBSCRIBE");
			drop_context(r);
			link_lost(r);
			break;
		}
		r->hooks->arm_timer(r->loop, r->p.heartbeat_ms);
		break;
	case ST_STOPPED:
		break;
	}
}

static int be_subscribe(void *be, const char *name, size_t len)
{
	struct ps_redis *r = be;

	if (r->state != ST_UP || !r->ac)
		return -1;
	return redisAsyncCommand(r->ac, on_sub, r, "SUBSCRIBE %b%b", r->prefix,
	                         r->prefix_len, name, len) == REDIS_OK ? 0 : -1;
}

static int be_unsubscribe(void *be, const char *name, size_t len)
{
	struct ps_redis *r = be;

	if (r->state != ST_UP || !r->ac)
		return -1;
	return redisAsyncCommand(r->ac, NULL, NULL, "UNSUBSCRIBE %b%b", r->prefix,
	                         r->prefix_len, name, len) == REDIS_OK ? 0 : -1;
}

struct ps_redis *ps_redis_new(const struct ps_redis_params *p,
                              struct ps_registry *reg,
                              const struct ps_redis_hooks *hooks, void *loop)
{
	struct ps_redis *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->p = *p;
	r->prefix = strdup(p->prefix ? p->prefix : "");
	r->prefix_len = r->prefix ? strlen(r->prefix) : 0;
	r->hb_len = r->prefix_len + sizeof HEARTBEAT_CHANNEL - 1;
	r->hb_name = malloc(r->hb_len + 1);
	if (!r->prefix || !r->hb_name) {
		free(r->prefix);
		free(r->hb_name);
		free(r);
		return NULL;
	}
	memcpy(r->hb_name, r->prefix, r->prefix_len);
	memcpy(r->hb_name + r->prefix_len, HEARTBEAT_CHANNEL, sizeof HEARTBEAT_CHANNEL);
	r->p.prefix = r->prefix;
	if (r->p.backoff_base_ms < 2)
		r->p.backoff_base_ms = 2;
	if (r->p.backoff_cap_ms < r->p.backoff_base_ms)
		r->p.backoff_cap_ms = r->p.backoff_base_ms;
	r->reg = reg;
	r->hooks = hooks;
	r->loop = loop;
	r->state = ST_IDLE;
	ps_registry_set_backend(reg, &backend_ops, r);
	return r;
}

void ps_redis_start(struct ps_redis *r)
{
	connect_now(r);
}

int ps_redis_is_up(const struct ps_redis *r)
{
	return r->state == ST_UP;
}

void ps_redis_free(struct ps_redis *r)
{
	if (!r)
		return;
	r->state = ST_STOPPED;
	r->hooks->arm_timer(r->loop, 0);
	drop_context(r);
	ps_registry_set_backend(r->reg, NULL, NULL);
	free(r->prefix);
	free(r->hb_name);
	free(r);
}
