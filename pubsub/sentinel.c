/* pubsub/sentinel.c - master lookup and +switch-master through sentinels.
 *
 * One question at a time, one connection per question (a sentinel link
 * subscribed to +switch-master cannot ask anything else in RESP2). Owner
 * callbacks are made last in each handler, so an owner may free the
 * sentinel from inside them.
 */
#include "sentinel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ps_sentinel {
	struct ps_loop                   loop;
	struct ps_redis_url              url;
	struct ps_conn_params            cp;
	const struct ps_sentinel_events *ev;
	void                            *owner;
	/* locate */
	struct ps_conn                  *q;
	int                              q_i, q_tried, good;
	char                             why[320];
	/* watch */
	int                              watching;
	struct ps_conn                  *w;
	int                              w_i;
	unsigned                         w_attempts;
	void                            *w_timer;
	unsigned                       (*backoff)(void *owner, unsigned *n);
};

static const char SWITCH[] = "+switch-master";

static struct ps_conn *connect_to(struct ps_sentinel *sn, int i,
                                  const struct ps_conn_events *ev)
{
	struct ps_conn_params cp = sn->cp;

	cp.host = sn->url.hosts[i].host;
	cp.port = sn->url.hosts[i].port;
	return ps_conn_new(&sn->loop, &cp, ev, sn);
}

static void report_link(struct ps_sentinel *sn, int up, struct ps_conn *c,
                        enum ps_conn_fail cause, const char *detail)
{
	if (sn->ev->link)
		sn->ev->link(sn->owner, up, ps_conn_name(c), cause, detail);
}

/* --- locate ---------------------------------------------------------------- */

static void ask(struct ps_sentinel *sn);

/* The current sentinel could not answer: ask the next, or give up on the
 * round. */
static void next(struct ps_sentinel *sn)
{
	ps_conn_free(sn->q);
	sn->q = NULL;
	if (++sn->q_tried >= sn->url.nhosts) {
		sn->ev->failed(sn->owner, sn->why);
		return;
	}
	sn->q_i = (sn->q_i + 1) % sn->url.nhosts;
	ask(sn);
}

static void on_addr(void *arg, struct ps_conn *c, const redisReply *r)
{
	struct ps_sentinel *sn = arg;
	char host[PS_REDIS_HOST_MAX + 1];
	long port;

	if (!r)
		return;   /* closing: q_closed follows */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
	    r->element[0]->len < sizeof host && r->element[0]->len > 0 &&
	    (port = strtol(r->element[1]->str, NULL, 10)) > 0 && port < 65536) {
		memcpy(host, r->element[0]->str, r->element[0]->len);
		host[r->element[0]->len] = '\0';
		ps_conn_free(sn->q);
		sn->q = NULL;
		sn->good = sn->q_i;
		sn->ev->located(sn->owner, host, (int)port);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR)
		snprintf(sn->why, sizeof sn->why, "sentinel %s refused: %s", ps_conn_name(c), r->str);
	else
		snprintf(sn->why, sizeof sn->why, "sentinel %s does not know master '%s'",
		         ps_conn_name(c), sn->url.master);
	next(sn);
}

static void q_closed(void *owner, struct ps_conn *c, enum ps_conn_fail why, const char *detail)
{
	struct ps_sentinel *sn = owner;

	snprintf(sn->why, sizeof sn->why, "sentinel: %s", detail);
	report_link(sn, 0, c, why, detail);
	next(sn);
}

static const struct ps_conn_events q_events = { NULL, NULL, q_closed, NULL };

static void ask(struct ps_sentinel *sn)
{
	const char *argv[] = { "SENTINEL", "get-master-addr-by-name", sn->url.master };
	size_t lens[] = { 8, 23, strlen(sn->url.master) };

	sn->q = connect_to(sn, sn->q_i, &q_events);
	if (!sn->q || ps_conn_command(sn->q, on_addr, sn, 3, argv, lens) != PS_CMD_QUEUED) {
		snprintf(sn->why, sizeof sn->why, "sentinel: out of memory");
		next(sn);
	}
}

int ps_sentinel_locate(struct ps_sentinel *sn)
{
	if (sn->q)
		return 0;
	sn->q_tried = 0;
	sn->q_i = sn->good;
	sn->why[0] = '\0';
	ask(sn);
	return 0;
}

