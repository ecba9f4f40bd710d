/* pubsub/sub_sharded.c - sharded cluster pub/sub: SSUBSCRIBE per channel on
 * the master that owns the slot of the prefixed channel.
 *
 * A link to every master of the slot map (cluster pub/sub needs one per
 * master that carries channels, and with channels spread over slots that is
 * all of them; an idle link costs a PING now and then). A channel is WANT
 * (placed on a node, not subscribed: its link is down or the map does not
 * know its slot), SENT, or CONFIRMED. What breaks a channel's subscription
 * - its node's link lost, the server's own sunsubscribe when its slot left
 * the node, a MOVED answer, a map that names another owner - makes it
 * WANT again and, if it was confirmed, tells the registry (resync once it
 * is confirmed again), and asks for a fresh map. The map is also re-read
 * every cluster_refresh_ms, so a move the server did not announce is found.
 *
 * Confirmations are matched to their SSUBSCRIBE by a generation number: a
 * confirmation of an older SSUBSCRIBE of the same name (a leave and a join
 * in between) does not confirm the newer one.
 */
#include "sub_int.h"
#include "clock.h"
#include "cluster_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* uthash aborts on allocation failure unless told otherwise. */
static int hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) do { (void)(obj); hash_oom = 1; } while (0)
#include <uthash.h>

#define REFRESH_SOON_MS 100   /* a refresh asked for while one ran       */
#define INCOMPLETE_MAX_MS 1000 /* re-reading a map that left channels out */

enum ch_state { CH_WANT, CH_SENT, CH_CONFIRMED };

struct node;

struct chan {
	UT_hash_handle hh;
	struct node   *node;      /* where it is (to be) subscribed; NULL: unplaced */
	enum ch_state  state;
	uint64_t       gen;       /* of its last SSUBSCRIBE */
	int64_t        since;     /* wall ms of its confirmation */
	unsigned       slot;
	size_t         len;
	char           name[];    /* without the prefix */
};

struct node {
	struct sharded *sh;
	char            host[PS_REDIS_HOST_MAX + 1];
	int             port;
	char            addr[PS_REDIS_HOST_MAX + 16];
	struct ps_conn *conn;
	void           *timer;    /* retry */
	int             up;       /* ready: SSUBSCRIBE may go */
	int             in_map;   /* a master of the current map */
	int             ever_up;
	unsigned        attempts;
	size_t          nchans;   /* channels placed here */
};

struct sharded {
	struct ps_sub           *s;
	struct ps_cluster_map   *map;          /* NULL until the first fetch */
	struct node            **nodes;
	int                      nnodes;
	struct chan             *chans;        /* uthash head */
	size_t                   unplaced;
	struct ps_cluster_fetch *fetch;
	void                    *refresh_timer;
	unsigned                 fetch_attempts;
	int                      refresh_again; /* asked for while a fetch ran */
	int                      applying;      /* inside apply_map           */
	unsigned                 incomplete;    /* maps in a row leaving channels out */
	int                      map_ok;        /* the last fetch succeeded */
	uint64_t                 gen;
};

static void refresh(struct sharded *sh);
static void place(struct sharded *sh, struct chan *ch);

/* --- channels ------------------------------------------------------------------- */

static struct chan *find(struct sharded *sh, const char *name, size_t len)
{
	struct chan *ch = NULL;

	HASH_FIND(hh, sh->chans, name, len, ch);
	return ch;
}

static void detach(struct sharded *sh, struct chan *ch)
{
	if (!ch->node)
		return;
	ch->node->nchans--;
	ch->node = NULL;
	sh->unplaced++;
	ch->state = CH_WANT;
}

static void attach(struct sharded *sh, struct chan *ch, struct node *n)
{
	sh->unplaced--;
	ch->node = n;
	n->nchans++;
	ch->state = CH_WANT;
}

/* The channel's subscription is gone: if it was confirmed, the registry
 * resyncs it once confirmed again. */
static void chan_down(struct sharded *sh, struct chan *ch)
{
	if (ch->state == CH_CONFIRMED)
		ps_registry_channel_down(sh->s->reg, ch->name, ch->len);
	ch->state = CH_WANT;
	ch->since = -1;
}

static void on_ssub(void *arg, struct ps_conn *c, const redisReply *r);

/* Sends SSUBSCRIBE for ch on its node (which is up). Stays WANT when the
 * link is full (its room event sends it) or failing (its loss does). */
