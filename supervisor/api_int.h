/* supervisor/api_int.h - (internal to the private API) the state its files
 * share: the API itself, one request across libmicrohttpd's calls, and the
 * JSON answers. */
#ifndef LG_SUPERVISOR_API_INT_H
#define LG_SUPERVISOR_API_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>

#include "api.h"
#include "api_redis.h"

struct lg_api {
	const struct lg_config *cfg;
	struct lg_shared       *shm;
	struct MHD_Daemon      *d;
	struct lg_publisher    *pub;
	pthread_rwlock_t        keys_lock;
	struct lg_keyring      *keys;
	pthread_mutex_t         log_lock;       /* libmicrohttpd's messages, rate-limited */
	uint64_t                log_window_ms;
	unsigned                log_in_window;
	unsigned long           log_suppressed;
};

enum req_phase {
	RQ_READING,      /* the body is arriving */
	RQ_PUBLISHING,   /* suspended until the publisher has answered */
};

/* One request across libmicrohttpd's calls of the handler. */
struct req {
	char                  *body;
	size_t                 len;
	int                    too_big;
	int                    refused;   /* answered at its head (framing) */
	enum req_phase         phase;
	struct MHD_Connection *conn;
	char                   channel[LG_CHANNEL_MAX_LEN + 1];   /* of a publish */
	char                  *payload;   /* the compact `data` of a publish */
	struct lg_publish      pub;
};

/* Answers status with text of type ctype (Cache-Control: no-store). */
enum MHD_Result lg_api_send_text(struct MHD_Connection *conn, unsigned status,
                                 const char *ctype, const char *text, size_t len);

/* Answers status with v (stolen) as compact JSON. */
enum MHD_Result lg_api_send_json(struct MHD_Connection *conn, unsigned status, json_t *v);

/* Answers the contract's error body {"error":code,"message":msg}. */
enum MHD_Result lg_api_send_error(struct MHD_Connection *conn, unsigned status,
                                  const char *code, const char *msg);

/* POST /v1/tokens and POST /v1/publish (api_v1.c). A publish suspends the
 * connection; lg_api_publish_answer sends its answer once resumed. */
enum MHD_Result lg_api_tokens(struct lg_api *api, struct MHD_Connection *conn, struct req *rq);
enum MHD_Result lg_api_publish(struct lg_api *api, struct MHD_Connection *conn, struct req *rq);
enum MHD_Result lg_api_publish_answer(struct lg_api *api, struct MHD_Connection *conn,
                                      struct req *rq);

#endif
