/* gateway/api.c - the private HTTP API on libmicrohttpd.
 *
 * Runs on MHD's own threads. Shared state: the key ring (read under a
 * rwlock, replaced on SIGHUP) and the metrics in shared memory.
 */
#include "api.h"
#include "api_redis.h"
#include "listen.h"
#include "log.h"

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

struct lg_api {
	const struct lg_config *cfg;
	struct lg_shared       *shm;
	struct MHD_Daemon      *d;
	pthread_rwlock_t        keys_lock;
	struct lg_keyring      *keys;
};

/* Per-request state across MHD's handler calls. */
struct req {
	char  *body;
	size_t len;
	int    too_big;
};

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status,
                                 const char *ctype, const char *text, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)text,
	                                                         MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) == MHD_NO ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_NO) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Sends v (stolen) as compact JSON. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
	enum MHD_Result ret;

	json_decref(v);
	if (!s)
		return MHD_NO;
	ret = send_text(conn, status, "application/json", s, strlen(s));
	free(s);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status,
                                  const char *code, const char *msg)
{
	return send_json(conn, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
}

/* Returns 1 if the request carries "Authorization: Bearer <api key>". */
static int authorized(const struct lg_api *api, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	size_t kl;

	if (!api->cfg->api_key || !h || strncmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	kl = strlen(api->cfg->api_key);
	return strlen(h) == kl && CRYPTO_memcmp(h, api->cfg->api_key, kl) == 0;
}

/* Parses the body as a JSON object. Returns it, or NULL after answering. */
static json_t *body_object(struct MHD_Connection *conn, const struct req *rq,
                           enum MHD_Result *ret)
{
	json_error_t e;
	json_t *v;
	char msg[sizeof e.text + 64];

	v = json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES, &e);
	if (!v) {
		snprintf(msg, sizeof msg, "body is not valid JSON: %s (line %d, column %d)", e.text,
		         e.line, e.column);
		*ret = send_error(conn, 400, "invalid_json", msg);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		*ret = send_error(conn, 400, "invalid_json", "body must be a JSON object");
		return NULL;
	}
	return v;
}

static enum MHD_Result do_tokens(struct lg_api *api, struct MHD_Connection *conn,
                                 const struct req *rq)
{
	enum MHD_Result ret;
	json_t *b = body_object(conn, rq, &ret), *chs, *ttl, *sub;
	const char *names[LG_TOKEN_MAX_CHANNELS];
	char msg[200], *token = NULL;
	size_t n;
	int64_t now, ttl_s;
	int rc;

	if (!b)
		return ret;
	chs = json_object_get(b, "channels");
	ttl = json_object_get(b, "ttl");
	sub = json_object_get(b, "sub");
	n = json_array_size(chs);
	if (!json_is_array(chs) || n == 0 || n > LG_TOKEN_MAX_CHANNELS) {
		snprintf(msg, sizeof msg, "channels must be an array of 1 to %d channel names",
		         LG_TOKEN_MAX_CHANNELS);
		ret = send_error(conn, 400, "invalid_channels", msg);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(chs, i);
		if (!json_is_string(c) || !lg_channel_name_valid(json_string_value(c), json_string_length(c))) {
			snprintf(msg, sizeof msg, "channels[%zu] must be 1 to %d bytes of printable ASCII "
			         "without spaces", i, LG_CHANNEL_MAX_LEN);
			ret = send_error(conn, 400, "invalid_channels", msg);
			goto out;
		}
		names[i] = json_string_value(c);
	}
	ttl_s = api->cfg->token_ttl;
	if (ttl) {
		if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
		    json_integer_value(ttl) > LG_TOKEN_TTL_MAX) {
			snprintf(msg, sizeof msg, "ttl must be a whole number of seconds from 1 to %d",
			         LG_TOKEN_TTL_MAX);
			ret = send_error(conn, 400, "invalid_ttl", msg);
			goto out;
		}
		ttl_s = json_integer_value(ttl);
	}
	if (sub && (!json_is_string(sub) || json_string_length(sub) > LG_SUB_MAX_LEN)) {
		snprintf(msg, sizeof msg, "sub must be a string of at most %d bytes", LG_SUB_MAX_LEN);
		ret = send_error(conn, 400, "invalid_sub", msg);
		goto out;
	}
	now = (int64_t)time(NULL);
	pthread_rwlock_rdlock(&api->keys_lock);
	rc = lg_token_sign(api->keys, names, n, sub ? json_string_value(sub) : NULL, now,
	                   now + ttl_s, &token, msg, sizeof msg);
	pthread_rwlock_unlock(&api->keys_lock);
	if (rc < 0) {
		/* The inputs were checked above; what is left is a token over
		 * LG_TOKEN_MAX_LEN (many long names) or no memory. */
		ret = send_error(conn, 400, "token_too_large", msg);
		goto out;
	}
	lg_add_mt(&api->shm->tokens_issued, 1);
	ret = send_json(conn, 201, json_pack("{s:s,s:I}", "token", token, "expires_at",
	                                     (json_int_t)(now + ttl_s)));
out:
	free(token);
	json_decref(b);
	return ret;
}

