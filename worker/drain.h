/* worker/drain.h - the worker's signals (read from a signalfd on the loop:
 * no handler runs at a random point) and the drain SIGTERM starts: no new
 * connections, every session closed with 1012 at an even pace over the
 * window, the loop stopped once they are gone. SIGHUP re-reads the keys. */
#ifndef LG_WORKER_DRAIN_H
#define LG_WORKER_DRAIN_H

#include "context.h"

/* Watches SIGTERM and SIGHUP (blocked by the caller). Returns 0, or -1. */
int drain_signals_start(struct lg_worker *w);

/* Stops the watchers (teardown). */
void drain_stop(struct lg_worker *w);

#endif
