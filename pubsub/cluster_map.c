/* pubsub/cluster_map.c - slot maps from CLUSTER SHARDS / CLUSTER SLOTS,
 * and fetching one from the first candidate node that answers.
 *
 * CLUSTER SHARDS (RESP2): [ [ "slots", [s, e, s, e...], "nodes", [ [ "id", ..,
 * "port", n, "tls-port", n, "ip", .., "endpoint", .., "role", "master", ...
 * ], ... ] ], ... ]. CLUSTER SLOTS: [ [s, e, [ip, port, id, ...], replicas
 * ...], ... ]. A server without SHARDS (before 7.0) gets SLOTS.
 */
#include "cluster_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ps_cluster_map *ps_cluster_map_new(void)
{
	return calloc(1, sizeof(struct ps_cluster_map));
}

void ps_cluster_map_free(struct ps_cluster_map *m)
{
	if (!m)
		return;
	free(m->nodes);
	free(m);
}

int ps_cluster_map_node(struct ps_cluster_map *m, const char *host, int port)
{
	struct ps_cluster_node *n;

	for (int i = 0; i < m->nnodes; i++)
		if (m->nodes[i].port == port && strcmp(m->nodes[i].host, host) == 0)
			return i;
	if (m->nnodes >= PS_CLUSTER_NODES_MAX || strlen(host) > PS_REDIS_HOST_MAX)
		return -1;
	n = realloc(m->nodes, (size_t)(m->nnodes + 1) * sizeof *n);
	if (!n)
		return -1;
	m->nodes = n;
	n += m->nnodes;
	snprintf(n->host, sizeof n->host, "%s", host);
	n->port = port;
	return m->nnodes++;
}

const struct ps_cluster_node *ps_cluster_map_owner(const struct ps_cluster_map *m,
                                                   unsigned slot)
{
	unsigned o = slot < PS_SLOTS ? m->owner[slot] : 0;

	return o ? &m->nodes[o - 1] : NULL;
}

/* The value after key in a flat [key, value, ...] array, or NULL. */
static const redisReply *field(const redisReply *a, const char *key)
{
	if (a->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < a->elements; i += 2) {
		const redisReply *k = a->element[i];
		if (k->type == REDIS_REPLY_STRING && strcmp(k->str, key) == 0)
			return a->element[i + 1];
	}
	return NULL;
}

static const char *str_of(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_STRING ? r->str : NULL;
}

static long long int_of(const redisReply *r)
{
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return -1;
}

/* Gives slots [start, end] to node index idx. */
static int assign(struct ps_cluster_map *m, long long start, long long end, int idx)
{
	if (start < 0 || end >= PS_SLOTS || start > end || idx < 0)
		return -1;
	for (long long s = start; s <= end; s++)
		m->owner[s] = (uint16_t)(idx + 1);
	return 0;
}

/* The endpoint to connect to: a usable "endpoint"/ip, else asked_host. */
static const char *endpoint(const char *ep, const char *asked_host)
{
	return ep && *ep && strcmp(ep, "?") != 0 ? ep : asked_host;
}

