/* worker/context.h - the state of one worker process, shared by the
 * worker's rooms (accept, http_front, ws, sse, session, fanout, drain,
 * redis_glue) and by nothing outside worker/. Each room's header says which
 * of these fields it owns; the others only read them. */
#ifndef LG_WORKER_CONTEXT_H
#define LG_WORKER_CONTEXT_H

#include <ev.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "limits.h"
#include "metrics.h"
#include "registry.h"
#include "timer_wheel.h"
#include "token.h"

/* Protocol limits (contract) and timing policy. */
#define LG_SUBSCRIBE_DEADLINE_S 10      /* first subscribe within: else 4003 */
#define LG_MAX_FRAME            16384   /* bytes of one client message: else 4008 */
#define LG_RATE_FRAMES          20      /* client frames (pings included) ... */
#define LG_RATE_WINDOW_MS       10000   /* ... per this window: else 4008       */
#define LG_PING_IDLE_S          30      /* silent this long: server sends a ping */
#define LG_HANGUP_IDLE_S        60      /* silent this long: dropped            */
#define LG_CHOKE_LIMIT_S        20      /* socket not writable this long: dropped */
#define LG_CLOSE_GRACE_S        5       /* closing this long: dropped           */
#define LG_SNDBUF               16384   /* SO_SNDBUF clamp per socket (the
                                           kernel doubles it): what the fan-out
                                           fills before a non-reader parks */
#define LG_QUEUE_EXTRA          256     /* queued frames per client beyond one per channel */
#define LG_QUEUE_BYTES          262144  /* frame bytes one client's queue may pin */
#define LG_HANDSHAKES_MAX       1024    /* accepted sockets whose request is not in */
#define LG_HANDSHAKE_S          5       /* a request (or the next one) must be in by then */
#define LG_SPREAD_MIN_SUBS      500     /* channels this big get a spread hint  */
#define LG_SPREAD_MAX_MS        3000
#define LG_SSE_PING_S           25      /* a stream's ": ping" comment, for proxies */

struct conn;
struct lg_catchup;
struct ps_sub;

struct lg_worker {
	const struct lg_config  *cfg;
	struct lg_worker_stats  *st;
	struct ev_loop          *loop;
	struct ps_registry      *reg;
	struct ps_sub           *redis;       /* redis_glue.c */
	struct lg_keyring       *keys;        /* replaced on SIGHUP (drain.c) */
	struct lg_catchup       *catchup;     /* last publish per channel (redis_glue.c) */
	struct lg_wheel          wheel;       /* every connection's one deadline */
	struct conn             *conns;       /* every accepted socket (DL list) */
	struct conn             *graveyard;   /* killed, freed after this iteration */
	unsigned                 n_sessions;  /* counted against max_connections */
	unsigned                 handshaking; /* accepted, request not yet routed */
	int                      fd_limit;    /* accept closes fds at or above this */
	int                      redis_up;    /* redis_glue.c */
	int                      draining;    /* drain.c */
	int                      failed;      /* the loop stopped on an error */
	uint64_t                 mono0_ns;    /* CLOCK_MONOTONIC at start */
	ev_timer                 tick;        /* the wheel's second */
	ev_prepare               reaper;      /* frees the graveyard */
};

/* Returns seconds (the wheel's unit) and milliseconds since the worker
 * started. */
static inline uint32_t lg_worker_secs(const struct lg_worker *w)
{
	return (uint32_t)((lg_now_ns() - w->mono0_ns) / 1000000000ull);
}

static inline uint32_t lg_worker_ms(const struct lg_worker *w)
{
	return (uint32_t)((lg_now_ns() - w->mono0_ns) / 1000000u);
}

/* Arms one-shot timer t to fire after ms; an armed one is moved. */
static inline void lg_timer_arm(struct ev_loop *loop, ev_timer *t, unsigned ms)
{
	ev_timer_stop(loop, t);
	ev_timer_set(t, (ev_tstamp)ms / 1000.0, 0.);
	ev_timer_start(loop, t);
}

#endif
