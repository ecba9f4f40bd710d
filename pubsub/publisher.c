/* pubsub/publisher.c - a bounded, blocking PUBLISH over livegate's own
 * links, run on a private poll loop inside each call.
 *
 * One call: find the target (the URL's server; the master the sentinels
 * name, verified with ROLE on each new connection; the slot's master from
 * the cluster map, or any node for global pub/sub), send, wait for the
 * answer, follow MOVED/ASK (at most REDIRECTS_MAX), and retry once on a
 * fresh connection when a kept one turns out closed (a restart or an idle
 * timeout since the last call). Everything shares one deadline; what runs
 * past it (a connect, a lookup) is dropped, never waited for.
 */
#include "publisher.h"
#include "clock.h"
#include "cluster_map.h"
#include "conn.h"
#include "loop_poll.h"
#include "sentinel.h"
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNS_MAX     16   /* kept connections (cluster: one per master used) */
#define REDIRECTS_MAX 5

enum rkind { R_WAIT, R_INT, R_MOVED, R_ASK, R_ERR, R_CLOSED, R_DONE };

struct pconn {
	char            host[PS_REDIS_HOST_MAX + 1];
	int             port;
	struct ps_conn *c;
	uint64_t        used;        /* for evicting the least recently used */
};

struct ps_pub {
	struct ps_redis_url    url;
	char                  *prefix;
	size_t                 prefix_len;
	enum ps_cluster_pubsub cluster_pubsub;
	unsigned               timeout_ms;
	struct ps_tls         *tls;
	struct ps_poll_loop   *pl;
	struct ps_loop         loop;
	struct pconn          *conns[CONNS_MAX];
	uint64_t               tick;
	/* sentinel */
	struct ps_sentinel    *sn;
	char                   master[PS_REDIS_HOST_MAX + 1];
	int                    master_port, located;
	/* cluster */
	struct ps_cluster_map *map;
	int                    map_stale, rot;
	/* the exchange being waited for */
	struct pconn          *waiting;
	int                    done;
	enum rkind             rk;
	long long              n;
	struct ps_redirect     rd;
	char                   why[400];
};

/* --- connections ---------------------------------------------------------------- */

static void c_closed(void *owner, struct ps_conn *c, enum ps_conn_fail why, const char *detail)
{
	struct ps_pub *pb = owner;

	(void)why;
	if (pb->waiting && pb->waiting->c == c && !pb->done) {
		pb->rk = R_CLOSED;
		snprintf(pb->why, sizeof pb->why, "%s", detail);
		pb->done = 1;
	}
}

static const struct ps_conn_events conn_events = { NULL, NULL, c_closed, NULL };

static void drop(struct ps_pub *pb, struct pconn *pc)
{
	for (int i = 0; i < CONNS_MAX; i++)
		if (pb->conns[i] == pc)
			pb->conns[i] = NULL;
	if (pb->waiting == pc)
		pb->waiting = NULL;
	ps_conn_free(pc->c);
	free(pc);
}

/* Returns a kept connection to host:port (*fresh = 0) or a new one. */
static struct pconn *get_conn(struct ps_pub *pb, const char *host, int port, int *fresh)
{
	struct ps_conn_params cp;
	struct pconn *pc;
	int slot = -1;

	for (int i = 0; i < CONNS_MAX; i++) {
		pc = pb->conns[i];
		if (pc && pc->port == port && strcmp(pc->host, host) == 0) {
			pc->used = ++pb->tick;
			*fresh = 0;
			return pc;
		}
		if (!pc && slot < 0)
			slot = i;
	}
	if (slot < 0) {   /* full: the least recently used goes */
		slot = 0;
		for (int i = 1; i < CONNS_MAX; i++)
			if (pb->conns[i]->used < pb->conns[slot]->used)
				slot = i;
		drop(pb, pb->conns[slot]);
	}
	pc = calloc(1, sizeof *pc);
	if (!pc)
		return NULL;
	snprintf(pc->host, sizeof pc->host, "%s", host);
	pc->port = port;
	memset(&cp, 0, sizeof cp);
	cp.host = host;
	cp.port = port;
	cp.user = pb->url.user;
	cp.password = pb->url.password;
	cp.db = pb->url.mode == PS_REDIS_CLUSTER ? 0 : pb->url.db;
	cp.tls = pb->tls;
	cp.connect_timeout_ms = pb->timeout_ms;
	cp.idle_ms = 0;   /* the loop runs only inside calls: no PINGs between */
	pc->c = ps_conn_new(&pb->loop, &cp, &conn_events, pb);
	if (!pc->c) {
		free(pc);
		return NULL;
	}
	pc->used = ++pb->tick;
	pb->conns[slot] = pc;
	*fresh = 1;
	return pc;
}

