/* supervisor/api.h - the private HTTP API (libmicrohttpd, own threads):
 * /v1/tokens, /v1/publish, /healthz, /readyz, /metrics. */
#ifndef LG_SUPERVISOR_API_H
#define LG_SUPERVISOR_API_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"
#include "token.h"

#define LG_API_MAX_BODY      (128 * 1024)  /* request bodies past this: 413 */
/* Connections held at once, idle and stalled ones included: past it new
 * ones are closed at once. Far above what backends, Prometheus and probes
 * use (tens), so that ~1,000 stalled connections leave /healthz room
 * (issue 10); a slot costs about 2 KB of memory and one file descriptor,
 * and the open-file limit caps it (LG_API_FD_RESERVE kept for main). */
#define LG_API_CONNECTIONS   8192
#define LG_API_FD_RESERVE    128
#define LG_API_TIMEOUT_S     10     /* an idle (or stalled) connection is closed after this */
#define LG_API_THREADS       2      /* they never block: Redis waits on the publisher's thread */
#define LG_API_BACKLOG       1024
#define LG_API_LOG_BURST     5      /* libmicrohttpd lines a second, the rest counted */

struct lg_api;

/* Starts serving on cfg->private_addr with keys (the API takes ownership).
 * Returns the API, or NULL with one line in err. */
struct lg_api *lg_api_start(const struct lg_config *cfg, struct lg_shared *shm,
                            struct lg_keyring *keys, char *err, size_t errlen);

/* Replaces the key ring used to sign tokens (takes ownership, frees the old
 * one once no request uses it). */
void lg_api_set_keys(struct lg_api *api, struct lg_keyring *keys);

/* Stops accepting, lets in-flight requests finish, frees everything. */
void lg_api_stop(struct lg_api *api);

#endif
