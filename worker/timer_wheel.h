/* worker/timer_wheel.h - a hashed timing wheel with one-second ticks.
 *
 * Each connection sits in one slot keyed by its next deadline, so arming,
 * re-arming and cancelling are O(1) and a tick visits only one slot
 * (about N/LG_WHEEL_SLOTS entries). A sorted timer list (what lws 4.1
 * used) costs O(N) per re-arm.
 */
#ifndef LG_WORKER_TIMER_WHEEL_H
#define LG_WORKER_TIMER_WHEEL_H

#include <stdint.h>

#define LG_WHEEL_SLOTS 64

struct lg_wheel_node {
	struct lg_wheel_node *prev, *next;   /* NULL when not armed */
	uint32_t              deadline;      /* wheel seconds */
};

struct lg_wheel {
	struct lg_wheel_node slot[LG_WHEEL_SLOTS];  /* circular list heads */
	uint32_t             now;                   /* last second processed */
};

void lg_wheel_init(struct lg_wheel *w, uint32_t now);

/* Arms (or re-arms) n for second `deadline`; a past deadline fires on the
 * next tick. */
void lg_wheel_arm(struct lg_wheel *w, struct lg_wheel_node *n, uint32_t deadline);

/* Disarms n; a no-op when not armed. */
void lg_wheel_cancel(struct lg_wheel_node *n);

/* Returns 1 if n is armed. */
int lg_wheel_armed(const struct lg_wheel_node *n);

/* Processes every second up to now: fire(n, arg) for each node whose
 * deadline has come (disarmed before the call; fire may re-arm it). */
void lg_wheel_advance(struct lg_wheel *w, uint32_t now,
                      void (*fire)(struct lg_wheel_node *n, void *arg), void *arg);

#endif
