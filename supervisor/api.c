/* supervisor/api.c - the private HTTP API on libmicrohttpd: the daemon, its
 * limits, and the routes.
 *
 * Thread model: two libmicrohttpd threads (epoll) serve every connection
 * and never block. Publishing waits for Redis on the publisher thread
 * (api_redis.c) while its connection is suspended, so /healthz, /readyz
 * and /metrics answer at once whatever Redis does. Stalled clients cost a
 * connection slot, not a thread: the slots are many (LG_API_CONNECTIONS,
 * bounded by the open-file limit) and an idle one is closed after
 * LG_API_TIMEOUT_S. Shared state: the key ring (read under a rwlock,
 * replaced on SIGHUP) and the metrics in shared memory.
 */
#include "api_int.h"
#include "listen.h"
#include "clock.h"
#include "log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum MHD_Result lg_api_send_text(struct MHD_Connection *conn, unsigned status,
                                 const char *ctype, const char *text, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)text,
	                                                         MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) == MHD_NO ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_NO ||
	    /* A 503 passes within a second or two (the publisher's pause): say
	     * so to clients that honour it (urllib3, most retry helpers). */
	    (status == 503 && MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1") == MHD_NO)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result lg_api_send_json(struct MHD_Connection *conn, unsigned status, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
	enum MHD_Result ret;

	json_decref(v);
	if (!s)
		return MHD_NO;
	ret = lg_api_send_text(conn, status, "application/json", s, strlen(s));
	free(s);
	return ret;
}

