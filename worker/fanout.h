/* worker/fanout.h - a message from Redis reaches every subscriber of its
 * channel on this worker. */
#ifndef LG_WORKER_FANOUT_H
#define LG_WORKER_FANOUT_H

#include <stddef.h>

#include "registry.h"

/* The registry's message event: payload NULL is a resync. ctx is the
 * worker. */
void fanout_on_message(void *ctx, struct ps_channel *ch, const char *payload, size_t plen);

#endif
