/* pubsub/loop_ev.h - the loop seam (loop.h) on libev, for the worker.
 *
 *   struct ps_loop l;
 *   ps_loop_ev(&l, w->loop);          // w->loop: the worker's struct ev_loop *
 *   ps_sub_new(&params, reg, &l, &events, owner, err, sizeof err);
 *
 * Built into its own small library (lgpubsub_ev) so that pubsub itself
 * needs no libev.
 */
#ifndef LG_PUBSUB_LOOP_EV_H
#define LG_PUBSUB_LOOP_EV_H

#include <ev.h>

#include "loop.h"

/* Fills *l to run on loop. */
void ps_loop_ev(struct ps_loop *l, struct ev_loop *loop);

#endif