static int parse_shards(struct ps_cluster_map *m, const redisReply *r, int tls,
                        const char *asked, char *err, size_t n)
{
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *shard = r->element[i], *slots = field(shard, "slots"),
		                 *nodes = field(shard, "nodes");
		int idx = -1;

		if (!slots || !nodes || slots->type != REDIS_REPLY_ARRAY ||
		    nodes->type != REDIS_REPLY_ARRAY) {
			snprintf(err, n, "CLUSTER SHARDS: a shard without slots or nodes");
			return -1;
		}
		if (slots->elements == 0)
			continue;   /* a shard serving nothing (a new, empty master) */
		for (size_t k = 0; k < nodes->elements && idx < 0; k++) {
			const redisReply *node = nodes->element[k];
			const char *role = str_of(field(node, "role"));
			long long port = tls && int_of(field(node, "tls-port")) > 0
			                 ? int_of(field(node, "tls-port")) : int_of(field(node, "port"));
			if (!role || strcmp(role, "master") != 0)
				continue;
			if (port < 1 || port > 65535) {
				snprintf(err, n, "CLUSTER SHARDS: a master without a port");
				return -1;
			}
			idx = ps_cluster_map_node(m, endpoint(str_of(field(node, "endpoint")), asked),
			                          (int)port);
			if (idx < 0) {
				snprintf(err, n, "CLUSTER SHARDS: more than %d masters", PS_CLUSTER_NODES_MAX);
				return -1;
			}
		}
		if (idx < 0)
			continue;   /* no master right now (failover in progress) */
		for (size_t k = 0; k + 1 < slots->elements; k += 2)
			if (assign(m, int_of(slots->element[k]), int_of(slots->element[k + 1]), idx) < 0) {
				snprintf(err, n, "CLUSTER SHARDS: a bad slot range");
				return -1;
			}
	}
	return 0;
}

static int parse_slots(struct ps_cluster_map *m, const redisReply *r, const char *asked,
                       char *err, size_t n)
{
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i], *master;
		long long port;
		int idx;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2) {
			snprintf(err, n, "CLUSTER SLOTS: a malformed entry");
			return -1;
		}
		master = e->element[2];
		port = int_of(master->element[1]);
		if (port < 1 || port > 65535) {
			snprintf(err, n, "CLUSTER SLOTS: a master without a port");
			return -1;
		}
		idx = ps_cluster_map_node(m, endpoint(str_of(master->element[0]), asked), (int)port);
		if (idx < 0 || assign(m, int_of(e->element[0]), int_of(e->element[1]), idx) < 0) {
			snprintf(err, n, "CLUSTER SLOTS: too many masters or a bad slot range");
			return -1;
		}
	}
	return 0;
}

int ps_cluster_map_parse(struct ps_cluster_map *m, const redisReply *r, int shards, int tls,
                         const char *asked_host, char *err, size_t errlen)
{
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "CLUSTER %s: %s", shards ? "SHARDS" : "SLOTS",
		         r && r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
		return -1;
	}
	return shards ? parse_shards(m, r, tls, asked_host, err, errlen)
	              : parse_slots(m, r, asked_host, err, errlen);
}

/* --- fetching -------------------------------------------------------------------- */

#define FETCH_TRIES_MAX 32

struct ps_cluster_fetch {
	struct ps_loop          loop;
	struct ps_conn_params   cp;
	int                     tls;
	struct ps_cluster_node *cand;
	int                     ncand, i;      /* candidates, the next to try */
	int                     shards;        /* asked SHARDS (else SLOTS)    */
	struct ps_conn         *conn;
	ps_cluster_fetch_cb    *cb;
	void                   *arg;
	char                    why[320];
};

static void try_next(struct ps_cluster_fetch *f);

/* Ends the fetch: the callback is the last thing done with f. */
static void finish(struct ps_cluster_fetch *f, struct ps_cluster_map *m)
{
	ps_cluster_fetch_cb *cb = f->cb;
	void *arg = f->arg;
	char from[PS_REDIS_HOST_MAX + 16], why[320];

	snprintf(from, sizeof from, "%s", f->conn ? ps_conn_name(f->conn) : "");
	snprintf(why, sizeof why, "%s", f->why);
	ps_cluster_fetch_cancel(f);
	cb(arg, m, m ? from : NULL, m ? NULL : why);
}

static void on_map(void *arg, struct ps_conn *c, const redisReply *r);

static int ask(struct ps_cluster_fetch *f, int shards)
{
	const char *argv[] = { "CLUSTER", shards ? "SHARDS" : "SLOTS" };
	size_t lens[] = { 7, shards ? 6u : 5u };

	f->shards = shards;
	return ps_conn_command(f->conn, on_map, f, 2, argv, lens);
}

