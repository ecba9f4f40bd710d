/* common/metrics.h - counters and gauges in memory shared by the main
 * process and its workers, so a scrape sums them without a round trip.
 *
 * Each worker slot has one writer (that worker, or main resetting gauges
 * when a worker dies), which adds with lg_add: a plain load and store, no
 * locked instruction on the delivery path. The API counters of struct
 * lg_shared are written by several threads (libmicrohttpd's and the
 * publisher's) and must use lg_add_mt, one atomic read-modify-write, or
 * concurrent increments are lost. Readers are the API threads. Relaxed
 * atomics suffice: a scrape needs each value whole, not a consistent
 * snapshot.
 */
#ifndef LG_COMMON_METRICS_H
#define LG_COMMON_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "token.h"

/* Close codes counted by label; anything else lands in "other". */
enum lg_close_idx {
	LG_CLOSE_1000, LG_CLOSE_1001, LG_CLOSE_1006, LG_CLOSE_1012, LG_CLOSE_1013,
	LG_CLOSE_4001, LG_CLOSE_4002, LG_CLOSE_4003, LG_CLOSE_4008, LG_CLOSE_OTHER,
	LG_CLOSE_COUNT
};

/* Upper bounds (seconds) of the delivery-latency histogram buckets. */
#define LG_HIST_BUCKETS 13
extern const double lg_hist_bounds[LG_HIST_BUCKETS];

typedef _Atomic uint64_t lg_counter;

struct lg_worker_stats {
	_Atomic int   pid;              /* 0: no worker in this slot */
	lg_counter    connections;      /* gauge: open WebSocket connections */
	lg_counter    channels;         /* gauge: channels subscribed in Redis */
	lg_counter    redis_up;         /* gauge: 1 while the Redis link is up */
	lg_counter    connections_total;
	lg_counter    redis_messages;
	lg_counter    frames_delivered;
	lg_counter    redis_reconnects;
	lg_counter    slow_closed;      /* closed for staying choked */
	lg_counter    partial_writes;   /* frames the kernel took only in part */
	lg_counter    invalidations_coalesced;
	lg_counter    clients_parked;   /* times a client's queue filled (session.c) */
	lg_counter    catchup_missed;   /* "missed" invalidations sent (session.c) */
	lg_counter    payload_too_large;
	lg_counter    origin_rejected;
	lg_counter    over_capacity;
	lg_counter    auth_failures[LG_TOKEN_STATUS_COUNT];
	lg_counter    closes[LG_CLOSE_COUNT];
	lg_counter    hist[LG_HIST_BUCKETS + 1];  /* last: +Inf */
	lg_counter    hist_sum_ns;
};

struct lg_shared {
	_Atomic int   draining;
	_Atomic int   n_workers;
	lg_counter    tokens_issued;    /* several writers: lg_add_mt */
	lg_counter    api_publishes;    /* several writers: lg_add_mt */
	lg_counter    api_errors;       /* several writers: lg_add_mt */
	lg_counter    worker_restarts;  /* main's supervisor thread only */
	struct lg_worker_stats w[LG_MAX_WORKERS];
};

/* Returns a zeroed struct lg_shared in shared memory backed by a memfd
 * (its fd in *fd, close-on-exec, so main can hand it to exec'd workers),
 * or NULL with errno set. */
struct lg_shared *lg_metrics_create(int *fd);

/* Maps the struct lg_shared behind fd (from lg_metrics_create), or NULL. */
struct lg_shared *lg_metrics_attach(int fd);

/* Adds n to a counter owned by the calling process (single writer). */
static inline void lg_add(lg_counter *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

/* Adds n to a counter that several threads write: no increment is lost. */
static inline void lg_add_mt(lg_counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void lg_set(lg_counter *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

static inline uint64_t lg_get(const lg_counter *c)
{
	return atomic_load_explicit((lg_counter *)c, memory_order_relaxed);
}

/* Returns the counter index of a close code. */
enum lg_close_idx lg_close_index(int code);

/* Records n deliveries that each took ns in the worker's histogram. */
void lg_metrics_observe(struct lg_worker_stats *w, uint64_t ns, uint64_t n);

/* Resets the gauges of a worker slot (its process is gone). */
void lg_metrics_worker_gone(struct lg_worker_stats *w);

/* Renders the Prometheus text exposition of everything into a malloc'd
 * buffer (*out, *len). Returns 0 or -1 when out of memory. */
int lg_metrics_render(const struct lg_shared *s, char **out, size_t *len);

#endif