static void send_ssub(struct sharded *sh, struct chan *ch)
{
	struct ps_sub *s = sh->s;
	char stack[512], *full = stack;
	const char *argv[2] = { "SSUBSCRIBE", NULL };
	size_t lens[2] = { 10, s->prefix_len + ch->len };
	uint64_t gen = ++sh->gen;

	if (lens[1] > sizeof stack && !(full = malloc(lens[1])))
		return;
	memcpy(full, s->prefix, s->prefix_len);
	memcpy(full + s->prefix_len, ch->name, ch->len);
	argv[1] = full;
	if (ps_conn_command(ch->node->conn, on_ssub, (void *)(uintptr_t)gen, 2, argv, lens) ==
	    PS_CMD_QUEUED) {
		ch->state = CH_SENT;
		ch->gen = gen;
	}
	if (full != stack)
		free(full);
}

static void send_sunsub(struct sharded *sh, struct chan *ch)
{
	struct ps_sub *s = sh->s;
	char stack[512], *full = stack;
	const char *argv[2] = { "SUNSUBSCRIBE", NULL };
	size_t lens[2] = { 12, s->prefix_len + ch->len };

	if (!ch->node || !ch->node->up || ch->state == CH_WANT)
		return;
	if (lens[1] > sizeof stack && !(full = malloc(lens[1])))
		return;
	memcpy(full, s->prefix, s->prefix_len);
	memcpy(full + s->prefix_len, ch->name, ch->len);
	argv[1] = full;
	/* Best effort: a subscription left behind only costs its messages,
	 * which no channel of ours takes. */
	(void)ps_conn_command(ch->node->conn, NULL, NULL, 2, argv, lens);
	if (full != stack)
		free(full);
}

/* Sends what waits on n. */
static void send_wanted(struct sharded *sh, struct node *n)
{
	struct chan *ch, *tmp;

	HASH_ITER(hh, sh->chans, ch, tmp)
		if (ch->node == n && ch->state == CH_WANT)
			send_ssub(sh, ch);
}

/* Takes every channel of slot placed on n off it, to be placed anew. */
static void replace_slot(struct sharded *sh, struct node *n, unsigned slot)
{
	struct chan *ch, *tmp;

	HASH_ITER(hh, sh->chans, ch, tmp) {
		if (ch->node != n || ch->slot != slot)
			continue;
		send_sunsub(sh, ch);
		chan_down(sh, ch);
		detach(sh, ch);
		place(sh, ch);
	}
}

/* --- readiness ----------------------------------------------------------------------- */

/* Ready while the map is known and every master's link is up. A channel
 * between two owners (its slot just moved) is its own outage, reported by
 * its resync, not the process's. */
int sharded_ready(const struct sharded *sh)
{
	if (!sh->map_ok)
		return 0;
	for (int i = 0; i < sh->nnodes; i++)
		if (sh->nodes[i]->in_map && !sh->nodes[i]->up)
			return 0;
	return 1;
}

static void count_links(struct sharded *sh)
{
	unsigned links = 0, up = 0;

	for (int i = 0; i < sh->nnodes; i++) {
		links += sh->nodes[i]->in_map || sh->nodes[i]->nchans;
		up += sh->nodes[i]->up;
	}
	sh->s->stats.links = links;
	sh->s->stats.links_up = up;
	sub_update_ready(sh->s);
}

/* --- node links -------------------------------------------------------------------- */

static void node_connect(struct node *n);

static struct node *node_find(struct sharded *sh, const char *host, int port)
{
	for (int i = 0; i < sh->nnodes; i++)
		if (sh->nodes[i]->port == port && strcmp(sh->nodes[i]->host, host) == 0)
			return sh->nodes[i];
	return NULL;
}

static void node_free(struct sharded *sh, struct node *n)
{
	for (int i = 0; i < sh->nnodes; i++) {
		if (sh->nodes[i] == n) {
			sh->nodes[i] = sh->nodes[--sh->nnodes];
			break;
		}
	}
	ps_conn_free(n->conn);
	sh->s->loop.ops->timer_free(sh->s->loop.loop, n->timer);
	free(n);
}

static void node_lost(struct node *n, enum ps_conn_fail cause, const char *detail)
{
	struct sharded *sh = n->sh;
	struct ps_sub *s = sh->s;
	int was_up = n->up;
	unsigned d = sub_backoff(s, &n->attempts);
	struct chan *ch, *tmp;

	ps_conn_free(n->conn);
	n->conn = NULL;
	n->up = 0;
	HASH_ITER(hh, sh->chans, ch, tmp)
		if (ch->node == n)
			chan_down(sh, ch);
	s->loop.ops->timer_arm(s->loop.loop, n->timer, d);
	sub_link_event(s, was_up ? PS_LINK_DOWN : PS_LINK_RETRY, PS_ROLE_DATA, n->addr, cause,
	               detail, d);
	count_links(sh);
	refresh(sh);   /* a failover may have moved its slots */
}