static void on_map(void *arg, struct ps_conn *c, const redisReply *r)
{
	struct ps_cluster_fetch *f = arg;
	int shards = f->shards;
	struct ps_cluster_map *m;

	if (!r)
		return;   /* closing: f_closed follows */
	if (shards && r->type == REDIS_REPLY_ERROR && strncasecmp(r->str, "ERR unknown", 11) == 0) {
		if (ask(f, 0) != PS_CMD_QUEUED) {
			snprintf(f->why, sizeof f->why, "%s: out of memory", ps_conn_name(c));
			try_next(f);
		}
		return;
	}
	m = ps_cluster_map_new();
	if (!m) {
		snprintf(f->why, sizeof f->why, "out of memory");
		finish(f, NULL);
		return;
	}
	if (ps_cluster_map_parse(m, r, shards, f->tls, ps_conn_host(c), f->why, sizeof f->why) < 0 ||
	    m->nnodes == 0) {
		if (m->nnodes == 0 && !f->why[0])
			snprintf(f->why, sizeof f->why, "%s serves no slots", ps_conn_name(c));
		ps_cluster_map_free(m);
		try_next(f);
		return;
	}
	finish(f, m);
}

static void f_closed(void *owner, struct ps_conn *c, enum ps_conn_fail why, const char *detail)
{
	struct ps_cluster_fetch *f = owner;

	(void)c;
	(void)why;
	snprintf(f->why, sizeof f->why, "%s", detail);
	try_next(f);
}

static const struct ps_conn_events f_events = { NULL, NULL, f_closed, NULL };

static void try_next(struct ps_cluster_fetch *f)
{
	ps_conn_free(f->conn);
	f->conn = NULL;
	while (f->i < f->ncand) {
		struct ps_conn_params cp = f->cp;
		cp.host = f->cand[f->i].host;
		cp.port = f->cand[f->i].port;
		f->i++;
		f->conn = ps_conn_new(&f->loop, &cp, &f_events, f);
		if (f->conn && ask(f, 1) == PS_CMD_QUEUED)
			return;
		ps_conn_free(f->conn);
		f->conn = NULL;
		snprintf(f->why, sizeof f->why, "out of memory");
	}
	finish(f, NULL);
}

struct ps_cluster_fetch *ps_cluster_fetch_start(const struct ps_loop *loop,
                                                const struct ps_conn_params *cp, int tls,
                                                const struct ps_cluster_node *cand, int ncand,
                                                ps_cluster_fetch_cb *cb, void *arg)
{
	struct ps_cluster_fetch *f;

	if (ncand < 1)
		return NULL;
	f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	if (ncand > FETCH_TRIES_MAX)
		ncand = FETCH_TRIES_MAX;
	f->cand = malloc((size_t)(ncand > 0 ? ncand : 1) * sizeof *f->cand);
	if (!f->cand) {
		free(f);
		return NULL;
	}
	memcpy(f->cand, cand, (size_t)ncand * sizeof *cand);
	f->ncand = ncand;
	f->loop = *loop;
	f->cp = *cp;
	f->tls = tls;
	f->cb = cb;
	f->arg = arg;
	/* Connections start on the loop, so nothing is reported from here;
	 * only running out of memory at once can end the fetch now. */
	f->cp.host = f->cand[0].host;
	f->cp.port = f->cand[0].port;
	f->i = 1;
	f->conn = ps_conn_new(loop, &f->cp, &f_events, f);
	if (!f->conn || ask(f, 1) != PS_CMD_QUEUED) {
		ps_cluster_fetch_cancel(f);
		return NULL;
	}
	return f;
}

void ps_cluster_fetch_cancel(struct ps_cluster_fetch *f)
{
	if (!f)
		return;
	ps_conn_free(f->conn);
	free(f->cand);
	free(f);
}
