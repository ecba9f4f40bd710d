/* supervisor/api_redis.h - PUBLISH for the private API on a thread of its own,
 * so that libmicrohttpd's threads (which also answer /healthz) never wait
 * for Redis.
 *
 * One publisher thread owns one synchronous Redis connection and sends what
 * is queued as one pipeline. Connect, every write and every read have a
 * deadline (LG_API_REDIS_TIMEOUT_MS). A failure opens a breaker for
 * LG_API_REDIS_PAUSE_MS: publishes are refused at once, and those queued
 * are failed, rather than each waiting out its own timeout behind a Redis
 * that does not answer; the first batch after the pause tries again.
 */
#ifndef LG_SUPERVISOR_API_REDIS_H
#define LG_SUPERVISOR_API_REDIS_H

#include <stddef.h>

#include "redis_url.h"

#define LG_API_REDIS_TIMEOUT_MS 500    /* a PUBLISH on a LAN takes well under 1 ms */
#define LG_API_REDIS_PAUSE_MS   1000   /* refused at once for this long after a failure */
#define LG_API_PUBLISH_QUEUE    1024   /* publishes waiting; past it: refused */
#define LG_API_PUBLISH_BATCH    64     /* publishes in one pipeline */

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

/* Starts the publisher thread for url with prefix (both must outlive it).
 * It connects on the first publish. Returns NULL with err set on failure. */
struct lg_publisher *lg_publisher_start(const struct ps_redis_url *url, const char *prefix,
                                        char *err, size_t errlen);

/* Returns 1, with the reason in err, when a publish now would be refused
 * at once (breaker open, queue full, stopping); else 0. */
int lg_publisher_refusing(struct lg_publisher *pb, char *err, size_t errlen);

/* Queues p: returns 0 and p->done will be called once. Returns -1 when it
 * is refused at once, with p->receivers -1 and p->err set; done is then not
 * called. */
int lg_publisher_submit(struct lg_publisher *pb, struct lg_publish *p);

/* Fails what is queued (done called for each), waits for the thread to
 * finish the pipeline in flight (at most the timeout), frees everything. */
void lg_publisher_stop(struct lg_publisher *pb);

#endif
