/* worker/redis_glue.h - the worker's Redis subscriber (pubsub/redis_sub) on
 * the worker's libev loop: hiredis' own libev adapter for the socket, one
 * libev timer, and what a link change means here (the gauge, the log line,
 * the status frame every session gets). */
#ifndef LG_WORKER_REDIS_GLUE_H
#define LG_WORKER_REDIS_GLUE_H

#include "context.h"

/* Creates the subscriber for w->reg and starts connecting. Returns 0, or
 * -1 when out of memory. */
int redis_glue_start(struct lg_worker *w);

/* The wall-clock ms since which this worker has seen every message on
 * channel name, or -1 when it does not now (the catch-up's "cannot know"). */
int64_t redis_glue_covered_since(struct lg_worker *w, const char *name, size_t len);

/* Closes the link and frees the subscriber (teardown). */
void redis_glue_stop(struct lg_worker *w);

#endif
