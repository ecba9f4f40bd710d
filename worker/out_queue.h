/* worker/out_queue.h - a connection's outgoing invalidations: a bounded
 * FIFO of shared frames, each filed under a key (the channel membership).
 *
 * A client that keeps up gets every frame in order. The queue absorbs a
 * burst Redis hands over in one read; one that is full says so and takes
 * nothing more: its owner then parks the connection (registry.h), which
 * costs nothing per message from then on, and tells the client once it
 * catches up that it missed something ("coalesced"). So a slow client pins
 * at most `limit` frame references and `max_bytes` of frames.
 */
#ifndef LG_WORKER_OUT_QUEUE_H
#define LG_WORKER_OUT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

struct lg_outq_ent {
	const void      *key;
	struct lg_frame *f;
};

struct lg_outq {
	struct lg_outq_ent *e;     /* ring; NULL until the first push */
	uint32_t            bytes; /* frame bytes queued */
	uint16_t            head;
	uint16_t            len;
	uint16_t            cap;
};

#define LG_OUTQ_MAX      1024  /* hard ceiling on any entry limit */
#define LG_OUTQ_KEEP_CAP 16    /* a drained ring larger than this is freed */

#define LG_OUTQ_FULL 1

/* Appends f (taking a reference) under key. Returns 0; LG_OUTQ_FULL when
 * the queue holds `limit` entries or f would take it past max_bytes
 * (nothing queued; an empty queue always takes one frame); -1 when out of
 * memory (nothing queued). */
int lg_outq_push(struct lg_outq *q, const void *key, struct lg_frame *f, size_t limit,
                 size_t max_bytes);

/* Removes the oldest entry and returns its frame (the caller owns that
 * reference), or NULL when empty. */
struct lg_frame *lg_outq_pop(struct lg_outq *q);

/* Returns 1 if nothing is queued. */
int lg_outq_empty(const struct lg_outq *q);

/* Replaces every key with map(key, arg); entries mapped to NULL are dropped.
 * Order is kept. */
void lg_outq_rekey(struct lg_outq *q, const void *(*map)(const void *key, void *arg),
                   void *arg);

/* Drops everything, oldest first, calling each(key, frame, arg) before its
 * reference is dropped (each may be NULL), and frees the ring. */
void lg_outq_clear(struct lg_outq *q,
                   void (*each)(const void *key, struct lg_frame *f, void *arg), void *arg);

#endif
