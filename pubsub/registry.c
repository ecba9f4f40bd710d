/* pubsub/registry.c - channel -> local subscribers, with upstream state.
 *
 * The index is two-way: a channel holds an array of its memberships, and
 * each membership (caller-owned) points back at its channel and subscriber
 * and knows its slot in that array, so leaving is a swap with the last
 * slot. An array rather than a list because fan-out walks it for every
 * message: the next pointers are known ahead, so the walk can prefetch
 * instead of stalling on one cache miss per subscriber, and the owner's key
 * (a socket) sits in the slot itself, so a subscriber with nothing special
 * to do costs the walk no miss at all. A channel is freed when its last
 * membership leaves.
 */
#include "registry.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* uthash aborts on allocation failure unless told otherwise; a failed add
 * must come back to the caller as an error instead. */
static int hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) do { (void)(obj); hash_oom = 1; } while (0)
#include <uthash.h>

#define MEMBERS_MIN 4

/* members[0, n_active) take deliveries; members[n_active, n_members) are
 * parked. Room for the parked is kept, so unparking never allocates. */
struct ps_channel {
	UT_hash_handle        hh;
	struct ps_member     *members;   /* [n_members], order not kept */
	size_t                n_active;
	size_t                n_members;
	size_t                cap;
	uint64_t              seq;       /* messages (and resyncs) so far */
	void                 *user;      /* the owner's, see ps_channel_user */
#ifndef NDEBUG
	unsigned              walking;   /* inside the message event */
#endif
	unsigned              confirmed; /* upstream confirmed since the link came up */
	unsigned              resync;    /* was confirmed before the link dropped */
	size_t                len;
	char                  name[];    /* NUL-terminated */
};

struct ps_registry {
	struct ps_channel           *chans;  /* uthash head */
	size_t                       n_chans;
	size_t                       max_chans;
	const struct ps_backend_ops *be_ops;
	void                        *be;
	int                          link_up;
	struct ps_events             ev;
	void                        *ctx;
};

struct ps_registry *ps_registry_new(const struct ps_events *ev, void *ctx,
                                    size_t max_channels)
{
	struct ps_registry *reg = calloc(1, sizeof *reg);
	if (!reg)
		return NULL;
	reg->ev = *ev;
	reg->ctx = ctx;
	reg->max_chans = max_channels;
	return reg;
}

void ps_registry_free(struct ps_registry *reg)
{
	struct ps_channel *ch, *tmp;

	if (!reg)
		return;
	/* Memberships are the caller's; a channel left here means a caller leaked
	 * one. Free the channels anyway so the registry owns nothing after. */
	HASH_ITER(hh, reg->chans, ch, tmp) {
		HASH_DEL(reg->chans, ch);
		free(ch->members);
		free(ch);
	}
	free(reg);
}

void ps_registry_set_backend(struct ps_registry *reg,
                             const struct ps_backend_ops *ops, void *be)
{
	reg->be_ops = ops;
	reg->be = be;
}

static struct ps_channel *find_channel(const struct ps_registry *reg,
                                       const char *name, size_t len)
{
	struct ps_channel *ch = NULL;
	HASH_FIND(hh, reg->chans, name, len, ch);
	return ch;
}

/* Returns the channel, created (and subscribed upstream when the link is up)
 * if it did not exist, or NULL at the channel limit or out of memory. */
static struct ps_channel *get_channel(struct ps_registry *reg,
                                      const char *name, size_t len)
{
	struct ps_channel *ch = find_channel(reg, name, len);

	if (ch)
		return ch;
	if (reg->n_chans >= reg->max_chans)
		return NULL;
	ch = calloc(1, sizeof *ch + len + 1);
	if (!ch)
		return NULL;
	/* Room for the first joins comes with the channel, so joining a new
	 * channel cannot fail after it was announced upstream. */
	ch->members = malloc(MEMBERS_MIN * sizeof *ch->members);
	if (!ch->members) {
		free(ch);
		return NULL;
	}
	ch->cap = MEMBERS_MIN;
	memcpy(ch->name, name, len);
	ch->len = len;
	hash_oom = 0;
	HASH_ADD_KEYPTR(hh, reg->chans, ch->name, ch->len, ch);
	if (hash_oom) {
		free(ch->members);
		free(ch);
		return NULL;
	}
	reg->n_chans++;
	/* A backend whose pattern subscription already covers the channel
	 * confirms it at once. */
	if (reg->link_up && reg->be_ops && reg->be_ops->subscribe(reg->be, ch->name, ch->len) > 0)
		ch->confirmed = 1;
	return ch;
}