/* Runs the loop until the answer or the deadline. Returns 0 or -1. */
static int wait_for(struct ps_pub *pb, int64_t deadline)
{
	return ps_poll_run(pb->pl, &pb->done, deadline);
}

static void arm_wait(struct ps_pub *pb, struct pconn *pc)
{
	pb->waiting = pc;
	pb->done = 0;
	pb->rk = R_WAIT;
	pb->why[0] = '\0';
}

/* --- answers ------------------------------------------------------------------------ */

static void on_reply(void *arg, struct ps_conn *c, const redisReply *r)
{
	struct ps_pub *pb = arg;

	if (!pb->waiting || pb->waiting->c != c || pb->done || !r)
		return;   /* NULL: closing, c_closed says why */
	if (r->type == REDIS_REPLY_INTEGER) {
		pb->rk = R_INT;
		pb->n = r->integer;
	} else if (r->type == REDIS_REPLY_ERROR) {
		enum ps_err_kind k = ps_resp_error(r->str, r->len, &pb->rd);
		pb->rk = k == PS_ERR_MOVED ? R_MOVED : k == PS_ERR_ASK ? R_ASK : R_ERR;
		snprintf(pb->why, sizeof pb->why, "%s refused: %s", ps_conn_name(c), r->str);
	} else {
		pb->rk = R_ERR;
		snprintf(pb->why, sizeof pb->why, "%s: unexpected reply", ps_conn_name(c));
	}
	pb->done = 1;
}

static void on_role(void *arg, struct ps_conn *c, const redisReply *r)
{
	struct ps_pub *pb = arg;

	if (!pb->waiting || pb->waiting->c != c || pb->done || !r)
		return;
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0) {
		pb->rk = R_DONE;
	} else {
		pb->rk = R_ERR;
		snprintf(pb->why, sizeof pb->why, "%s is not a master", ps_conn_name(c));
	}
	pb->done = 1;
}

/* --- where to publish ------------------------------------------------------------------ */

static void sn_located(void *owner, const char *host, int port)
{
	struct ps_pub *pb = owner;

	snprintf(pb->master, sizeof pb->master, "%s", host);
	pb->master_port = port;
	pb->located = 1;
	pb->done = 1;
}

static void sn_failed(void *owner, const char *why)
{
	struct ps_pub *pb = owner;

	snprintf(pb->why, sizeof pb->why, "%s", why);
	pb->done = 1;
}

static void sn_switched(void *owner, const char *host, int port)
{
	(void)owner;
	(void)host;
	(void)port;
}

static const struct ps_sentinel_events sn_events = { sn_located, sn_failed, sn_switched, NULL };

static int locate_master(struct ps_pub *pb, int64_t deadline)
{
	struct ps_conn_params cp;

	if (!pb->sn) {
		memset(&cp, 0, sizeof cp);
		cp.tls = pb->tls;
		cp.connect_timeout_ms = pb->timeout_ms;
		pb->sn = ps_sentinel_new(&pb->loop, &pb->url, &cp, &sn_events, pb);
		if (!pb->sn) {
			snprintf(pb->why, sizeof pb->why, "out of memory");
			return -1;
		}
	}
	arm_wait(pb, NULL);
	pb->located = 0;
	if (ps_sentinel_locate(pb->sn) < 0 || wait_for(pb, deadline) < 0) {
		/* A lookup cut short is dropped with its sentinel connection. */
		ps_sentinel_free(pb->sn);
		pb->sn = NULL;
		if (!pb->why[0])
			snprintf(pb->why, sizeof pb->why, "no sentinel answered within %u ms",
			         pb->timeout_ms);
		return -1;
	}
	return pb->located ? 0 : -1;
}

static void on_map(void *arg, struct ps_cluster_map *m, const char *from, const char *why)
{
	struct ps_pub *pb = arg;

	(void)from;
	if (m) {
		ps_cluster_map_free(pb->map);
		pb->map = m;
		pb->map_stale = 0;
	} else {
		snprintf(pb->why, sizeof pb->why, "cluster slot map: %s", why);
	}
	pb->done = 1;
}

