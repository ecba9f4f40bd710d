/* gateway/worker.h - one worker process: a libwebsockets loop serving the
 * public port, with its own Redis subscriber and channel registry.
 * Shared by the worker's modules (worker.c, ws_conn.c, http_script.c). */
#ifndef LG_GATEWAY_WORKER_H
#define LG_GATEWAY_WORKER_H

#include <ev.h>
#include <libwebsockets.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "registry.h"
#include "redis_sub.h"
#include "timer_wheel.h"
#include "token.h"

/* Protocol limits (contract) and timing policy. */
#define LG_SUBSCRIBE_DEADLINE_S 10      /* first subscribe within: else 4003 */
#define LG_MAX_FRAME            16384   /* bytes of one client message: else 4008 */
#define LG_RATE_FRAMES          20      /* client messages allowed ...        */
#define LG_RATE_WINDOW_MS       10000   /* ... per this window: else 4008       */
#define LG_PING_IDLE_S          30      /* silent this long: server sends a ping */
#define LG_HANGUP_IDLE_S        60      /* silent this long: dropped            */
#define LG_CHOKE_LIMIT_S        20      /* socket not writable this long: dropped */
#define LG_CLOSE_GRACE_S        5       /* a close frame not out by then: dropped */
#define LG_RX_BUFFER            512     /* lws receive buffer per connection    */
#define LG_SNDBUF               16384   /* SO_SNDBUF clamp per socket           */
#define LG_FD_RESERVE           64      /* fds kept free for Redis, signals...  */
#define LG_QUEUE_EXTRA          256     /* queued frames per client beyond one per channel */
#define LG_QUEUE_BYTES          262144  /* frame bytes one client's queue may pin */
#define LG_HANDSHAKES_MAX       1024    /* accepted sockets not yet past their first
                                           request; also lws's header-table pool */
#define LG_HANDSHAKE_S          5       /* an accepted socket's request must be in by then */
#define LG_SPREAD_MIN_SUBS      500     /* channels this big get a spread hint  */
#define LG_SPREAD_MAX_MS        3000

struct conn;

struct lg_worker {
	const struct lg_config  *cfg;
	struct lg_shared        *shm;
	struct lg_worker_stats  *st;
	int                      index;
	struct ev_loop          *loop;        /* lws runs on it (foreign libev loop) */
	struct lws_context      *ctx;
	struct lws_vhost        *vh;
	struct ps_registry      *reg;
	struct ps_redis         *redis;
	struct lg_keyring       *keys;
	struct lg_wheel          wheel;
	struct conn             *conns;       /* established connections (DL list) */
	unsigned                 n_conns;
	int                      fd_limit;    /* accept closes fds at or above this */
	unsigned                 handshaking; /* accepted, first request not parsed */
	int                      listen_fd;   /* adopted once lws's protocols are up */
	int                      failed;      /* the loop stopped on an error */
	uint64_t                 mono0_ns;    /* CLOCK_MONOTONIC at start */
	lws_sorted_usec_list_t   tick_sul;    /* lws timer: also bounds how late lws's own fire */
	ev_timer                 redis_timer;
	ev_timer                 drain_timer;
	int                      redis_ever_up;
	int                      draining;
	uint64_t                 drain_start_ns;
	unsigned                 drain_total;
	unsigned                 drain_sent;
	unsigned char           *script;      /* LWS_PRE + the browser script */
	size_t                   script_len;
};

/* Returns the worker of the context wsi belongs to. */
struct lg_worker *lg_worker_of(struct lws *wsi);

/* Returns CLOCK_MONOTONIC in ns, and seconds since the worker started. */
uint64_t lg_now_ns(void);
uint32_t lg_worker_secs(const struct lg_worker *w);

/* Starts accepting; called from the WebSocket protocol's PROTOCOL_INIT. */
void lg_worker_protocols_ready(struct lg_worker *w);

/* Counts wsi out of the handshake phase (its first request parsed, or it
 * closed before): called for every wsi, acts once for accepted sockets. */
void lg_worker_handshake_done(struct lws *wsi);

/* ws_conn.c */
int  lg_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len);
size_t lg_ws_conn_size(void);
void lg_ws_on_ready(void *ctx, struct ps_subscriber *sub);
void lg_ws_on_message(void *ctx, struct ps_channel *ch, const char *payload, size_t plen);
void lg_ws_tick(struct lg_worker *w);
/* Closes up to n connections with code (drain). Returns how many. */
unsigned lg_ws_close_some(struct lg_worker *w, unsigned n, int code);

/* http_script.c */
int  lg_http_script_init(struct lg_worker *w);
int  lg_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
                      void *user, void *in, size_t len);

/* worker.c: runs worker `index` on the inherited listening socket until
 * drained. Returns the process exit code. */
int lg_worker_run(const struct lg_config *cfg, struct lg_shared *shm, int index,
                  int listen_fd);

#endif
