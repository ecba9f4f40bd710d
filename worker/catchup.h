/* worker/catchup.h - what a page missed between its render and its
 * subscription (contract, "Public endpoint" 3a): the worker notes when it
 * last saw a message on each channel — every channel under the prefix, not
 * only the followed ones, since a first visitor's channel is usually cold —
 * and, when a page's subscription is confirmed, tells whether a message
 * came after the page's render (its token's iat) minus a slack.
 *
 * A fixed table of last-seen times by a seeded hash of the channel name: a
 * collision can only make a channel look more recent than it is (an extra
 * refetch), never less (a missed one). Where the worker was not watching
 * continuously since before the render, it cannot know: that counts as
 * missed too. Pure: the caller gives the times. */
#ifndef LG_WORKER_CATCHUP_H
#define LG_WORKER_CATCHUP_H

#include <stddef.h>
#include <stdint.h>

#define LG_CATCHUP_SLOTS 65536   /* 512 KiB per worker */

struct lg_catchup;

/* Returns a table whose hash is keyed with seed, or NULL. */
struct lg_catchup *lg_catchup_new(uint64_t seed);

void lg_catchup_free(struct lg_catchup *t);

/* A message on channel name[0..len) was seen at now_ms. */
void lg_catchup_seen(struct lg_catchup *t, const char *name, size_t len, int64_t now_ms);

/* Returns 1 if a page rendered at iat_ms may have missed a message on
 * name: one was seen after iat_ms - slack_ms, or the worker has not seen
 * every message on name since then (covered_since_ms: since when it has,
 * wall-clock ms; -1: it does not now). */
int lg_catchup_missed(const struct lg_catchup *t, const char *name, size_t len,
                      int64_t iat_ms, unsigned slack_ms, int64_t covered_since_ms);

#endif
