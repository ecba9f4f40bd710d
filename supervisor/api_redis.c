/* supervisor/api_redis.c - the private API's publisher thread (see
 * api_redis.h). */
#include "api_redis.h"
#include "clock.h"
#include "log.h"
#include "publisher.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lg_publisher {
	pthread_t         thread;
	pthread_mutex_t   lock;
	pthread_cond_t    wake;
	/* Under lock: */
	struct lg_publish *head, *tail;
	size_t            queued;
	uint64_t          paused_until_ms;   /* breaker: refuse before this */
	char              pause_reason[200];
	int               stopping;
	/* The thread's own: */
	struct ps_pub    *pub;               /* livegate's own links, every URL form */
	int               failing;           /* the last batch failed */
};

/* Returns 1 with err set when a publish must be refused now; lock held. */
static int refusing_locked(struct lg_publisher *pb, char *err, size_t n)
{
	uint64_t now = lg_now_ms();

	if (pb->stopping) {
		snprintf(err, n, "shutting down");
		return 1;
	}
	if (now < pb->paused_until_ms) {
		snprintf(err, n, "%s; publishing paused for %llu ms", pb->pause_reason,
		         (unsigned long long)(pb->paused_until_ms - now));
		return 1;
	}
	if (pb->queued >= LG_API_PUBLISH_QUEUE) {
		snprintf(err, n, "%d publishes already wait for Redis", LG_API_PUBLISH_QUEUE);
		return 1;
	}
	return 0;
}

int lg_publisher_refusing(struct lg_publisher *pb, char *err, size_t n)
{
	int r;

	pthread_mutex_lock(&pb->lock);
	r = refusing_locked(pb, err, n);
	pthread_mutex_unlock(&pb->lock);
	return r;
}

int lg_publisher_submit(struct lg_publisher *pb, struct lg_publish *p)
{
	p->receivers = -1;
	p->err[0] = '\0';
	p->next = NULL;
	pthread_mutex_lock(&pb->lock);
	if (refusing_locked(pb, p->err, sizeof p->err)) {
		pthread_mutex_unlock(&pb->lock);
		return -1;
	}
	if (pb->tail)
		pb->tail->next = p;
	else
		pb->head = p;
	pb->tail = p;
	pb->queued++;
	pthread_cond_signal(&pb->wake);
	pthread_mutex_unlock(&pb->lock);
	return 0;
}

/* Ends each publish of the list with reason (receivers -1). */
static void fail_all(struct lg_publish *p, const char *reason)
{
	while (p) {
		struct lg_publish *next = p->next;
		p->receivers = -1;
		snprintf(p->err, sizeof p->err, "%s", reason);
		p->done(p);
		p = next;
	}
}

/* Publishes batch[0..n) one by one (a cluster routes each to its own
 * node), each within LG_API_REDIS_TIMEOUT_MS in all: every publish ends
 * with a result. Returns 0, or -1 with err set when Redis failed, which
 * fails the rest of the batch too: a Redis that hangs gets no second wait. */
static int run_batch(struct lg_publisher *pb, struct lg_publish **batch, size_t n,
                     char *err, size_t errlen)
{
	size_t done = 0;

	for (; done < n; done++) {
		struct lg_publish *p = batch[done];
		p->receivers = ps_pub_publish(pb->pub, p->channel, p->clen, p->payload, p->plen,
		                              err, errlen);
		if (p->receivers < 0)
			break;
	}
	for (size_t i = done; i < n; i++) {
		batch[i]->receivers = -1;
		snprintf(batch[i]->err, sizeof batch[i]->err, "%s", err);
	}
	for (size_t i = 0; i < n; i++)
		batch[i]->done(batch[i]);
	return done == n ? 0 : -1;
}

/* Opens the breaker after a failure and fails what waits behind it; logs
 * once per failing spell, not once per publish. */
static void pause_publishing(struct lg_publisher *pb, const char *why)
{
	struct lg_publish *queued;
	struct lg_logline l;

	pthread_mutex_lock(&pb->lock);
	pb->paused_until_ms = lg_now_ms() + LG_API_REDIS_PAUSE_MS;
	snprintf(pb->pause_reason, sizeof pb->pause_reason, "%s", why);
	queued = pb->head;
	pb->head = pb->tail = NULL;
	pb->queued = 0;
	pthread_mutex_unlock(&pb->lock);
	fail_all(queued, why);
	if (!pb->failing && lg_log_begin(&l, LG_LOG_ERROR, "publish_paused")) {
		lg_log_str(&l, "reason", why);
		lg_log_int(&l, "pause_ms", LG_API_REDIS_PAUSE_MS);
		lg_log_str(&l, "effect", "POST /v1/publish answers 503 until Redis answers again");
		lg_log_end(&l);
	}
	pb->failing = 1;
}

static void *publisher_main(void *arg)
{
	struct lg_publisher *pb = arg;
	struct lg_publish *batch[LG_API_PUBLISH_BATCH];
	char err[200];

	for (;;) {
		size_t n = 0;

		pthread_mutex_lock(&pb->lock);
		while (!pb->head && !pb->stopping)
			pthread_cond_wait(&pb->wake, &pb->lock);
		while (pb->head && n < LG_API_PUBLISH_BATCH) {
			batch[n++] = pb->head;
			pb->head = pb->head->next;
			pb->queued--;
		}
		if (!pb->head)
			pb->tail = NULL;
		if (!n) {   /* stopping with nothing left */
			pthread_mutex_unlock(&pb->lock);
			break;
		}
		pthread_mutex_unlock(&pb->lock);
		if (run_batch(pb, batch, n, err, sizeof err) < 0) {
			pause_publishing(pb, err);
		} else if (pb->failing) {
			pb->failing = 0;
			lg_log_msg(LG_LOG_INFO, "publish_resumed", "Redis answers PUBLISH again");
		}
	}
	return NULL;
}

struct lg_publisher *lg_publisher_start(const struct lg_config *cfg, char *err, size_t errlen)
{
	struct lg_publisher *pb = calloc(1, sizeof *pb);
	const struct ps_pub_params pp = {
		.to = lg_config_redis_target(cfg),
		.timeout_ms = LG_API_REDIS_TIMEOUT_MS,
	};
	int rc;

	if (!pb) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pb->pub = ps_pub_new(&pp, err, errlen);
	if (!pb->pub) {
		free(pb);
		return NULL;
	}
	pthread_mutex_init(&pb->lock, NULL);
	pthread_cond_init(&pb->wake, NULL);
	rc = pthread_create(&pb->thread, NULL, publisher_main, pb);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the publisher thread: %s", strerror(rc));
		pthread_cond_destroy(&pb->wake);
		pthread_mutex_destroy(&pb->lock);
		ps_pub_free(pb->pub);
		free(pb);
		return NULL;
	}
	return pb;
}

void lg_publisher_stop(struct lg_publisher *pb)
{
	struct lg_publish *queued;

	if (!pb)
		return;
	pthread_mutex_lock(&pb->lock);
	pb->stopping = 1;
	queued = pb->head;
	pb->head = pb->tail = NULL;
	pb->queued = 0;
	pthread_cond_signal(&pb->wake);
	pthread_mutex_unlock(&pb->lock);
	fail_all(queued, "shutting down");
	pthread_join(pb->thread, NULL);
	pthread_cond_destroy(&pb->wake);
	pthread_mutex_destroy(&pb->lock);
	ps_pub_free(pb->pub);
	free(pb);
}
