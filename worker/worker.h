/* worker/worker.h - a worker process: the one entry point the supervisor
 * calls after exec'ing itself as a worker. Everything else of worker/ is
 * the worker's own. */
#ifndef LG_WORKER_WORKER_H
#define LG_WORKER_WORKER_H

#include "config.h"
#include "metrics.h"

/* Runs worker `index` on the inherited listening socket until drained.
 * Returns the process exit code. */
int lg_worker_run(const struct lg_config *cfg, struct lg_shared *shm, int index,
                  int listen_fd);

#endif
