/* pubsub/redis_sub.h - the one Redis subscriber connection of a process.
 *
 * Keeps the registry's channels SUBSCRIBEd on Redis: connects (AUTH when the
 * URL has a password), reconnects with capped exponential backoff and jitter,
 * resubscribes everything after a reconnect, detects a hung server with a
 * heartbeat, and feeds confirmations and messages into the registry.
 *
 * Event-loop agnostic: the owner hooks the hiredis context into its loop and
 * provides one timer. Single-threaded, like the registry.
 */
#ifndef LG_PUBSUB_REDIS_SUB_H
#define LG_PUBSUB_REDIS_SUB_H

#include <stddef.h>
#include <hiredis/async.h>

#include "redis_url.h"
#include "registry.h"

enum ps_link_event {
	PS_LINK_UP,             /* connected, authenticated, resubscribing      */
	PS_LINK_DOWN,           /* an up link was lost; retrying                 */
	PS_LINK_RETRY,          /* a connect attempt failed; retrying            */
};

struct ps_redis_hooks {
	/* Hooks ac's fd into the loop (sets ac->ev.*). Returns 0 or -1. */
	int  (*attach)(void *loop, redisAsyncContext *ac);
	/* Arms the single timer to fire ps_redis_timer in ms (0 cancels). */
	void (*arm_timer)(void *loop, unsigned ms);
	/* Reports a state change. detail says why (never a password); retry_ms
	 * is the delay before the next attempt for DOWN and RETRY. */
	void (*link_event)(void *loop, enum ps_link_event ev, const char *detail,
	                   unsigned retry_ms);
};

struct ps_redis_params {
	struct ps_redis_url url;
	const char *prefix;            /* put before every channel name; may be "" */
	unsigned connect_timeout_ms;   /* TCP connect + AUTH + PING must finish in it */
	unsigned heartbeat_ms;         /* a heartbeat unanswered after this is a dead link */
	unsigned backoff_base_ms;      /* first retry delay (before jitter)          */
	unsigned backoff_cap_ms;       /* largest retry delay                        */
};

struct ps_redis;

/* Returns a subscriber bound to reg (it becomes reg's backend), not yet
 * connected, or NULL when out of memory. */
struct ps_redis *ps_redis_new(const struct ps_redis_params *p,
                              struct ps_registry *reg,
                              const struct ps_redis_hooks *hooks, void *loop);

/* Starts the first connection attempt. */
void ps_redis_start(struct ps_redis *r);

/* The owner's timer fired. */
void ps_redis_timer(struct ps_redis *r);

/* Returns 1 while the link is up (connected, authenticated). */
int ps_redis_is_up(const struct ps_redis *r);

/* Closes the connection and frees r. NULL is a no-op. */
void ps_redis_free(struct ps_redis *r);

#endif
