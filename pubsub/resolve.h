/* pubsub/resolve.h - host name resolution that never blocks the loop.
 *
 * A numeric address is converted at once. A name is resolved by
 * getaddrinfo on a short-lived detached thread, which hands the result
 * back through an eventfd the loop watches: a dead DNS server costs a
 * thread that waits out the resolver's own timeout, never the loop. At
 * most PS_RESOLVE_THREADS such threads run per process; past that a
 * request fails at once ("resolver busy") and the caller retries later.
 * A request cancelled before its answer leaves the thread to finish and
 * free the request by itself.
 */
#ifndef LG_PUBSUB_RESOLVE_H
#define LG_PUBSUB_RESOLVE_H

#include <netdb.h>

#include "loop.h"

#define PS_RESOLVE_THREADS 8

struct ps_resolve;

/* Called once on the loop: res is the address list (freed by the resolver
 * after the call returns), or NULL with why set. */
typedef void ps_resolve_cb(void *arg, const struct addrinfo *res, const char *why);

/* Starts resolving host:port for a TCP connection. Returns a request to
 * cancel, or NULL when cb has already been called (a numeric host, or a
 * failure to start). */
struct ps_resolve *ps_resolve_start(const struct ps_loop *loop, const char *host, int port,
                                    ps_resolve_cb *cb, void *arg);

/* Cancels a request whose callback has not run (the callback never runs). */
void ps_resolve_cancel(struct ps_resolve *r);

/* How many resolver threads are running now (tests, metrics). */
int ps_resolve_threads(void);

#endif