static enum MHD_Result do_publish(struct lg_api *api, struct MHD_Connection *conn,
                                  const struct req *rq)
{
	enum MHD_Result ret;
	json_t *b = body_object(conn, rq, &ret), *ch, *data;
	char msg[300], *payload = NULL;
	long long receivers;

	if (!b)
		return ret;
	ch = json_object_get(b, "channel");
	data = json_object_get(b, "data");
	if (!json_is_string(ch) || !lg_channel_name_valid(json_string_value(ch), json_string_length(ch))) {
		snprintf(msg, sizeof msg, "channel must be 1 to %d bytes of printable ASCII without spaces",
		         LG_CHANNEL_MAX_LEN);
		ret = send_error(conn, 400, "invalid_channel", msg);
		goto out;
	}
	payload = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("null");
	if (!payload) {
		ret = send_error(conn, 500, "internal", "could not serialize data");
		goto out;
	}
	if (strlen(payload) > 65536) {
		ret = send_error(conn, 413, "data_too_large",
		                 "data serializes to more than 65536 bytes; publish an id and let pages refetch");
		goto out;
	}
	receivers = lg_api_publish(&api->cfg->redis, api->cfg->channel_prefix, json_string_value(ch),
	                           json_string_length(ch), payload, strlen(payload), msg, sizeof msg);
	if (receivers < 0) {
		lg_add_mt(&api->shm->api_errors, 1);
		lg_log_msg(LG_LOG_ERROR, "publish_failed", msg);
		ret = send_error(conn, 503, "redis_unavailable", "Redis did not take the message");
		goto out;
	}
	lg_add_mt(&api->shm->api_publishes, 1);
	ret = send_json(conn, 202, json_pack("{s:I}", "receivers", (json_int_t)receivers));
out:
	free(payload);
	json_decref(b);
	return ret;
}

/* Returns the reason the process is not ready, or NULL when it is. */
static const char *not_ready(const struct lg_shared *s)
{
	int n = atomic_load(&s->n_workers);

	if (atomic_load(&s->draining))
		return "draining";
	for (int i = 0; i < n; i++) {
		if (!atomic_load(&s->w[i].pid))
			return "worker starting";
		if (!lg_get(&s->w[i].redis_up))
			return "redis not connected";
	}
	return NULL;
}

