/* pubsub/sub_pattern.c - the one-pattern link of the single, sentinel and
 * cluster-global modes.
 *
 * States: IDLE (a retry is armed), LOCATING (asking the sentinels),
 * CONNECTING (connect, AUTH, [ROLE], PSUBSCRIBE in flight), UP (the
 * pattern is confirmed). Where the link goes: the URL's server; the master
 * the sentinels name, checked with ROLE; or in cluster-global mode any
 * seed node in turn (the cluster bus broadcasts PUBLISH to every node).
 */
#include "sub_int.h"
#include "clock.h"
#include "sentinel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pl_state { PL_IDLE, PL_LOCATING, PL_CONNECTING, PL_UP };

struct plink {
	struct ps_sub      *s;
	struct ps_conn     *conn;
	void               *timer;
	enum pl_state       state;
	unsigned            attempts;     /* failures since the last up */
	int                 ever_up;
	int64_t             since;        /* coverage start, wall ms; -1 */
	char                host[PS_REDIS_HOST_MAX + 1];
	int                 port;
	int                 located;      /* sentinel: host:port is the named master */
	int                 rot;          /* cluster-global: the seed to try next */
	char                addr[PS_REDIS_HOST_MAX + 16];
	struct ps_sentinel *sn;
};

static void connect_now(struct plink *l);

static const char *addr_of(struct plink *l)
{
	return ps_redis_hostport(l->host, l->port, l->addr, sizeof l->addr);
}

/* The attempt or the link is over: tell everyone, retry after a delay. */
static void lost(struct plink *l, enum ps_conn_fail cause, const char *detail)
{
	struct ps_sub *s = l->s;
	int was_up = l->state == PL_UP;
	unsigned d = sub_backoff(s, &l->attempts);

	ps_conn_free(l->conn);
	l->conn = NULL;
	l->state = PL_IDLE;
	l->located = 0;
	if (s->url.mode == PS_REDIS_CLUSTER)
		l->rot = (l->rot + 1) % s->url.nhosts;
	s->loop.ops->timer_arm(s->loop.loop, l->timer, d);
	if (was_up) {
		l->since = -1;
		s->stats.links_up = 0;
		ps_registry_link_down(s->reg);
	}
	sub_link_event(s, was_up ? PS_LINK_DOWN : PS_LINK_RETRY, PS_ROLE_DATA, l->addr,
	               cause, detail, d);
	if (was_up && s->ev.coverage)
		s->ev.coverage(s->owner, -1);
	sub_update_ready(s);
}

static void up(struct plink *l)
{
	struct ps_sub *s = l->s;

	l->state = PL_UP;
	l->attempts = 0;
	l->since = ps_wall_ms();
	if (l->ever_up)
		s->stats.reconnects++;
	l->ever_up = 1;
	s->stats.links_up = 1;
	sub_link_event(s, PS_LINK_UP, PS_ROLE_DATA, l->addr, 0, "", 0);
	/* Coverage first, so that a catch-up run from a 'ready' below sees it;
	 * then every channel is covered: confirm them all (resync to those
	 * confirmed before the outage, 'ready' to those waiting). */
	if (s->ev.coverage)
		s->ev.coverage(s->owner, l->since);
	ps_registry_confirm_all(s->reg);
	sub_update_ready(s);
}

static void on_psub(void *arg, struct ps_conn *c, const redisReply *r)
{
	struct plink *l = arg;
	char why[600];

	(void)c;
	if (!r)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof why, "PSUBSCRIBE refused by %s: %s", l->addr, r->str);
		lost(l, PS_CONN_SETUP, why);
		return;
	}
	up(l);
}

static void on_role(void *arg, struct ps_conn *c, const redisReply *r)
{
	struct plink *l = arg;
	char why[600];

	(void)c;
	if (!r)
		return;
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0)
		return;
	snprintf(why, sizeof why, "%s is not a master (ROLE: %s)", l->addr,
	         r->type == REDIS_REPLY_ERROR ? r->str :
	         r->type == REDIS_REPLY_ARRAY && r->elements && r->element[0]->type ==
	         REDIS_REPLY_STRING ? r->element[0]->str : "unexpected reply");
	lost(l, PS_CONN_SETUP, why);
}

static void c_push(void *owner, struct ps_conn *c, const struct ps_push *p, int solicited)
{
	struct plink *l = owner;
	struct ps_sub *s = l->s;

	(void)c;
	(void)solicited;
	if (p->kind == PS_PUSH_PMESSAGE && l->state == PL_UP && p->name_len == s->pattern_len &&
	    memcmp(p->name, s->pattern, p->name_len) == 0)
		sub_deliver(s, p->channel, p->channel_len, p->payload, p->payload_len);
}

static void c_closed(void *owner, struct ps_conn *c, enum ps_conn_fail why, const char *detail)
{
	(void)c;
	lost(owner, why, detail);
}

static const struct ps_conn_events conn_events = { NULL, c_push, c_closed, NULL };