static void n_ready(void *owner, struct ps_conn *c)
{
	struct node *n = owner;
	struct ps_sub *s = n->sh->s;

	(void)c;
	n->up = 1;
	n->attempts = 0;
	if (n->ever_up)
		s->stats.reconnects++;
	n->ever_up = 1;
	sub_link_event(s, PS_LINK_UP, PS_ROLE_DATA, n->addr, 0, "", 0);
	send_wanted(n->sh, n);
	count_links(n->sh);
}

static void n_push(void *owner, struct ps_conn *c, const struct ps_push *p, int solicited)
{
	struct node *n = owner;
	struct sharded *sh = n->sh;
	struct ps_sub *s = sh->s;
	struct chan *ch;

	(void)c;
	if (p->kind == PS_PUSH_SMESSAGE) {
		sub_deliver(s, p->channel, p->channel_len, p->payload, p->payload_len);
		return;
	}
	/* Unasked, sunsubscribe means the channel's slot left this node. */
	if (p->kind != PS_PUSH_SUNSUBSCRIBE || solicited || p->name_len <= s->prefix_len ||
	    memcmp(p->name, s->prefix, s->prefix_len) != 0)
		return;
	ch = find(sh, p->name + s->prefix_len, p->name_len - s->prefix_len);
	if (!ch || ch->node != n)
		return;
	chan_down(sh, ch);
	detach(sh, ch);
	count_links(sh);
	refresh(sh);   /* places it at the slot's new owner */
}

static void n_closed(void *owner, struct ps_conn *c, enum ps_conn_fail why, const char *detail)
{
	(void)c;
	node_lost(owner, why, detail);
}

static void n_room(void *owner, struct ps_conn *c)
{
	struct node *n = owner;

	(void)c;
	send_wanted(n->sh, n);
}

static const struct ps_conn_events node_events = { n_ready, n_push, n_closed, n_room };

static void node_connect(struct node *n)
{
	struct ps_conn_params cp;

	sub_conn_params(n->sh->s, PS_ROLE_DATA, n->host, n->port, &cp);
	n->conn = ps_conn_new(&n->sh->s->loop, &cp, &node_events, n);
	if (!n->conn)
		node_lost(n, PS_CONN_OOM, "out of memory");
}

static void on_node_timer(void *arg)
{
	struct node *n = arg;
	struct sharded *sh = n->sh;

	if (!n->in_map && !n->nchans) {
		node_free(sh, n);   /* no longer a master, nothing on it */
		count_links(sh);
		return;
	}
	node_connect(n);
}

/* Returns the link to host:port, made (and connecting) if new. */
static struct node *node_get(struct sharded *sh, const char *host, int port)
{
	struct node *n = node_find(sh, host, port), **v;

	if (n)
		return n;
	n = calloc(1, sizeof *n);
	v = realloc(sh->nodes, (size_t)(sh->nnodes + 1) * sizeof *v);
	if (v)
		sh->nodes = v;
	if (!n || !v || !(n->timer = sh->s->loop.ops->timer_new(sh->s->loop.loop,
	                                                        on_node_timer, n))) {
		free(n);
		return NULL;
	}
	n->sh = sh;
	snprintf(n->host, sizeof n->host, "%s", host);
	n->port = port;
	ps_redis_hostport(host, port, n->addr, sizeof n->addr);
	sh->nodes[sh->nnodes++] = n;
	node_connect(n);
	return n;
}

/* --- SSUBSCRIBE answers --------------------------------------------------------------- */

