/* pubsub/sentinel.h - finding and following a master through Redis
 * Sentinel, on the owner's loop.
 *
 * locate asks the sentinels in turn, starting with the last one that
 * answered, SENTINEL get-master-addr-by-name <master>; a sentinel that is
 * down or does not know the master passes the question to the next. watch
 * keeps one sentinel link subscribed to +switch-master (moving to the next
 * sentinel when it fails) and reports failovers of our master as they are
 * announced; whenever that link is (re)established it also runs a locate,
 * so a failover announced while it was down is not missed.
 *
 * The URL's credentials are offered to the sentinels too; a sentinel
 * without a password refusing AUTH is not an error.
 */
#ifndef LG_PUBSUB_SENTINEL_H
#define LG_PUBSUB_SENTINEL_H

#include "conn.h"
#include "loop.h"
#include "redis_url.h"

struct ps_sentinel;

struct ps_sentinel_events {
	/* locate's answer: the master is host:port (to be verified with ROLE). */
	void (*located)(void *owner, const char *host, int port);
	/* No sentinel answered in a whole round; why is the last reason. */
	void (*failed)(void *owner, const char *why);
	/* +switch-master for our master: it is now host:port. */
	void (*switched)(void *owner, const char *host, int port);
	/* A sentinel link came up (1) or failed (0), for logs. May be NULL. */
	void (*link)(void *owner, int up, const char *addr, enum ps_conn_fail cause,
	             const char *detail);
};

/* cp is the template of every sentinel connection (host and port are
 * replaced by each sentinel's). */
struct ps_sentinel *ps_sentinel_new(const struct ps_loop *loop, const struct ps_redis_url *url,
                                    const struct ps_conn_params *cp,
                                    const struct ps_sentinel_events *ev, void *owner);

/* Starts a round of questions unless one runs. Returns 0, or -1 when out
 * of memory (nothing will be reported). */
int ps_sentinel_locate(struct ps_sentinel *sn);

/* Starts following +switch-master (once; later calls do nothing). backoff
 * gives the delay before the next sentinel after a failure. */
void ps_sentinel_watch(struct ps_sentinel *sn, unsigned (*backoff)(void *owner, unsigned *n));

void ps_sentinel_free(struct ps_sentinel *sn);

#endif