static void connect_now(struct plink *l)
{
	struct ps_sub *s = l->s;
	struct ps_conn_params cp;
	const char *role[] = { "ROLE" };
	size_t role_len[] = { 4 };
	const char *psub[] = { "PSUBSCRIBE", s->pattern };
	size_t psub_len[] = { 10, s->pattern_len };
	int rc = PS_CMD_QUEUED;

	s->loop.ops->timer_stop(s->loop.loop, l->timer);   /* a retry may be armed */
	if (s->url.mode == PS_REDIS_SINGLE) {
		snprintf(l->host, sizeof l->host, "%s", s->url.host);
		l->port = s->url.port;
	} else if (s->url.mode == PS_REDIS_CLUSTER) {
		snprintf(l->host, sizeof l->host, "%s", s->url.hosts[l->rot].host);
		l->port = s->url.hosts[l->rot].port;
	}
	addr_of(l);
	sub_conn_params(s, PS_ROLE_DATA, l->host, l->port, &cp);
	l->conn = ps_conn_new(&s->loop, &cp, &conn_events, l);
	l->state = PL_CONNECTING;
	if (l->conn && s->url.mode == PS_REDIS_SENTINEL)
		rc = ps_conn_command(l->conn, on_role, l, 1, role, role_len);
	if (l->conn && rc == PS_CMD_QUEUED)
		rc = ps_conn_command(l->conn, on_psub, l, 2, psub, psub_len);
	if (!l->conn || rc != PS_CMD_QUEUED)
		lost(l, PS_CONN_OOM, "out of memory");
}

/* Connects, or first asks the sentinels where the master is. */
static void attempt(struct plink *l)
{
	if (l->s->url.mode == PS_REDIS_SENTINEL && !l->located) {
		l->state = PL_LOCATING;
		if (ps_sentinel_locate(l->sn) < 0)
			lost(l, PS_CONN_OOM, "out of memory");
		return;
	}
	connect_now(l);
}

static void on_timer(void *arg)
{
	attempt(arg);
}

/* --- sentinel events ---------------------------------------------------------- */

static void moved_to(struct plink *l, const char *host, int port, const char *how)
{
	char why[400];

	if (l->state == PL_LOCATING || l->state == PL_IDLE) {
		/* Waiting for an answer, or for a retry to a master that may be
		 * gone: go to the one named now. */
		snprintf(l->host, sizeof l->host, "%s", host);
		l->port = port;
		l->located = 1;
		connect_now(l);
		return;
	}
	if (strcmp(host, l->host) == 0 && port == l->port)
		return;   /* the link is already there */
	/* The master moved while we were on (or going to) the old one: what
	 * is published on the new one from now on is not seen here. */
	snprintf(why, sizeof why, "%s: master '%s' is now %s:%d", how, l->s->url.master,
	         host, port);
	lost(l, PS_CONN_SETUP, why);
	snprintf(l->host, sizeof l->host, "%s", host);
	l->port = port;
	l->located = 1;
	l->attempts = 0;
	l->s->loop.ops->timer_arm(l->s->loop.loop, l->timer, 0);
}

static void sn_located(void *owner, const char *host, int port)
{
	moved_to(owner, host, port, "sentinel");
}

static void sn_switched(void *owner, const char *host, int port)
{
	moved_to(owner, host, port, "+switch-master");
}

static void sn_failed(void *owner, const char *why)
{
	struct plink *l = owner;

	if (l->state == PL_LOCATING)
		lost(l, PS_CONN_CONNECT, why);
}

static void sn_link(void *owner, int is_up, const char *addr, enum ps_conn_fail cause,
                    const char *detail)
{
	struct plink *l = owner;

	sub_link_event(l->s, is_up ? PS_LINK_UP : PS_LINK_RETRY, PS_ROLE_SENTINEL, addr,
	               cause, detail, 0);
}

static unsigned sn_backoff(void *owner, unsigned *n)
{
	struct plink *l = owner;
	return sub_backoff(l->s, n);
}

static const struct ps_sentinel_events sn_events = {
	sn_located, sn_failed, sn_switched, sn_link,
};

/* --- the registry's backend ----------------------------------------------------- */

/* The pattern covers every channel: confirmed now while it is up. */
static int be_subscribe(void *be, const char *name, size_t len)
{
	struct plink *l = be;

	(void)name;
	(void)len;
	return l->state == PL_UP ? 1 : 0;
}

static int be_unsubscribe(void *be, const char *name, size_t len)
{
	(void)be;
	(void)name;
	(void)len;
	return 0;
}

const struct ps_backend_ops plink_backend = { be_subscribe, be_unsubscribe };

/* --- life cycle ------------------------------------------------------------------ */

struct plink *plink_new(struct ps_sub *s)
{
	struct plink *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	l->s = s;
	l->since = -1;
	l->timer = s->loop.ops->timer_new(s->loop.loop, on_timer, l);
	if (!l->timer) {
		free(l);
		return NULL;
	}
	if (s->url.mode == PS_REDIS_SENTINEL) {
		struct ps_conn_params cp;
		sub_conn_params(s, PS_ROLE_SENTINEL, "", 0, &cp);
		l->sn = ps_sentinel_new(&s->loop, &s->url, &cp, &sn_events, l);
		if (!l->sn) {
			s->loop.ops->timer_free(s->loop.loop, l->timer);
			free(l);
			return NULL;
		}
	}
	snprintf(l->addr, sizeof l->addr, "%s", s->url.mode == PS_REDIS_SENTINEL ?
	         "(master not located yet)" : "");
	return l;
}

void plink_start(struct plink *l)
{
	if (l->sn)
		ps_sentinel_watch(l->sn, sn_backoff);
	attempt(l);
}

int plink_ready(const struct plink *l)
{
	return l->state == PL_UP;
}

int64_t plink_covered_since(const struct plink *l)
{
	return l->since;
}

void plink_free(struct plink *l)
{
	if (!l)
		return;
	ps_conn_free(l->conn);
	ps_sentinel_free(l->sn);
	l->s->loop.ops->timer_free(l->s->loop.loop, l->timer);
	free(l);
}