static void on_ssub(void *arg, struct ps_conn *c, const redisReply *r)
{
	uint64_t gen = (uint64_t)(uintptr_t)arg;
	struct node *n = ps_conn_owner(c);
	struct sharded *sh = n->sh;
	struct ps_sub *s = sh->s;
	struct ps_redirect rd;
	struct ps_push p;
	struct chan *ch;
	char why[400];

	if (!r)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		switch (ps_resp_error(r->str, r->len, &rd)) {
		case PS_ERR_MOVED:
			/* The slot is served elsewhere now: note it, move what this
			 * node had of it, and learn the rest of the change. */
			if (sh->map) {
				int idx = ps_cluster_map_node(sh->map, rd.host[0] ? rd.host : n->host,
				                              rd.port);
				if (idx >= 0)
					sh->map->owner[rd.slot] = (uint16_t)(idx + 1);
			}
			replace_slot(sh, n, (unsigned)rd.slot);
			count_links(sh);
			refresh(sh);
			return;
		case PS_ERR_ASK:
			/* ASKING cannot precede a command in subscribed mode: wait for
			 * the migration to finish and the map to say where. */
			{
				struct chan *it, *tmp;
				HASH_ITER(hh, sh->chans, it, tmp)
					if (it->node == n && it->slot == (unsigned)rd.slot && it->state == CH_SENT) {
						chan_down(sh, it);
						detach(sh, it);
					}
			}
			count_links(sh);
			refresh(sh);
			return;
		default:
			snprintf(why, sizeof why, "SSUBSCRIBE refused by %s: %s", n->addr, r->str);
			node_lost(n, PS_CONN_SETUP, why);
			return;
		}
	}
	if (ps_resp_classify(r, &p) != PS_PUSH_SSUBSCRIBE || p.name_len <= s->prefix_len)
		return;
	ch = find(sh, p.name + s->prefix_len, p.name_len - s->prefix_len);
	if (!ch || ch->node != n || ch->state != CH_SENT || ch->gen != gen)
		return;   /* an older SSUBSCRIBE's answer */
	ch->state = CH_CONFIRMED;
	ch->since = ps_wall_ms();
	ps_registry_confirmed(s->reg, ch->name, ch->len);
}

/* --- placing channels ----------------------------------------------------------------- */

/* Puts an unplaced channel on its slot's owner, subscribing now if that
 * link is up; unknown owner: stays unplaced and the map is fetched. */
static void place(struct sharded *sh, struct chan *ch)
{
	const struct ps_cluster_node *o = sh->map ? ps_cluster_map_owner(sh->map, ch->slot) : NULL;
	struct node *n;

	if (!o || !(n = node_get(sh, o->host, o->port))) {
		refresh(sh);
		return;
	}
	attach(sh, ch, n);
	if (n->up)
		send_ssub(sh, ch);
}

/* A new map: links to its masters, channels moved to their slots' owners. */
static void apply_map(struct sharded *sh, struct ps_cluster_map *m)
{
	struct chan *ch, *tmp;

	ps_cluster_map_free(sh->map);
	sh->map = m;
	for (int i = 0; i < sh->nnodes; i++)
		sh->nodes[i]->in_map = 0;
	for (int i = 0; i < m->nnodes; i++) {
		struct node *n = node_get(sh, m->nodes[i].host, m->nodes[i].port);
		if (n)
			n->in_map = 1;
	}
	HASH_ITER(hh, sh->chans, ch, tmp) {
		const struct ps_cluster_node *o = ps_cluster_map_owner(m, ch->slot);
		if (ch->node && o && ch->node->port == o->port && strcmp(ch->node->host, o->host) == 0)
			continue;
		if (ch->node) {
			send_sunsub(sh, ch);
			chan_down(sh, ch);
			detach(sh, ch);
		}
		place(sh, ch);
	}
	/* Links to former masters go once nothing is on them. */
	for (int i = sh->nnodes - 1; i >= 0; i--) {
		struct node *n = sh->nodes[i];
		if (!n->in_map && !n->nchans)
			node_free(sh, n);
	}
}

static void on_fetched(void *arg, struct ps_cluster_map *m, const char *from, const char *why)
{
	struct sharded *sh = arg;
	struct ps_sub *s = sh->s;
	unsigned d;

	sh->fetch = NULL;
	if (m) {
		if (!sh->map_ok)
			sub_link_event(s, PS_LINK_UP, PS_ROLE_CONTROL, from, 0, "", 0);
		sh->map_ok = 1;
		sh->fetch_attempts = 0;
		sh->applying = 1;
		apply_map(sh, m);
		sh->applying = 0;
		if (sh->unplaced) {
			/* Slots nobody serves (a failover under way): look again soon,
			 * then less often. */
			d = REFRESH_SOON_MS << (sh->incomplete < 4 ? sh->incomplete : 4);
			d = d < INCOMPLETE_MAX_MS ? d : INCOMPLETE_MAX_MS;
			sh->incomplete++;
		} else {
			sh->incomplete = 0;
			d = sh->refresh_again ? REFRESH_SOON_MS : s->p.cluster_refresh_ms;
		}
	} else {
		sh->map_ok = 0;
		d = sub_backoff(s, &sh->fetch_attempts);
		sub_link_event(s, PS_LINK_RETRY, PS_ROLE_CONTROL, "(slot map)", PS_CONN_CONNECT,
		               why, d);
	}
	sh->refresh_again = 0;
	s->loop.ops->timer_arm(s->loop.loop, sh->refresh_timer, d);
	count_links(sh);
}