static int fetch_map(struct ps_pub *pb, int64_t deadline)
{
	struct ps_cluster_node cand[PS_REDIS_HOSTS_MAX + 16];
	struct ps_conn_params cp;
	struct ps_cluster_fetch *f;
	int n = 0;

	for (int i = 0; pb->map && i < pb->map->nnodes && n < 16; i++)
		cand[n++] = pb->map->nodes[i];
	for (int i = 0; i < pb->url.nhosts; i++) {
		snprintf(cand[n].host, sizeof cand[n].host, "%s", pb->url.hosts[i].host);
		cand[n++].port = pb->url.hosts[i].port;
	}
	memset(&cp, 0, sizeof cp);
	cp.user = pb->url.user;
	cp.password = pb->url.password;
	cp.tls = pb->tls;
	cp.connect_timeout_ms = pb->timeout_ms;
	arm_wait(pb, NULL);
	f = ps_cluster_fetch_start(&pb->loop, &cp, pb->url.tls, cand, n, on_map, pb);
	if (!f) {
		snprintf(pb->why, sizeof pb->why, "out of memory");
		return -1;
	}
	if (wait_for(pb, deadline) < 0) {
		ps_cluster_fetch_cancel(f);
		snprintf(pb->why, sizeof pb->why, "no cluster node answered within %u ms",
		         pb->timeout_ms);
		return -1;
	}
	return pb->map && !pb->map_stale ? 0 : -1;
}

/* Where the command for slot goes now. Returns 0, or -1 with pb->why. */
static int target(struct ps_pub *pb, unsigned slot, char *host, int *port, int64_t deadline)
{
	const struct ps_cluster_node *o;

	switch (pb->url.mode) {
	case PS_REDIS_SINGLE:
		snprintf(host, PS_REDIS_HOST_MAX + 1, "%s", pb->url.host);
		*port = pb->url.port;
		return 0;
	case PS_REDIS_SENTINEL:
		if (!pb->located && locate_master(pb, deadline) < 0)
			return -1;
		snprintf(host, PS_REDIS_HOST_MAX + 1, "%s", pb->master);
		*port = pb->master_port;
		return 0;
	case PS_REDIS_CLUSTER:
		if (pb->cluster_pubsub == PS_CLUSTER_GLOBAL) {
			snprintf(host, PS_REDIS_HOST_MAX + 1, "%s", pb->url.hosts[pb->rot].host);
			*port = pb->url.hosts[pb->rot].port;
			return 0;
		}
		if ((!pb->map || pb->map_stale) && fetch_map(pb, deadline) < 0)
			return -1;
		o = ps_cluster_map_owner(pb->map, slot);
		if (!o) {
			pb->map_stale = 1;
			snprintf(pb->why, sizeof pb->why, "no cluster master serves slot %u", slot);
			return -1;
		}
		snprintf(host, PS_REDIS_HOST_MAX + 1, "%s", o->host);
		*port = o->port;
		return 0;
	}
	return -1;
}

/* The link to the target failed: look again next time. */
static void forget_target(struct ps_pub *pb)
{
	pb->located = 0;
	pb->map_stale = 1;
	if (pb->url.nhosts)
		pb->rot = (pb->rot + 1) % pb->url.nhosts;
}

/* --- one call ------------------------------------------------------------------------- */

/* Sends ROLE on a new sentinel-named connection and waits. Returns 0 if it
 * is the master. */
static int verify_master(struct ps_pub *pb, struct pconn *pc, int64_t deadline)
{
	const char *argv[] = { "ROLE" };
	size_t lens[] = { 4 };

	arm_wait(pb, pc);
	if (ps_conn_command(pc->c, on_role, pb, 1, argv, lens) != PS_CMD_QUEUED)
		return -1;
	if (wait_for(pb, deadline) < 0) {
		snprintf(pb->why, sizeof pb->why, "%s: no answer within %u ms (%s)",
		         ps_conn_name(pc->c), pb->timeout_ms, ps_conn_stage(pc->c));
		return -1;
	}
	return pb->rk == R_DONE ? 0 : -1;
}

/* Sends the command (after ASKING when asking) on pc and waits. Returns
 * the kind of answer, R_WAIT when the deadline passed first. */
static enum rkind exchange(struct ps_pub *pb, struct pconn *pc, int asking, const char **argv,
                           const size_t *lens, int64_t deadline)
{
	const char *ask[] = { "ASKING" };
	const size_t ask_len[] = { 6 };

	arm_wait(pb, pc);
	if ((asking && ps_conn_command(pc->c, NULL, NULL, 1, ask, ask_len) != PS_CMD_QUEUED) ||
	    ps_conn_command(pc->c, on_reply, pb, 3, argv, lens) != PS_CMD_QUEUED) {
		snprintf(pb->why, sizeof pb->why, "%s: cannot queue the command", pc->host);
		return R_CLOSED;   /* a failed or full link: drop it */
	}
	if (wait_for(pb, deadline) < 0) {
		/* The answer may still come; the connection goes with it. */
		snprintf(pb->why, sizeof pb->why, "%s: no answer within %u ms (%s)",
		         ps_conn_name(pc->c), pb->timeout_ms, ps_conn_stage(pc->c));
		return R_WAIT;
	}
	return pb->rk;
}