/* Resizes ch's member array to cap slots. Returns 0, or -1 (unchanged). */
static int members_resize(struct ps_channel *ch, size_t cap)
{
	struct ps_member *a;

	if (cap > SIZE_MAX / sizeof *a)
		return -1;
	a = realloc(ch->members, cap * sizeof *a);
	if (!a)
		return -1;
	ch->members = a;
	ch->cap = cap;
	return 0;
}

/* Puts slot b's member into slot a (and says so to the member). */
static void slot_move(struct ps_channel *ch, size_t a, size_t b)
{
	ch->members[a] = ch->members[b];
	ch->members[a].m->slot = a;
}

/* Swaps the members of slots a and b. */
static void slot_swap(struct ps_channel *ch, size_t a, size_t b)
{
	struct ps_member t = ch->members[a];

	slot_move(ch, a, b);
	ch->members[b] = t;
	t.m->slot = b;
}

#ifndef NDEBUG
/* The two-way index holds: every slot's member points back at its slot
 * and channel, the active ones are not parked and the rest are. Walked
 * whole only for small channels (the unit tests'), so a debug build's
 * fan-out to thousands stays O(members), not O(members) twice. */
static int channel_consistent(const struct ps_channel *ch)
{
	if (ch->n_active > ch->n_members || ch->n_members > ch->cap)
		return 0;
	for (size_t i = 0; i < ch->n_members && ch->n_members <= 64; i++) {
		const struct ps_membership *m = ch->members[i].m;
		if (m->chan != ch || m->slot != i || m->parked != (i >= ch->n_active))
			return 0;
	}
	return 1;
}
#endif

int ps_join(struct ps_registry *reg, struct ps_subscriber *sub,
            struct ps_membership *m, const char *name, size_t len)
{
	struct ps_channel *ch = get_channel(reg, name, len);

	if (!ch)
		return -1;
	assert(!ch->walking);
	if (ch->n_members == ch->cap && members_resize(ch, ch->cap * 2) < 0)
		return -1;   /* ch has members, so it is not new: nothing to undo */
	m->chan = ch;
	m->sub = sub;
	m->confirmed = ch->confirmed;
	m->parked = 0;
	m->fd = -1;
	if (!m->confirmed)
		sub->pending++;
	/* A new member is active: the first parked one makes room at the end. */
	if (ch->n_members > ch->n_active)
		slot_move(ch, ch->n_members, ch->n_active);
	ch->n_members++;
	m->slot = ch->n_active++;
	ch->members[m->slot] = (struct ps_member){ m, -1, 0 };
	return 0;
}

/* Shows m's socket in its slot while m is confirmed, -1 otherwise. */
static void slot_update(struct ps_membership *m)
{
	m->chan->members[m->slot].fd = m->confirmed ? m->fd : -1;
	m->chan->members[m->slot].tag = m->tag;
}

void ps_set_fd(struct ps_membership *m, int fd, unsigned tag)
{
	m->fd = fd;
	m->tag = tag;
	if (m->chan)
		slot_update(m);
}

void ps_park(struct ps_membership *m)
{
	struct ps_channel *ch = m->chan;

	if (!ch || m->parked)
		return;
	/* The walk rule: the last active member moves into m's slot. */
	slot_swap(ch, m->slot, --ch->n_active);
	m->parked = 1;
	m->seen = ch->seq;
}

uint64_t ps_unpark(struct ps_membership *m)
{
	struct ps_channel *ch = m->chan;

	if (!ch || !m->parked)
		return 0;
	assert(!ch->walking);
	slot_swap(ch, m->slot, ch->n_active++);
	m->parked = 0;
	return ch->seq - m->seen;
}

size_t ps_channel_parked(const struct ps_channel *ch)
{
	return ch->n_members - ch->n_active;
}

uint64_t ps_channel_seq(const struct ps_channel *ch)
{
	return ch->seq;
}

void **ps_channel_user(struct ps_channel *ch)
{
	return &ch->user;
}

void ps_move(struct ps_membership *from, struct ps_membership *to)
{
	*to = *from;
	if (to->chan)
		to->chan->members[to->slot].m = to;
	memset(from, 0, sizeof *from);
}