enum MHD_Result lg_api_send_error(struct MHD_Connection *conn, unsigned status,
                                  const char *code, const char *msg)
{
	return lg_api_send_json(conn, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
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

static enum MHD_Result do_healthz(struct lg_api *api, struct MHD_Connection *conn, struct req *rq)
{
	(void)api;
	(void)rq;
	return lg_api_send_text(conn, 200, "application/json", "{\"status\":\"ok\"}", 15);
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

static enum MHD_Result do_readyz(struct lg_api *api, struct MHD_Connection *conn, struct req *rq)
{
	const char *why = not_ready(api->shm);

	(void)rq;
	if (!why)
		return lg_api_send_text(conn, 200, "application/json", "{\"status\":\"ready\"}", 18);
	return lg_api_send_json(conn, 503, json_pack("{s:s,s:s}", "status", "not_ready", "reason", why));
}

static enum MHD_Result do_metrics(struct lg_api *api, struct MHD_Connection *conn, struct req *rq)
{
	char *text;
	size_t len;
	enum MHD_Result ret;

	(void)rq;
	if (lg_metrics_render(api->shm, &text, &len) < 0)
		return lg_api_send_error(conn, 500, "internal", "out of memory");
	ret = lg_api_send_text(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
	return ret;
}

struct route {
	const char *path;
	int         post;   /* POST, else GET (and HEAD) */
	enum MHD_Result (*serve)(struct lg_api *api, struct MHD_Connection *conn, struct req *rq);
};

/* Every path under /v1/ needs the bearer key, unknown ones included (a
 * caller without the key learns nothing about what exists). */
static const struct route routes[] = {
	{ "/healthz",    0, do_healthz },
	{ "/readyz",     0, do_readyz },
	{ "/metrics",    0, do_metrics },
	{ "/v1/tokens",  1, lg_api_tokens },
	{ "/v1/publish", 1, lg_api_publish },
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

static enum MHD_Result route(struct lg_api *api, struct MHD_Connection *conn,
                             const char *url, const char *method, struct req *rq)
{
	int post = strcmp(method, "POST") == 0;
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	const struct route *r = NULL;
	char msg[160];

	for (size_t i = 0; i < N_ROUTES && !r; i++)
		if (strcmp(url, routes[i].path) == 0)
			r = &routes[i];
	if (strncmp(url, "/v1/", 4) == 0 && !authorized(api, conn))
		return lg_api_send_error(conn, 401, "unauthorized",
		                         "missing or wrong Authorization: Bearer <LIVEGATE_API_KEY>");
	if (!r)
		return lg_api_send_error(conn, 404, "not_found", "no such endpoint");
	if (r->post ? !post : !get)
		return lg_api_send_error(conn, 405, "method_not_allowed", r->post ? "use POST" : "use GET");
	if (rq->too_big) {
		snprintf(msg, sizeof msg, "request body over %d bytes", LG_API_MAX_BODY);
		return lg_api_send_error(conn, 413, "body_too_large", msg);
	}
	return r->serve(api, conn, rq);
}

/* How the request says its body is framed. */
struct framing {
	const char *cl;      /* the first Content-Length */
	int         cl_differ;
	int         te;      /* a Transfer-Encoding came */
};

static enum MHD_Result note_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
	struct framing *f = cls;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		if (f->cl && strcmp(f->cl, value) != 0)
			f->cl_differ = 1;
		f->cl = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->te = 1;
	}
	return MHD_YES;
}

/* Returns 1 if the body's length is said one way only. Two differing
 * Content-Length headers, or one beside Transfer-Encoding, could be read
 * one way by a proxy in front and another here (request smuggling, RFC
 * 9112 6.3): libmicrohttpd 0.9.75 takes the first, so refuse them. */
static int framing_ok(struct MHD_Connection *conn)
{
	struct framing f = { NULL, 0, 0 };

	MHD_get_connection_values(conn, MHD_HEADER_KIND, note_framing, &f);
	return !f.cl_differ && !(f.cl && f.te);
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
		if (!framing_ok(conn)) {
			rq->refused = 1;
			return lg_api_send_error(conn, 400, "bad_request",
			                  "Content-Length given twice with different values, or "
			                  "beside Transfer-Encoding");
		}
		return MHD_YES;
	}
	if (rq->refused) {   /* answered already: the body is not ours to read */
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->phase == RQ_PUBLISHING)   /* resumed: the publisher has answered */
		return lg_api_publish_answer(api, conn, rq);
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
		free(rq->payload);
		free(rq);
		*con_cls = NULL;
	}
}

/* libmicrohttpd's messages, at most LG_API_LOG_BURST a second: past its
 * connection limit it writes one per refused connection, which a client
 * could turn into a log flood. What was left out is counted on the next
 * line written. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct lg_api *api = cls;
	char buf[256];
	uint64_t now = lg_now_ms();
	unsigned long suppressed = 0;
	struct lg_logline l;

	pthread_mutex_lock(&api->log_lock);
	if (now - api->log_window_ms >= 1000) {
		api->log_window_ms = now;
		api->log_in_window = 0;
	}
	if (api->log_in_window >= LG_API_LOG_BURST) {
		api->log_suppressed++;
		pthread_mutex_unlock(&api->log_lock);
		return;
	}
	api->log_in_window++;
	suppressed = api->log_suppressed;
	api->log_suppressed = 0;
	pthread_mutex_unlock(&api->log_lock);
	vsnprintf(buf, sizeof buf, fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	if (lg_log_begin(&l, LG_LOG_WARN, "mhd")) {
		lg_log_str(&l, "msg", buf);
		if (suppressed)
			lg_log_int(&l, "suppressed_before", (long long)suppressed);
		lg_log_end(&l);
	}
}

/* The connection limit: LG_API_CONNECTIONS, or fewer when the open-file
 * limit could not hold them beside main's own descriptors (logged). */
static unsigned connection_limit(const struct lg_config *cfg)
{
	struct rlimit rl;
	rlim_t room;
	struct lg_logline l;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return LG_API_CONNECTIONS;
	room = rl.rlim_cur > LG_API_FD_RESERVE + cfg->workers ?
	       rl.rlim_cur - LG_API_FD_RESERVE - cfg->workers : 16;
	if (room >= LG_API_CONNECTIONS)
		return LG_API_CONNECTIONS;
	if (lg_log_begin(&l, LG_LOG_WARN, "api_connection_limit")) {
		lg_log_int(&l, "nofile", (long long)rl.rlim_cur);
		lg_log_int(&l, "connections", (long long)room);
		lg_log_int(&l, "wanted", LG_API_CONNECTIONS);
		lg_log_end(&l);
	}
	return (unsigned)room;
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
	fd = lg_listen(&cfg->private_addr, "LIVEGATE_PRIVATE_ADDR", 0, LG_API_BACKLOG, err, errlen);
	if (fd < 0) {
		lg_keyring_free(keys);
		free(api);
		return NULL;
	}
	api->cfg = cfg;
	api->shm = shm;
	api->keys = keys;
	pthread_rwlock_init(&api->keys_lock, NULL);
	pthread_mutex_init(&api->log_lock, NULL);
	api->pub = lg_publisher_start(cfg, err, errlen);
	if (api->pub)
		api->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
		                          MHD_USE_ERROR_LOG,
		                          0, NULL, NULL, handler, api,
		                          MHD_OPTION_EXTERNAL_LOGGER, mhd_log, api,
		                          MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		                          MHD_OPTION_THREAD_POOL_SIZE, (unsigned)LG_API_THREADS,
		                          MHD_OPTION_CONNECTION_LIMIT, connection_limit(cfg),
		                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
		                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)LG_API_TIMEOUT_S,
		                          MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
		                          MHD_OPTION_END);
	if (!api->d) {
		if (api->pub)
			snprintf(err, errlen, "LIVEGATE_PRIVATE_ADDR: cannot serve HTTP on %s",
			         cfg->private_addr.text);
		lg_publisher_stop(api->pub);
		close(fd);
		lg_keyring_free(keys);
		pthread_mutex_destroy(&api->log_lock);
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
	/* No new connections; then the publisher answers (fails) what waits,
	 * which resumes every suspended connection: libmicrohttpd must not be
	 * stopped with one suspended. In-flight requests then complete. */
	fd = MHD_quiesce_daemon(api->d);
	lg_publisher_stop(api->pub);
	MHD_stop_daemon(api->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	lg_keyring_free(api->keys);
	pthread_mutex_destroy(&api->log_lock);
	pthread_rwlock_destroy(&api->keys_lock);
	free(api);
}
