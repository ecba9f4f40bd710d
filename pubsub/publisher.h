/* pubsub/publisher.h - PUBLISH for the private API's threads, in every mode
 * of LIVEGATE_REDIS_URL, with a bound on the whole call.
 *
 * A publisher belongs to one thread (keep one per thread, e.g. under a
 * pthread key). It connects on first use and keeps its connections; each
 * call waits at most timeout_ms in all (resolving, connecting, TLS, AUTH,
 * asking the sentinels or the cluster, redirections, the reply), so a hung
 * or unreachable Redis makes /v1/publish fail promptly. It runs livegate's
 * own links (conn.h) on a private poll(2) loop inside the call.
 *
 *   redis://, rediss://   PUBLISH on the server
 *   redis+sentinel://     PUBLISH on the master the sentinels name (checked
 *                         with ROLE: a replica would accept PUBLISH and
 *                         reach only its own subscribers)
 *   redis+cluster://      SPUBLISH on the master owning the channel's slot,
 *                         following MOVED and ASK (sharded, the default);
 *                         PUBLISH on any node (global: the bus broadcasts,
 *                         and the count it answers is that node's only)
 */
#ifndef LG_PUBSUB_PUBLISHER_H
#define LG_PUBSUB_PUBLISHER_H

#include <stddef.h>

#include "redis_url.h"
#include "sub.h"

struct ps_pub_params {
	struct ps_redis_target to;
	unsigned timeout_ms;                      /* a whole call; 0: 1000         */
};

struct ps_pub;

/* Returns a publisher (not connected yet), or NULL with a one-line reason
 * in err (a TLS file that cannot be loaded, out of memory). */
struct ps_pub *ps_pub_new(const struct ps_pub_params *p, char *err, size_t errlen);

/* Publishes payload on prefix + channel. Returns the receiver count Redis
 * answered (>= 0), or -1 with a one-line reason in err (never a password):
 * no answer within the timeout, a connection failure, a refusal. */
long long ps_pub_publish(struct ps_pub *pb, const char *channel, size_t clen,
                         const char *payload, size_t plen, char *err, size_t errlen);

/* Closes the connections and frees pb. NULL is a no-op. */
void ps_pub_free(struct ps_pub *pb);

#endif
