/* supervisor/api_redis.c - the private API's publisher thread (see
 * api_redis.h). */
#include "api_redis.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lg_publisher {
	const struct ps_redis_url *url;
	const char       *prefix;
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
	redisContext     *c;
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

/* Connects, authenticates and selects the db, each step within the
 * timeout. Returns 0, or -1 with err set. */
static int connect_redis(struct lg_publisher *pb, char *err, size_t n)
{
	const struct ps_redis_url *u = pb->url;
	struct timeval tv = { LG_API_REDIS_TIMEOUT_MS / 1000, (LG_API_REDIS_TIMEOUT_MS % 1000) * 1000 };
	redisContext *c = redisConnectWithTimeout(u->host, u->port, tv);
	redisReply *r = NULL;

	if (!c || c->err) {
		snprintf(err, n, "connect %.100s:%d: %.80s", u->host, u->port, c ? c->errstr : "out of memory");
		redisFree(c);
		return -1;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(err, n, "set timeout: %s", c->errstr);
		goto fail;
	}
	if (u->password[0]) {
		r = u->user[0] ? redisCommand(c, "AUTH %s %s", u->user, u->password)
		               : redisCommand(c, "AUTH %s", u->password);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(err, n, "AUTH refused: %s", r ? r->str : c->errstr);
			goto fail;
		}
		freeReplyObject(r);
		r = NULL;
	}
	if (u->db) {
		r = redisCommand(c, "SELECT %d", u->db);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(err, n, "SELECT %d refused: %s", u->db, r ? r->str : c->errstr);
			goto fail;
		}
		freeReplyObject(r);
	}
	pb->c = c;
	return 0;
fail:
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return -1;
}

static void disconnect(struct lg_publisher *pb)
{
	redisFree(pb->c);
	pb->c = NULL;
}

/* Sends batch (n publishes) as one pipeline and reads the replies into
 * them. Returns the number answered; when fewer than n, the connection is
 * gone, err says why and *timed_out whether it was the deadline. */
static size_t pipeline(struct lg_publisher *pb, struct lg_publish **batch, size_t n,
                       char *err, size_t errlen, int *timed_out)
{
	size_t pl = strlen(pb->prefix), got = 0;

	*timed_out = 0;
	for (size_t i = 0; i < n; i++)
		if (redisAppendCommand(pb->c, "PUBLISH %b%b %b", pb->prefix, pl, batch[i]->channel,
		                       batch[i]->clen, batch[i]->payload, batch[i]->plen) != REDIS_OK) {
			snprintf(err, errlen, "PUBLISH: %s", pb->c->errstr);
			disconnect(pb);
			return 0;
		}
	for (; got < n; got++) {
		redisReply *r = NULL;
		int e;

		errno = 0;
		if (redisGetReply(pb->c, (void **)&r) != REDIS_OK) {
			e = errno;
			*timed_out = e == EAGAIN || e == EWOULDBLOCK;
			snprintf(err, errlen, "PUBLISH: %s", *timed_out ? "Redis did not answer in time"
			                                                 : pb->c->errstr);
			disconnect(pb);
			return got;
		}
		if (r->type == REDIS_REPLY_INTEGER) {
			batch[got]->receivers = r->integer;
		} else {
			batch[got]->receivers = -1;
			snprintf(batch[got]->err, sizeof batch[got]->err, "PUBLISH refused: %s",
			         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		}
		freeReplyObject(r);
	}
	return got;
}

/* Publishes batch[0..n): every publish ends with a result. Returns 0, or -1
 * with err set when Redis failed (connection, timeout). */
static int run_batch(struct lg_publisher *pb, struct lg_publish **batch, size_t n,
                     char *err, size_t errlen)
{
	size_t done = 0;

	/* One retry, for a pooled connection the server closed while idle
	 * (restart, timeout) and only if nothing was answered and it was not
	 * the deadline: a Redis that hangs gets no second wait. */
	for (int attempt = 0; attempt < 2 && done < n; attempt++) {
		int reused = pb->c != NULL, timed_out = 0;
		if (!pb->c && connect_redis(pb, err, errlen) < 0)
			break;
		done = pipeline(pb, batch, n, err, errlen, &timed_out);
		if (done || !reused || timed_out)
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
	disconnect(pb);
	return NULL;
}

struct lg_publisher *lg_publisher_start(const struct ps_redis_url *url, const char *prefix,
                                        char *err, size_t errlen)
{
	struct lg_publisher *pb = calloc(1, sizeof *pb);
	int rc;

	if (!pb) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pb->url = url;
	pb->prefix = prefix;
	pthread_mutex_init(&pb->lock, NULL);
	pthread_cond_init(&pb->wake, NULL);
	rc = pthread_create(&pb->thread, NULL, publisher_main, pb);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the publisher thread: %s", strerror(rc));
		pthread_cond_destroy(&pb->wake);
		pthread_mutex_destroy(&pb->lock);
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
	free(pb);
}