/* --- watch ------------------------------------------------------------------ */

static void watch_connect(struct ps_sentinel *sn);

static void watch_retry(struct ps_sentinel *sn)
{
	unsigned d = sn->backoff(sn->owner, &sn->w_attempts);

	ps_conn_free(sn->w);
	sn->w = NULL;
	sn->w_i = (sn->w_i + 1) % sn->url.nhosts;
	sn->loop.ops->timer_arm(sn->loop.loop, sn->w_timer, d);
}

static void on_watch_timer(void *arg)
{
	watch_connect(arg);
}

static void on_subscribed(void *arg, struct ps_conn *c, const redisReply *r)
{
	struct ps_sentinel *sn = arg;

	if (!r)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		report_link(sn, 0, c, PS_CONN_SETUP, r->str);
		watch_retry(sn);
		return;
	}
	sn->w_attempts = 0;
	report_link(sn, 1, c, 0, "");
	/* A failover announced while no sentinel was watched is caught by
	 * asking again now. */
	ps_sentinel_locate(sn);
}

static void w_push(void *owner, struct ps_conn *c, const struct ps_push *p, int solicited)
{
	struct ps_sentinel *sn = owner;
	char buf[600], name[PS_REDIS_MASTER_MAX + 1], host[PS_REDIS_HOST_MAX + 1];
	int port;

	(void)c;
	(void)solicited;
	if (p->kind != PS_PUSH_MESSAGE || p->channel_len != sizeof SWITCH - 1 ||
	    memcmp(p->channel, SWITCH, sizeof SWITCH - 1) != 0 || p->payload_len >= sizeof buf)
		return;
	memcpy(buf, p->payload, p->payload_len);
	buf[p->payload_len] = '\0';
	/* "<master> <old ip> <old port> <new ip> <new port>" */
	if (sscanf(buf, "%128s %*s %*d %255s %d", name, host, &port) != 3 ||
	    strcmp(name, sn->url.master) != 0 || port < 1 || port > 65535)
		return;
	sn->ev->switched(sn->owner, host, port);
}

static void w_closed(void *owner, struct ps_conn *c, enum ps_conn_fail why, const char *detail)
{
	struct ps_sentinel *sn = owner;

	report_link(sn, 0, c, why, detail);
	watch_retry(sn);
}

static const struct ps_conn_events w_events = { NULL, w_push, w_closed, NULL };

static void watch_connect(struct ps_sentinel *sn)
{
	const char *argv[] = { "SUBSCRIBE", SWITCH };
	size_t lens[] = { 9, sizeof SWITCH - 1 };

	sn->w = connect_to(sn, sn->w_i, &w_events);
	if (!sn->w || ps_conn_command(sn->w, on_subscribed, sn, 2, argv, lens) != PS_CMD_QUEUED)
		watch_retry(sn);
}

void ps_sentinel_watch(struct ps_sentinel *sn, unsigned (*backoff)(void *owner, unsigned *n))
{
	if (sn->watching)
		return;
	sn->watching = 1;
	sn->backoff = backoff;
	sn->w_i = sn->good;
	watch_connect(sn);
}

/* --- life cycle -------------------------------------------------------------- */

struct ps_sentinel *ps_sentinel_new(const struct ps_loop *loop, const struct ps_redis_url *url,
                                    const struct ps_conn_params *cp,
                                    const struct ps_sentinel_events *ev, void *owner)
{
	struct ps_sentinel *sn = calloc(1, sizeof *sn);

	if (!sn)
		return NULL;
	sn->loop = *loop;
	sn->url = *url;
	sn->cp = *cp;
	sn->cp.user = sn->url.user;
	sn->cp.password = sn->url.password;
	sn->cp.auth_optional = 1;
	sn->cp.db = 0;
	sn->ev = ev;
	sn->owner = owner;
	sn->w_timer = loop->ops->timer_new(loop->loop, on_watch_timer, sn);
	if (!sn->w_timer) {
		free(sn);
		return NULL;
	}
	return sn;
}

void ps_sentinel_free(struct ps_sentinel *sn)
{
	if (!sn)
		return;
	ps_conn_free(sn->q);
	ps_conn_free(sn->w);
	sn->loop.ops->timer_free(sn->loop.loop, sn->w_timer);
	free(sn);
}