void ps_leave(struct ps_registry *reg, struct ps_membership *m)
{
	struct ps_channel *ch = m->chan;
	size_t slot;

	if (!ch)
		return;
	assert(!ch->walking);
	if (!m->confirmed && m->sub->pending)
		m->sub->pending--;
	slot = m->slot;
	if (!m->parked) {
		/* Keep the segments whole: the last active fills the hole, the
		 * last parked fills the last active's old slot. */
		slot_move(ch, slot, --ch->n_active);
		slot = ch->n_active;
	}
	if (slot != ch->n_members - 1)
		slot_move(ch, slot, ch->n_members - 1);
	ch->n_members--;
	memset(m, 0, sizeof *m);
	/* Give memory back after a crowd left; a failed shrink keeps the old. */
	if (ch->n_members && ch->cap > MEMBERS_MIN && ch->n_members < ch->cap / 4)
		(void)members_resize(ch, ch->cap / 2);
	if (ch->n_members)
		return;
	assert(!ch->user);
	if (reg->link_up && reg->be_ops)
		reg->be_ops->unsubscribe(reg->be, ch->name, ch->len);
	HASH_DEL(reg->chans, ch);
	reg->n_chans--;
	free(ch->members);
	free(ch);
}

const struct ps_member *ps_channel_members(const struct ps_channel *ch, size_t *n)
{
	*n = ch->n_active;
	return ch->members;
}

const char *ps_channel_name(const struct ps_channel *ch, size_t *len)
{
	if (len)
		*len = ch->len;
	return ch->name;
}

size_t ps_channel_size(const struct ps_channel *ch)
{
	return ch->n_members;
}

size_t ps_registry_channel_count(const struct ps_registry *reg)
{
	return reg->n_chans;
}

size_t ps_registry_link_up(struct ps_registry *reg)
{
	struct ps_channel *ch, *tmp;
	size_t n = 0;

	reg->link_up = 1;
	if (!reg->be_ops)
		return 0;
	HASH_ITER(hh, reg->chans, ch, tmp) {
		if (reg->be_ops->subscribe(reg->be, ch->name, ch->len) >= 0)
			n++;
	}
	return n;
}

/* ch lost its upstream subscription. */
static void channel_down(struct ps_channel *ch)
{
	if (ch->confirmed)
		ch->resync = 1;
	ch->confirmed = 0;
	/* A subscriber still waiting for its 'subscribed' must wait for the
	 * new link to confirm everything; one that already has it keeps its
	 * memberships and gets a resync instead. */
	for (size_t i = 0; i < ch->n_members; i++) {
		struct ps_membership *m = ch->members[i].m;
		if (m->confirmed && m->sub->pending) {
			m->confirmed = 0;
			m->sub->pending++;
			slot_update(m);
		}
	}
}

void ps_registry_link_down(struct ps_registry *reg)
{
	struct ps_channel *ch, *tmp;

	reg->link_up = 0;
	HASH_ITER(hh, reg->chans, ch, tmp)
		channel_down(ch);
}

/* Counts a message (NULL: a resync) on ch and hands it to the owner. */
static void deliver(struct ps_registry *reg, struct ps_channel *ch, const char *payload,
                    size_t plen)
{
	ch->seq++;
#ifndef NDEBUG
	ch->walking = 1;
#endif
	reg->ev.message(reg->ctx, ch, payload, plen);
#ifndef NDEBUG
	ch->walking = 0;
	assert(channel_consistent(ch));
#endif
}

void ps_registry_channel_down(struct ps_registry *reg, const char *name, size_t len)
{
	struct ps_channel *ch = find_channel(reg, name, len);

	if (ch)
		channel_down(ch);
}

/* Upstream confirmed ch. */
static void channel_confirmed(struct ps_registry *reg, struct ps_channel *ch)
{
	if (ch->confirmed)
		return;
	/* Resync first, so it reaches only the memberships confirmed before the
	 * outage; the ones confirmed now get their 'subscribed' instead. */
	if (ch->resync) {
		ch->resync = 0;
		deliver(reg, ch, NULL, 0);
	}
	ch->confirmed = 1;
	for (size_t i = 0; i < ch->n_members; i++) {
		struct ps_membership *m = ch->members[i].m;
		if (m->confirmed)
			continue;
		m->confirmed = 1;
		m->seen = ch->seq;   /* a parked one missed nothing before this */
		slot_update(m);
		if (m->sub->pending && --m->sub->pending == 0)
			reg->ev.ready(reg->ctx, m->sub);
	}
}

void ps_registry_confirmed(struct ps_registry *reg, const char *name, size_t len)
{
	struct ps_channel *ch = find_channel(reg, name, len);

	if (ch)
		channel_confirmed(reg, ch);
}

void ps_registry_confirm_all(struct ps_registry *reg)
{
	struct ps_channel *ch, *tmp;

	reg->link_up = 1;
	HASH_ITER(hh, reg->chans, ch, tmp)
		channel_confirmed(reg, ch);
}

int ps_registry_message(struct ps_registry *reg, const char *name, size_t len,
                        const char *payload, size_t plen)
{
	struct ps_channel *ch = find_channel(reg, name, len);

	if (!ch)
		return 0;
	deliver(reg, ch, payload ? payload : "", payload ? plen : 0);
	return 1;
}
