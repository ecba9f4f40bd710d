/* supervisor/api_v1.c - the backend's endpoints: POST /v1/tokens mints a
 * token, POST /v1/publish hands a message to the publisher thread (the
 * connection waits suspended, holding no thread). */
#include "api_int.h"
#include "clock.h"
#include "api_json.h"
#include "api_tokens_req.h"
#include "limits.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Parses the body as a JSON object with flags (duplicate names are always
 * refused: two "data" could be read differently by us and by jansson).
 * Returns it, or NULL after answering 400. */
static json_t *body_object(struct MHD_Connection *conn, const struct req *rq, size_t flags,
                           enum MHD_Result *ret)
{
	json_error_t e;
	json_t *v;
	char msg[sizeof e.text + 64];

	v = json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES | flags, &e);
	if (!v) {
		snprintf(msg, sizeof msg, "body is not valid JSON: %s (line %d, column %d)", e.text,
		         e.line, e.column);
		*ret = lg_api_send_error(conn, 400, "invalid_json", msg);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		*ret = lg_api_send_error(conn, 400, "invalid_json", "body must be a JSON object");
		return NULL;
	}
	return v;
}

enum MHD_Result lg_api_tokens(struct lg_api *api, struct MHD_Connection *conn, struct req *rq)
{
	enum MHD_Result ret;
	json_t *b = body_object(conn, rq, 0, &ret);
	/* A lifetime cap below a day also caps what a request may ask. */
	unsigned ttl_max = api->cfg->max_token_lifetime < LG_TOKEN_TTL_MAX ?
	                   api->cfg->max_token_lifetime : LG_TOKEN_TTL_MAX;
	struct lg_tokens_req r;
	const char *code;
	char msg[240], *token = NULL;
	int64_t now_ms = lg_wall_ms(), exp;
	int rc;

	if (!b)
		return ret;
	code = lg_tokens_req_read(b, api->cfg->token_ttl, ttl_max, now_ms, &r, msg, sizeof msg);
	if (code) {
		ret = lg_api_send_error(conn, 400, code, msg);
		goto out;
	}
	exp = now_ms / 1000 + r.ttl_s;
	pthread_rwlock_rdlock(&api->keys_lock);
	rc = lg_token_sign(api->keys, r.names, r.n, r.sub, r.iat_ms, exp, &token, msg, sizeof msg);
	pthread_rwlock_unlock(&api->keys_lock);
	if (rc < 0) {
		/* The inputs were checked above; what is left is a token too long
		 * for one WebSocket message (the message says by how much), or no
		 * memory. */
		ret = lg_api_send_error(conn, 400, "token_too_large", msg);
		goto out;
	}
	lg_add_mt(&api->shm->tokens_issued, 1);
	ret = lg_api_send_json(conn, 201, json_pack("{s:s,s:I}", "token", token, "expires_at",
	                                            (json_int_t)exp));
out:
	free(token);
	json_decref(b);
	return ret;
}

/* Answers 503 for a publish Redis did not take, with Retry-After. */
static enum MHD_Result unavailable(struct lg_api *api, struct MHD_Connection *conn,
                                   const char *why)
{
	char msg[400];

	lg_add_mt(&api->shm->api_errors, 1);
	snprintf(msg, sizeof msg, "Redis did not take the message: %s", why);
	return lg_api_send_error(conn, 503, "redis_unavailable", msg);
}

/* The publisher's callback, on its thread: the answer is sent by
 * libmicrohttpd's thread once the connection is resumed. */
static void publish_done(struct lg_publish *p)
{
	struct req *rq = p->arg;

	MHD_resume_connection(rq->conn);
}

enum MHD_Result lg_api_publish(struct lg_api *api, struct MHD_Connection *conn, struct req *rq)
{
	enum MHD_Result ret;
	/* Numbers as reals only to validate: 12345678901234567890 is valid
	 * JSON that jansson would refuse as an integer; the text is forwarded,
	 * not the parsed value. The flags are the worker's, so what passes
	 * here is embedded as JSON there. */
	json_t *b = body_object(conn, rq, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &ret), *ch;
	const char *data = "null";
	size_t dlen = 4;
	char msg[300];
	int found;

	if (!b)
		return ret;
	ch = json_object_get(b, "channel");
	if (!json_is_string(ch) || !lg_channel_name_valid(json_string_value(ch), json_string_length(ch))) {
		snprintf(msg, sizeof msg, "channel must be 1 to %d bytes of printable ASCII without spaces",
		         LG_CHANNEL_MAX_LEN);
		json_decref(b);
		return lg_api_send_error(conn, 400, "invalid_channel", msg);
	}
	rq->pub.clen = json_string_length(ch);
	memcpy(rq->channel, json_string_value(ch), rq->pub.clen);
	json_decref(b);
	found = lg_json_member(rq->body, rq->len, "data", &data, &dlen);
	if (found < 0)
		return lg_api_send_error(conn, 500, "internal", "out of memory");
	rq->payload = malloc(dlen);
	if (!rq->payload)
		return lg_api_send_error(conn, 500, "internal", "out of memory");
	rq->pub.plen = lg_json_compact(rq->payload, data, dlen);
	if (rq->pub.plen > LG_MAX_PAYLOAD) {
		snprintf(msg, sizeof msg, "data is %zu bytes as compact JSON, over %d; publish an id "
		         "and let pages refetch", rq->pub.plen, LG_MAX_PAYLOAD);
		return lg_api_send_error(conn, 413, "data_too_large", msg);
	}
	if (lg_publisher_refusing(api->pub, msg, sizeof msg))
		return unavailable(api, conn, msg);   /* no suspend for a known "no" */
	rq->pub.channel = rq->channel;
	rq->pub.payload = rq->payload;
	rq->pub.done = publish_done;
	rq->pub.arg = rq;
	rq->conn = conn;
	rq->phase = RQ_PUBLISHING;
	/* Suspended before it is queued: the publisher may answer at once. */
	MHD_suspend_connection(conn);
	if (lg_publisher_submit(api->pub, &rq->pub) < 0)
		MHD_resume_connection(conn);   /* refused meanwhile: answered on resume */
	return MHD_YES;
}

enum MHD_Result lg_api_publish_answer(struct lg_api *api, struct MHD_Connection *conn,
                                      struct req *rq)
{
	if (rq->pub.receivers < 0)
		return unavailable(api, conn, rq->pub.err);
	lg_add_mt(&api->shm->api_publishes, 1);
	return lg_api_send_json(conn, 202, json_pack("{s:I}", "receivers",
	                                             (json_int_t)rq->pub.receivers));
}