/* A MOVED answer: the map learns the slot's owner. */
static void note_moved(struct ps_pub *pb)
{
	int idx;

	if (!pb->map)
		return;
	idx = ps_cluster_map_node(pb->map, pb->rd.host, pb->rd.port);
	if (idx >= 0)
		pb->map->owner[pb->rd.slot] = (uint16_t)(idx + 1);
	else
		pb->map_stale = 1;
}

long long ps_pub_publish(struct ps_pub *pb, const char *channel, size_t clen,
                         const char *payload, size_t plen, char *err, size_t errlen)
{
	int64_t deadline = ps_mono_ms() + pb->timeout_ms;
	int sharded = pb->url.mode == PS_REDIS_CLUSTER && pb->cluster_pubsub == PS_CLUSTER_SHARDED;
	unsigned slot = ps_channel_slot(pb->prefix, pb->prefix_len, channel, clen);
	char host[PS_REDIS_HOST_MAX + 1], *full = malloc(pb->prefix_len + clen + 1);
	const char *argv[3] = { sharded ? "SPUBLISH" : "PUBLISH", full, payload };
	size_t lens[3] = { sharded ? 8u : 7u, pb->prefix_len + clen, plen };
	int port, fresh, redirects = 0, retried = 0, asking = 0;
	struct ps_redirect ask;
	long long result = -1;

	if (!full) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(full, pb->prefix, pb->prefix_len);
	memcpy(full + pb->prefix_len, channel, clen);
	for (;;) {
		struct pconn *pc;
		enum rkind rk;

		if (asking) {
			snprintf(host, sizeof host, "%s", ask.host);
			port = ask.port;
		} else if (target(pb, slot, host, &port, deadline) < 0) {
			break;
		}
		if (!(pc = get_conn(pb, host, port, &fresh))) {
			snprintf(pb->why, sizeof pb->why, "out of memory");
			break;
		}
		if (pb->url.mode == PS_REDIS_SENTINEL && fresh && verify_master(pb, pc, deadline) < 0) {
			drop(pb, pc);
			forget_target(pb);
			if (pb->rk == R_ERR && ++redirects <= REDIRECTS_MAX)
				continue;   /* a replica: ask the sentinels again */
			break;
		}
		rk = exchange(pb, pc, asking, argv, lens, deadline);
		asking = 0;
		if (rk == R_INT) {
			result = pb->n;
			break;
		}
		if ((rk == R_MOVED || rk == R_ASK) && ++redirects <= REDIRECTS_MAX) {
			if (!pb->rd.host[0])   /* "MOVED <slot> :<port>": the same host */
				snprintf(pb->rd.host, sizeof pb->rd.host, "%s", pc->host);
			if (rk == R_ASK) {
				ask = pb->rd;
				asking = 1;
			} else {
				note_moved(pb);
			}
			continue;
		}
		if (rk == R_WAIT || rk == R_CLOSED) {
			drop(pb, pc);
			if (rk == R_CLOSED && !fresh && !retried) {   /* kept, closed since */
				retried = 1;
				continue;
			}
			forget_target(pb);
		}
		break;
	}
	if (result < 0)
		snprintf(err, errlen, "%s", pb->why[0] ? pb->why : "publish failed");
	pb->waiting = NULL;
	free(full);
	return result;
}

/* --- life cycle ---------------------------------------------------------------------- */

struct ps_pub *ps_pub_new(const struct ps_pub_params *p, char *err, size_t errlen)
{
	struct ps_pub *pb = calloc(1, sizeof *pb);
	const char *prefix = p->to.prefix ? p->to.prefix : "";

	if (!pb)
		goto oom;
	pb->url = *p->to.url;
	pb->prefix_len = strlen(prefix);
	pb->prefix = strdup(prefix);
	pb->cluster_pubsub = p->to.cluster_pubsub;
	pb->timeout_ms = p->timeout_ms ? p->timeout_ms : 1000;
	pb->pl = ps_poll_new();
	if (!pb->prefix || !pb->pl)
		goto oom;
	ps_loop_poll(&pb->loop, pb->pl);
	if (pb->url.tls) {
		pb->tls = ps_tls_new(p->to.tls_ca, p->to.tls_cert, p->to.tls_key, err, errlen);
		if (!pb->tls) {
			ps_pub_free(pb);
			return NULL;
		}
	}
	return pb;
oom:
	snprintf(err, errlen, "out of memory creating the Redis publisher");
	ps_pub_free(pb);
	return NULL;
}

void ps_pub_free(struct ps_pub *pb)
{
	if (!pb)
		return;
	for (int i = 0; i < CONNS_MAX; i++)
		if (pb->conns[i])
			drop(pb, pb->conns[i]);
	ps_sentinel_free(pb->sn);
	ps_cluster_map_free(pb->map);
	ps_tls_unref(pb->tls);
	ps_poll_free(pb->pl);
	free(pb->prefix);
	free(pb);
}
