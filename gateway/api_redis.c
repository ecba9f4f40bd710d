/* gateway/api_redis.c - per-thread publisher connection. */
#include "api_redis.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* A thread key rather than __thread: its destructor closes the connection
 * when MHD ends the thread. */
static pthread_key_t  conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

static void free_conn(void *c)
{
	redisFree(c);
}

static void make_key(void)
{
	/* Failure leaves the key unusable; pthread_setspecific then fails and
	 * every request connects anew, which is slow but correct. */
	(void)pthread_key_create(&conn_key, free_conn);
}

/* Returns a connected, authenticated context for this thread, or NULL with
 * err set. */
static redisContext *get_conn(const struct ps_redis_url *u, char *err, size_t n)
{
	struct timeval tv = { LG_API_REDIS_TIMEOUT_MS / 1000, (LG_API_REDIS_TIMEOUT_MS % 1000) * 1000 };
	redisContext *c;
	redisReply *r = NULL;

	pthread_once(&conn_once, make_key);
	c = pthread_getspecific(conn_key);
	if (c)
		return c;
	c = redisConnectWithTimeout(u->host, u->port, tv);
	if (!c || c->err) {
		snprintf(err, n, "connect %s:%d: %s", u->host, u->port, c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(err, n, "set timeout: %s", c->errstr);
		redisFree(c);
		return NULL;
	}
	if (u->password[0]) {
		r = u->user[0] ? redisCommand(c, "AUTH %s %s", u->user, u->password)
		               : redisCommand(c, "AUTH %s", u->password);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(err, n, "AUTH: %s", r ? r->str : c->errstr);
			goto fail;
		}
		freeReplyObject(r);
	}
	if (u->db) {
		r = redisCommand(c, "SELECT %d", u->db);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(err, n, "SELECT: %s", r ? r->str : c->errstr);
			goto fail;
		}
		freeReplyObject(r);
	}
	if (pthread_setspecific(conn_key, c) != 0) {
		snprintf(err, n, "cannot keep the connection for this thread");
		goto fail_noreply;
	}
	return c;
fail:
	if (r)
		freeReplyObject(r);
fail_noreply:
	redisFree(c);
	return NULL;
}

long long lg_api_publish(const struct ps_redis_url *url, const char *prefix,
                         const char *channel, size_t clen,
                         const char *payload, size_t plen,
                         char *err, size_t errlen)
{
	/* One retry: a pooled connection may have been closed by the server
	 * (restart, idle timeout) since the last request. */
	for (int attempt = 0; attempt < 2; attempt++) {
		redisContext *c = get_conn(url, err, errlen);
		redisReply *r;
		long long n;

		if (!c)
			return -1;
		r = redisCommand(c, "PUBLISH %b%b %b", prefix, strlen(prefix), channel, clen,
		                 payload, plen);
		if (!r) {
			snprintf(err, errlen, "PUBLISH: %s", c->errstr);
			lg_api_redis_close();
			continue;
		}
		if (r->type != REDIS_REPLY_INTEGER) {
			snprintf(err, errlen, "PUBLISH: %s", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
			freeReplyObject(r);
			lg_api_redis_close();
			return -1;
		}
		n = r->integer;
		freeReplyObject(r);
		return n;
	}
	return -1;
}

void lg_api_redis_close(void)
{
	pthread_once(&conn_once, make_key);
	redisFree(pthread_getspecific(conn_key));
	(void)pthread_setspecific(conn_key, NULL);
}
