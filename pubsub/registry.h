/* pubsub/registry.h - the channel registry: which local subscribers follow
 * which channel, and whether the upstream (Redis) has confirmed it.
 *
 * A channel exists while at least one subscriber follows it: the first join
 * asks the backend to SUBSCRIBE, the last leave asks it to UNSUBSCRIBE and
 * frees the channel. Memberships are storage owned by the caller (embedded in
 * its per-connection state), so joining allocates nothing per subscriber and
 * leaving never fails. Knows nothing of WebSockets or of Redis itself.
 *
 * Single-threaded: every call runs on the owner's event loop.
 */
#ifndef LG_PUBSUB_REGISTRY_H
#define LG_PUBSUB_REGISTRY_H

#include <stddef.h>

struct ps_registry;
struct ps_channel;

/* Embedded in the caller's connection; zero it before first use. */
struct ps_subscriber {
	unsigned pending;        /* memberships waiting for upstream confirmation */
};

/* One (subscriber, channel) pair; caller-owned, zeroed before ps_join. */
struct ps_membership {
	struct ps_channel    *chan;
	struct ps_subscriber *sub;
	size_t                slot;         /* index in the channel's array */
	unsigned              confirmed;    /* upstream confirmed after the join */
	int                   key;          /* the owner's, see ps_set_key */
};

/* A slot of a channel's array: the membership, and its key while it is
 * confirmed (-1 otherwise or when none is set). */
struct ps_member {
	struct ps_membership *m;
	int                   key;
};

/* What the registry asks of the upstream. Each returns 0 when the request was
 * queued, -1 when it could not be (the link is down: the registry will ask
 * again from ps_registry_link_up). subscribe returns 1 when the channel is
 * covered already (a pattern subscription is in place): it is confirmed at
 * once, and the joining subscriber waits for nothing. */
struct ps_backend_ops {
	int (*subscribe)(void *be, const char *name, size_t len);
	int (*unsubscribe)(void *be, const char *name, size_t len);
};

/* What the registry tells its owner. */
struct ps_events {
	/* Every membership of sub is now confirmed (fired only from a
	 * confirmation, never from ps_join/ps_leave themselves). */
	void (*ready)(void *ctx, struct ps_subscriber *sub);
	/* A message for channel ch. payload == NULL means a resync: the link was
	 * lost and is back, so anything may have been missed. Deliver to the
	 * confirmed ones of ps_channel_members. */
	void (*message)(void *ctx, struct ps_channel *ch,
	                const char *payload, size_t plen);
};

/* Returns a new registry holding at most max_channels channels, or NULL on
 * allocation failure. */
struct ps_registry *ps_registry_new(const struct ps_events *ev, void *ctx,
                                    size_t max_channels);

/* Frees the registry. Every membership must have left before. */
void ps_registry_free(struct ps_registry *reg);

/* Sets the upstream. The link starts down until ps_registry_link_up. */
void ps_registry_set_backend(struct ps_registry *reg,
                             const struct ps_backend_ops *ops, void *be);

/* Joins sub to the channel name[0..len) through m. Returns 0, or -1 when
 * the registry is at max_channels or out of memory (m stays unused). The
 * caller checks sub->pending afterwards: 0 means already confirmed. */
int ps_join(struct ps_registry *reg, struct ps_subscriber *sub,
            struct ps_membership *m, const char *name, size_t len);

/* Leaves through m (a no-op for an unused m); the last leave unsubscribes
 * upstream and frees the channel. m is zeroed. */
void ps_leave(struct ps_registry *reg, struct ps_membership *m);

/* Sets the owner's key of m (>= 0; -1 for none; a join starts with -1).
 * The channel's array shows it next to m while m is confirmed, so a walk
 * that needs only the key never reads the membership. */
void ps_set_key(struct ps_membership *m, int key);

/* Returns the channel's slots, confirmed or not (delivery skips the
 * unconfirmed), and their number in *n. An array, so a walk can prefetch
 * ahead. Valid until the next join or leave. */
const struct ps_member *ps_channel_members(const struct ps_channel *ch, size_t *n);

/* Returns the channel's name (NUL-terminated) and its length in *len. */
const char *ps_channel_name(const struct ps_channel *ch, size_t *len);

/* Returns how many local memberships the channel has (confirmed or not). */
size_t ps_channel_size(const struct ps_channel *ch);

/* Returns how many channels exist (have at least one local subscriber). */
size_t ps_registry_channel_count(const struct ps_registry *reg);

/* --- upstream events -------------------------------------------------------- */

/* The link is up: asks the backend to subscribe every channel. Returns how
 * many subscribe requests were queued. */
size_t ps_registry_link_up(struct ps_registry *reg);

/* The link is down: every channel becomes unconfirmed and will be resynced
 * once confirmed again; subscribers still waiting for their first
 * confirmation wait for the new one. */
void ps_registry_link_down(struct ps_registry *reg);

/* Upstream confirmed the channel name. Unknown names (a channel that was
 * left meanwhile) are ignored. */
void ps_registry_confirmed(struct ps_registry *reg, const char *name, size_t len);

/* Upstream confirmed every channel at once (a pattern subscription that
 * covers them all is in place): each is confirmed as by
 * ps_registry_confirmed, and the link is up, so later joins ask the
 * backend, which may confirm them at once. */
void ps_registry_confirm_all(struct ps_registry *reg);

/* The channel name alone lost its upstream subscription (its cluster node
 * failed, its slot moved): it is resynced once confirmed again, as after
 * ps_registry_link_down. Unknown names are ignored. */
void ps_registry_channel_down(struct ps_registry *reg, const char *name, size_t len);

/* A message arrived on channel name. Unknown names are ignored. Returns 1 if
 * the channel exists, else 0. */
int ps_registry_message(struct ps_registry *reg, const char *name, size_t len,
                        const char *payload, size_t plen);

#endif
