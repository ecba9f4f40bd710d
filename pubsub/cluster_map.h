/* pubsub/cluster_map.h - a Redis Cluster's slot map: which master serves
 * each of the 16384 slots, read from CLUSTER SHARDS (Redis 7) or CLUSTER
 * SLOTS (older servers), and fetched from the first node that answers.
 * Shared by the sharded subscriber and the publisher.
 */
#ifndef LG_PUBSUB_CLUSTER_MAP_H
#define LG_PUBSUB_CLUSTER_MAP_H

#include <stdint.h>
#include <hiredis/hiredis.h>

#include "conn.h"
#include "loop.h"
#include "redis_url.h"
#include "slot.h"

#define PS_CLUSTER_NODES_MAX 1024   /* masters; Redis's own guidance is ~1000 */

struct ps_cluster_node {
	char host[PS_REDIS_HOST_MAX + 1];
	int  port;
};

struct ps_cluster_map {
	int                     nnodes;
	struct ps_cluster_node *nodes;            /* masters serving slots */
	uint16_t                owner[PS_SLOTS];  /* node index + 1; 0: nobody */
};

/* Returns an empty map, or NULL when out of memory. */
struct ps_cluster_map *ps_cluster_map_new(void);
void ps_cluster_map_free(struct ps_cluster_map *m);

/* Returns the index of host:port in m, adding it if needed; -1 when the
 * node limit is reached or out of memory. */
int ps_cluster_map_node(struct ps_cluster_map *m, const char *host, int port);

/* The master serving slot, or NULL. */
const struct ps_cluster_node *ps_cluster_map_owner(const struct ps_cluster_map *m,
                                                   unsigned slot);

/* Reads a CLUSTER SHARDS (shards != 0) or CLUSTER SLOTS reply into m.
 * Endpoints the server does not know ("?" or empty) are asked_host; with
 * tls the TLS port is used where the reply gives one. Returns 0, or -1
 * with a reason in err. */
int ps_cluster_map_parse(struct ps_cluster_map *m, const redisReply *r, int shards, int tls,
                         const char *asked_host, char *err, size_t errlen);

/* --- fetching ---------------------------------------------------------------- */

struct ps_cluster_fetch;

/* Called once: the map (the callee owns it) and the node that answered,
 * or NULL and why no candidate did. */
typedef void ps_cluster_fetch_cb(void *arg, struct ps_cluster_map *m, const char *from,
                                 const char *why);

/* Asks the candidates in turn (cp is the connection template; host and
 * port come from each candidate). Returns the fetch, or NULL when out of
 * memory (cb is not called). */
struct ps_cluster_fetch *ps_cluster_fetch_start(const struct ps_loop *loop,
                                                const struct ps_conn_params *cp, int tls,
                                                const struct ps_cluster_node *cand, int ncand,
                                                ps_cluster_fetch_cb *cb, void *arg);

/* Stops a fetch whose callback has not run. */
void ps_cluster_fetch_cancel(struct ps_cluster_fetch *f);

#endif
