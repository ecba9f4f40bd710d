/* supervisor/api_redis.h - PUBLISH for the private API on a thread of its own,
 * so that libmicrohttpd's threads (which also answer /healthz) never wait
 * for Redis.
 *
 * One publisher thread owns livegate's own Redis publisher (pubsub/publisher:
 * every form of LIVEGATE_REDIS_URL, TLS, Sentinel, Cluster with SPUBLISH)
 * and publishes what is queued in order, each publish within one deadline
 * (LG_API_REDIS_TIMEOUT_MS) for all of it. A failure opens a breaker for
 * LG_API_REDIS_PAUSE_MS: publishes are refused at once, and those queued
 * are failed, rather than each waiting out its own timeout behind a Redis
 * that does not answer; the first batch after the pause tries again.
 */
#ifndef LG_SUPERVISOR_API_REDIS_H
#define LG_SUPERVISOR_API_REDIS_H

#include <stddef.h>

#include "config.h"

#define LG_API_REDIS_TIMEOUT_MS 500    /* a PUBLISH on a LAN takes well under 1 ms */
#define LG_API_REDIS_PAUSE_MS   1000   /* refused at once for this long after a failure */
#define LG_API_PUBLISH_QUEUE    1024   /* publishes waiting; past it: refused */
#define LG_API_PUBLISH_BATCH    64     /* publishes taken off the queue at once */

struct lg_publish {
	/* Set by the caller; must stay valid until done is called. */
	const char *channel;            /* without the prefix */
	size_t      clen;
	const char *payload;
	size_t      plen;
	void      (*done)(struct lg_publish *p);   /* once, on the publisher thread */
	void       *arg;
	/* The result, read after done. */
	long long   receivers;          /* Redis's answer, or -1: not published (or unknown) */
	char        err[200];           /* why, when receivers is -1; never a password */
	/* The publisher's. */
	struct lg_publish *next;
};

struct lg_publisher;

/* Starts the publisher thread for cfg's Redis (cfg must outlive it). It
 * connects on the first publish. Returns NULL with err set on failure (a
 * TLS file that cannot be loaded, out of memory). */
struct lg_publisher *lg_publisher_start(const struct lg_config *cfg, char *err, size_t errlen);

/* Returns 1, with the reason in err, when a publish now would be refused
 * at once (breaker open, queue full, stopping); else 0. */
int lg_publisher_refusing(struct lg_publisher *pb, char *err, size_t errlen);

/* Queues p: returns 0 and p->done will be called once. Returns -1 when it
 * is refused at once, with p->receivers -1 and p->err set; done is then not
 * called. */
int lg_publisher_submit(struct lg_publisher *pb, struct lg_publish *p);

/* Fails what is queued (done called for each), waits for the thread to
 * finish the publishes in flight (at most the timeout each), frees
 * everything. */
void lg_publisher_stop(struct lg_publisher *pb);

#endif
