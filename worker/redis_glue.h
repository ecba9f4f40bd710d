/* worker/redis_glue.h - the worker's Redis subscriber (pubsub/sub.h: every
 * form of LIVEGATE_REDIS_URL) on the worker's libev loop, and what a link
 * change means here: the log line, the metrics, /readyz, the status frame
 * every session gets, and the catch-up's last-publish table, fed with
 * every message under the prefix. */
#ifndef LG_WORKER_REDIS_GLUE_H
#define LG_WORKER_REDIS_GLUE_H

#include "context.h"

/* Creates the subscriber for w->reg and starts connecting. Returns 0, or
 * -1 (logged: a TLS file that cannot be loaded, out of memory). */
int redis_glue_start(struct lg_worker *w);

/* The wall-clock ms since which this worker has seen every message on
 * channel name, or -1 when it does not now (the catch-up's "cannot know"). */
int64_t redis_glue_covered_since(struct lg_worker *w, const char *name, size_t len);

/* Closes the links and frees the subscriber (teardown). */
void redis_glue_stop(struct lg_worker *w);

#endif