/* Reads the slot map again (now, or once the running fetch is done). */
static void refresh(struct sharded *sh)
{
	struct ps_sub *s = sh->s;
	struct ps_cluster_node cand[PS_REDIS_HOSTS_MAX + 16];
	struct ps_conn_params cp;
	int n = 0;

	if (sh->fetch || sh->applying) {
		sh->refresh_again = 1;
		return;
	}
	/* Masters first (they know the latest map), then the seeds. */
	for (int i = 0; i < sh->nnodes && n < 16; i++) {
		if (!sh->nodes[i]->up)
			continue;
		snprintf(cand[n].host, sizeof cand[n].host, "%s", sh->nodes[i]->host);
		cand[n++].port = sh->nodes[i]->port;
	}
	for (int i = 0; i < s->url.nhosts; i++) {
		snprintf(cand[n].host, sizeof cand[n].host, "%s", s->url.hosts[i].host);
		cand[n++].port = s->url.hosts[i].port;
	}
	sub_conn_params(s, PS_ROLE_CONTROL, "", 0, &cp);
	sh->fetch = ps_cluster_fetch_start(&s->loop, &cp, s->url.tls, cand, n, on_fetched, sh);
	if (!sh->fetch)   /* out of memory: try again later */
		s->loop.ops->timer_arm(s->loop.loop, sh->refresh_timer,
		                       sub_backoff(s, &sh->fetch_attempts));
}

static void on_refresh_timer(void *arg)
{
	refresh(arg);
}

/* --- the registry's backend --------------------------------------------------------------- */

static int be_subscribe(void *be, const char *name, size_t len)
{
	struct sharded *sh = be;
	struct ps_sub *s = sh->s;
	struct chan *ch = find(sh, name, len);

	if (ch)
		return 0;
	ch = calloc(1, sizeof *ch + len + 1);
	if (!ch)
		return -1;
	memcpy(ch->name, name, len);
	ch->len = len;
	ch->since = -1;
	ch->slot = ps_channel_slot(s->prefix, s->prefix_len, name, len);
	hash_oom = 0;
	HASH_ADD(hh, sh->chans, name, len, ch);
	if (hash_oom) {
		free(ch);
		return -1;
	}
	sh->unplaced++;
	place(sh, ch);
	count_links(sh);
	return 0;
}

static int be_unsubscribe(void *be, const char *name, size_t len)
{
	struct sharded *sh = be;
	struct chan *ch = find(sh, name, len);

	if (!ch)
		return 0;
	send_sunsub(sh, ch);
	if (ch->node)
		ch->node->nchans--;
	else
		sh->unplaced--;
	HASH_DEL(sh->chans, ch);
	free(ch);
	count_links(sh);
	return 0;
}

const struct ps_backend_ops sharded_backend = { be_subscribe, be_unsubscribe };

/* --- life cycle --------------------------------------------------------------------------- */

struct sharded *sharded_new(struct ps_sub *s)
{
	struct sharded *sh = calloc(1, sizeof *sh);

	if (!sh)
		return NULL;
	sh->s = s;
	sh->refresh_timer = s->loop.ops->timer_new(s->loop.loop, on_refresh_timer, sh);
	if (!sh->refresh_timer) {
		free(sh);
		return NULL;
	}
	return sh;
}

void sharded_start(struct sharded *sh)
{
	/* The registry asks for every channel now, and for new ones as they
	 * come; each channel waits for its own node. */
	ps_registry_link_up(sh->s->reg);
	refresh(sh);
}

int64_t sharded_covered_since(const struct sharded *sh, const char *name, size_t len)
{
	struct chan *ch = find((struct sharded *)sh, name, len);

	return ch && ch->state == CH_CONFIRMED ? ch->since : -1;
}

void sharded_free(struct sharded *sh)
{
	struct chan *ch, *tmp;

	if (!sh)
		return;
	ps_cluster_fetch_cancel(sh->fetch);
	HASH_ITER(hh, sh->chans, ch, tmp) {
		HASH_DEL(sh->chans, ch);
		free(ch);
	}
	while (sh->nnodes)
		node_free(sh, sh->nodes[0]);
	free(sh->nodes);
	ps_cluster_map_free(sh->map);
	sh->s->loop.ops->timer_free(sh->s->loop.loop, sh->refresh_timer);
	free(sh);
}
