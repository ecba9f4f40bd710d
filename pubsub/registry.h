/* pubsub/registry.h - the channel registry: which local subscribers follow
 * which channel, and whether the upstream (Redis) has confirmed it.
 *
 * A channel exists while at least one subscriber follows it: the first join
 * asks the backend to SUBSCRIBE, the last leave asks it to UNSUBSCRIBE and
 * frees the channel. Memberships are storage owned by the caller (embedded in
 * its per-connection state), so joining allocates nothing per subscriber and
 * leaving never fails. Knows nothing of WebSockets or of Redis itself.
 *
 * Single-threaded: every call runs on the owner's event loop. The events
 * below fire from the upstream calls only (ps_registry_confirmed,
 * ps_registry_message, ...), never from a join, leave, park or move, and
 * their handlers must not join or leave (the walk rule at
 * ps_channel_members).
 */
#ifndef LG_PUBSUB_REGISTRY_H
#define LG_PUBSUB_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

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
	uint64_t              seen;         /* the channel's seq when parked */
	unsigned              confirmed:1;  /* upstream confirmed after the join */
	unsigned              parked:1;     /* out of delivery (ps_park) */
	int                   fd;           /* the owner's socket, see ps_set_fd */
	unsigned              tag;
};

/* A slot of a channel's array: the membership, and the owner's socket while
 * it is confirmed and the owner says a frame may go straight to it (-1
 * otherwise). */
struct ps_member {
	struct ps_membership *m;
	int                   fd;
	unsigned              tag;   /* the owner's, next to fd: which bytes it takes */
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

/* Sets the socket a frame for m may be sent to directly (>= 0), or -1
 * when the owner must look at m first (a join starts with -1), and the
 * owner's tag for it (say, which encoding that socket takes). The
 * channel's array shows both next to m while m is confirmed, so a walk that
 * needs only the socket never reads the membership. */
void ps_set_fd(struct ps_membership *m, int fd, unsigned tag);

/* Returns the channel's slots that take deliveries (confirmed or not:
 * delivery skips the unconfirmed; parked ones are not among them), and
 * their number in *n. An array, so a walk can prefetch ahead.
 *
 * The walk rule: while a walk is under way the only change allowed to the
 * channel is ps_park of the member being visited, which moves the last
 * member of the array into its slot (so the walk visits that slot again
 * and stops one earlier). Joins, leaves and unparks wait until the walk is
 * over; builds with assertions check it. */
const struct ps_member *ps_channel_members(const struct ps_channel *ch, size_t *n);

/* --- members that fell behind --------------------------------------------
 *
 * A subscriber whose output backs up is parked: its memberships leave the
 * delivery array (a walk never reads them again, so a client that does not
 * read costs nothing per message however far behind it is) but stay
 * members. The channel counts its messages (seq); a parked membership
 * remembers the count at which it stopped, so on ps_unpark its owner learns
 * whether anything was missed meanwhile. */

/* Takes m out of delivery (a no-op when parked already). */
void ps_park(struct ps_membership *m);

/* Puts m back into delivery. Returns how many messages the channel had
 * since m was parked (or since it was confirmed while parked); 0 for an m
 * that was not parked. Never fails: a parked member keeps its room. */
uint64_t ps_unpark(struct ps_membership *m);

/* Returns how many of the channel's members are parked. */
size_t ps_channel_parked(const struct ps_channel *ch);

/* Returns how many messages (and resyncs) the channel has had; the count
 * already includes the one being delivered. */
uint64_t ps_channel_seq(const struct ps_channel *ch);

/* The owner's pointer for the channel (NULL at creation), e.g. the newest
 * message while members are parked. The registry never reads it; the owner
 * must clear it before the channel's last member leaves. */
void **ps_channel_user(struct ps_channel *ch);

/* Moves the membership in from (a member) to to (unused storage of the same
 * subscriber): its channel, place, confirmation and parked state go along,
 * so a subscriber that replaces its set of channels keeps what it had in
 * the ones it keeps (a resync owed after an outage, most of all). from is
 * zeroed. */
void ps_move(struct ps_membership *from, struct ps_membership *to);

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