static enum MHD_Result route(struct lg_api *api, struct MHD_Connection *conn,
                             const char *url, const char *method, const struct req *rq)
{
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int post = strcmp(method, "POST") == 0;

	if (strcmp(url, "/healthz") == 0 && get)
		return send_text(conn, 200, "application/json", "{\"status\":\"ok\"}", 15);
	if (strcmp(url, "/readyz") == 0 && get) {
		const char *why = not_ready(api->shm);
		if (!why)
			return send_text(conn, 200, "application/json", "{\"status\":\"ready\"}", 18);
		return send_json(conn, 503, json_pack("{s:s,s:s}", "status", "not_ready", "reason", why));
	}
	if (strcmp(url, "/metrics") == 0 && get) {
		char *text;
		size_t len;
		enum MHD_Result ret;
		if (lg_metrics_render(api->shm, &text, &len) < 0)
			return send_error(conn, 500, "internal", "out of memory");
		ret = send_text(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
		free(text);
		return ret;
	}
	if (strncmp(url, "/v1/", 4) == 0) {
		if (!authorized(api, conn))
			return send_error(conn, 401, "unauthorized",
			                  "missing or wrong Authorization: Bearer <LIVEGATE_API_KEY>");
		if (strcmp(url, "/v1/tokens") == 0 || strcmp(url, "/v1/publish") == 0) {
			if (!post)
				return send_error(conn, 405, "method_not_allowed", "use POST");
			if (rq->too_big)
				return send_error(conn, 413, "body_too_large", "request body over 131072 bytes");
			return url[4] == 't' ? do_tokens(api, conn, rq) : do_publish(api, conn, rq);
		}
	}
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 || strcmp(url, "/metrics") == 0)
		return send_error(conn, 405, "method_not_allowed", "use GET");
	return send_error(conn, 404, "not_found", "no such endpoint");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version,
                               const char *upload, size_t *upload_size, void **con_cls)
{
	struct lg_api *api = cls;
	struct req *rq = *con_cls;

	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof *rq);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_big && rq->len + *upload_size <= LG_API_MAX_BODY) {
			char *nb = realloc(rq->body, rq->len + *upload_size);
			if (!nb)
				return MHD_NO;
			memcpy(nb + rq->len, upload, *upload_size);
			rq->body = nb;
			rq->len += *upload_size;
		} else {
			rq->too_big = 1;   /* keep reading so the 413 can be sent */
			free(rq->body);
			rq->body = NULL;
			rq->len = 0;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return route(api, conn, url, method, rq);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];

	(void)cls;
	vsnprintf(buf, sizeof buf, fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	lg_log_msg(LG_LOG_WARN, "mhd", buf);
}

struct lg_api *lg_api_start(const struct lg_config *cfg, struct lg_shared *shm,
                            struct lg_keyring *keys, char *err, size_t errlen)
{
	struct lg_api *api = calloc(1, sizeof *api);
	int fd;

	if (!api) {
		snprintf(err, errlen, "LIVEGATE_PRIVATE_ADDR: out of memory");
		lg_keyring_free(keys);
		return NULL;
	}
	fd = lg_listen(&cfg->private_addr, "LIVEGATE_PRIVATE_ADDR", 0, 1024, err, errlen);
	if (fd < 0) {
		lg_keyring_free(keys);
		free(api);
		return NULL;
	}
	api->cfg = cfg;
	api->shm = shm;
	api->keys = keys;
	pthread_rwlock_init(&api->keys_lock, NULL);
	api->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG,
	                          0, NULL, NULL, handler, api,
	                          MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	                          MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	                          MHD_OPTION_THREAD_POOL_SIZE, (unsigned)LG_API_THREADS,
	                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)LG_API_CONNECTIONS,
	                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
	                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)LG_API_TIMEOUT_S,
	                          MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	                          MHD_OPTION_END);
	if (!api->d) {
		snprintf(err, errlen, "LIVEGATE_PRIVATE_ADDR: cannot serve HTTP on %s", cfg->private_addr.text);
		close(fd);
		lg_keyring_free(keys);
		pthread_rwlock_destroy(&api->keys_lock);
		free(api);
		return NULL;
	}
	return api;
}

void lg_api_set_keys(struct lg_api *api, struct lg_keyring *keys)
{
	struct lg_keyring *old;

	pthread_rwlock_wrlock(&api->keys_lock);
	old = api->keys;
	api->keys = keys;
	pthread_rwlock_unlock(&api->keys_lock);
	lg_keyring_free(old);
}

void lg_api_stop(struct lg_api *api)
{
	MHD_socket fd;

	if (!api)
		return;
	/* Quiesce first: no new connections, in-flight requests complete. */
	fd = MHD_quiesce_daemon(api->d);
	MHD_stop_daemon(api->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	lg_keyring_free(api->keys);
	pthread_rwlock_destroy(&api->keys_lock);
	free(api);
}
