/* pubsub/loop_poll.h - the loop seam (loop.h) on poll(2), run by a caller
 * that wants to wait for a Redis exchange with a deadline: the private
 * API's publisher drives livegate's own links this way from its threads.
 * One per thread; a handful of watchers, so a linear scan is enough. */
#ifndef LG_PUBSUB_LOOP_POLL_H
#define LG_PUBSUB_LOOP_POLL_H

#include <stdint.h>

#include "loop.h"

struct ps_poll_loop;

struct ps_poll_loop *ps_poll_new(void);
/* Every watcher and timer must have been freed before. */
void ps_poll_free(struct ps_poll_loop *pl);

/* Fills *l to run on pl. */
void ps_loop_poll(struct ps_loop *l, struct ps_poll_loop *pl);

/* Runs callbacks until *done becomes nonzero (returns 0) or the monotonic
 * clock reaches deadline_ms (returns -1). */
int ps_poll_run(struct ps_poll_loop *pl, const int *done, int64_t deadline_ms);

#endif
