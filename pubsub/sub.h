/* pubsub/sub.h - a worker's Redis subscriber, in every mode of
 * LIVEGATE_REDIS_URL, feeding the channel registry.
 *
 * Pattern modes (redis://, rediss://, redis+sentinel://, and cluster with
 * LIVEGATE_REDIS_CLUSTER_PUBSUB=global): one link holding one pattern
 * subscription, PSUBSCRIBE <prefix>* (the prefix glob-escaped). Every
 * message under the prefix is observed, joined channel or not, and a
 * channel is confirmed as soon as the pattern is: at once while it is up,
 * and all together (resync for those confirmed before) when it is
 * confirmed again after an outage. Coverage ("every message under the
 * prefix since T") starts when the confirmation is read.
 *
 * Sharded cluster mode (the cluster default): SSUBSCRIBE per channel on
 * the master owning the slot of the prefixed channel, one link per master
 * that carries channels; a failed node or a moved slot is an outage of the
 * channels it touches only (resync for those once subscribed again).
 * Coverage is per channel, from its confirmation.
 *
 * Runs on the owner's loop through loop.h; single-threaded. A worker on
 * libev wires it so:
 *
 *   struct ps_loop l;
 *   ps_loop_ev(&l, w->loop);                           // loop_ev.h
 *   w->reg = ps_registry_new(&reg_events, w, max_channels);
 *   w->sub = ps_sub_new(&params, w->reg, &l, &sub_events, w, err, sizeof err);
 *   ps_sub_start(w->sub);
 *   ...
 *   ps_sub_free(w->sub);                               // before the registry
 *   ps_registry_free(w->reg);
 */
#ifndef LG_PUBSUB_SUB_H
#define LG_PUBSUB_SUB_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "loop.h"
#include "redis_url.h"
#include "registry.h"

struct ps_sub_params {
	struct ps_redis_target to;
	/* 0 takes the default (in brackets). */
	unsigned connect_timeout_ms;         /* [5000] resolve+connect+TLS+AUTH */
	unsigned idle_ms;                    /* [3000] quiet link: PING         */
	unsigned dead_ms;                    /* [3000] then quiet: dead         */
	unsigned backoff_base_ms;            /* [200] first retry delay         */
	unsigned backoff_cap_ms;             /* [10000]                          */
	unsigned cluster_refresh_ms;         /* [30000] slot map re-check       */
};

enum ps_link_role {
	PS_ROLE_DATA,       /* a link carrying subscriptions                  */
	PS_ROLE_SENTINEL,   /* a sentinel: master lookup or +switch-master    */
	PS_ROLE_CONTROL,    /* a cluster node asked for the slot map          */
};

enum ps_link_state {
	PS_LINK_UP,         /* subscribed (data) or answering (others)        */
	PS_LINK_DOWN,       /* an up link was lost; retrying                  */
	PS_LINK_RETRY,      /* an attempt failed; retrying                    */
};

struct ps_link_event {
	enum ps_link_state state;
	enum ps_link_role  role;
	const char        *addr;      /* "host:port"                              */
	enum ps_conn_fail  cause;     /* DOWN/RETRY: why (PS_CONN_AUTH: AUTH refused) */
	const char        *detail;    /* DOWN/RETRY: the reason, never a password */
	unsigned           retry_ms;  /* DOWN/RETRY: delay before the next try    */
};

struct ps_sub_events {
	/* A link changed state. */
	void (*link)(void *owner, const struct ps_link_event *e);
	/* Every needed link is up (1), or one is not (0): /readyz. */
	void (*ready)(void *owner, int ready);
	/* Pattern modes: coverage of everything under the prefix began at
	 * since_ms (wall clock, ms: when the pattern's confirmation was read),
	 * or ended (-1). A start is reported before the registry confirms the
	 * channels, an end after it took them down. Never called in sharded
	 * mode (see ps_sub_covered_since). May be NULL. */
	void (*coverage)(void *owner, int64_t since_ms);
	/* A message on channel name (prefix removed), called before the
	 * registry delivers it. May be NULL. */
	void (*observe)(void *owner, const char *name, size_t len);
};

struct ps_sub_stats {
	uint64_t messages;     /* messages read                                 */
	uint64_t reconnects;   /* data links up again after having been up      */
	uint64_t link_downs;   /* data links lost after having been up          */
	unsigned links_up;     /* data links up now                             */
	unsigned links;        /* data links wanted now                         */
};

struct ps_sub;

/* Returns a subscriber that becomes reg's backend, not started, or NULL
 * with a one-line reason in err (a TLS file that cannot be loaded, out of
 * memory). */
struct ps_sub *ps_sub_new(const struct ps_sub_params *p, struct ps_registry *reg,
                          const struct ps_loop *loop, const struct ps_sub_events *ev,
                          void *owner, char *err, size_t errlen);

/* Starts connecting (events follow on the loop). */
void ps_sub_start(struct ps_sub *s);

/* 1 while every needed link is up. */
int ps_sub_ready(const struct ps_sub *s);

/* The wall-clock ms since which every message on channel name (prefix
 * removed) has been observed without a gap, or -1 when it is not covered
 * now. Pattern modes: the pattern's confirmation, for any name. Sharded:
 * the channel's own confirmation (a channel nobody joined is not covered). */
int64_t ps_sub_covered_since(const struct ps_sub *s, const char *name, size_t len);

void ps_sub_stats(const struct ps_sub *s, struct ps_sub_stats *out);

/* Closes every link and frees s; the registry is left without a backend.
 * Not from inside one of s's events. */
void ps_sub_free(struct ps_sub *s);

/* Writes the glob pattern matching every channel under prefix (its
 * * ? [ ] \ escaped, then '*') into buf. Returns its length, or -1 when buf
 * is too small. */
long ps_sub_pattern(const char *prefix, size_t plen, char *buf, size_t n);

#endif
