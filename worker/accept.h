/* worker/accept.h - the worker's listening socket (its own SO_REUSEPORT
 * socket, inherited from main): accepts, tunes and hands each socket to
 * conn.c. At most LG_HANDSHAKES_MAX accepted sockets wait for their request
 * at once; past it the listener pauses and the rest wait in the kernel's
 * backlog, which costs nothing. */
#ifndef LG_WORKER_ACCEPT_H
#define LG_WORKER_ACCEPT_H

#include "context.h"

/* Starts accepting on fd. Returns 0, or -1. */
int accept_start(struct lg_worker *w, int fd);

/* Stops accepting for good (the drain). */
void accept_stop(struct lg_worker *w);

/* A request slot may have freed: resume a listener paused at the limit. */
void accept_resume_if_room(struct lg_worker *w);

#endif
