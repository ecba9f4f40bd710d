/* Unit tests of pubsub/registry: refcounted channels, upstream confirmation,
 * resync after an outage, removal in any order, the channel limit, a crowd
 * of members on one channel (its array grows, swaps and shrinks), parking
 * members that fell behind (the walk rule), moving a membership, a pattern
 * backend that confirms at once and all together, and an outage of one
 * channel alone (a cluster node). */
#include <check.h>
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

/* A fake upstream that records what it was asked. */
struct fake {
	int  up;
	int  pattern;     /* subscribe answers 1: covered by a pattern */
	int  subs, unsubs;
	char last[64];
	int  ready_calls;
	struct ps_subscriber *last_ready;
	int  messages, resyncs;
	char last_payload[64];
	int  delivered;   /* memberships reached by the last message */
};

static int f_sub(void *be, const char *n, size_t l)
{
	struct fake *f = be;
	if (!f->up)
		return -1;
	f->subs++;
	snprintf(f->last, sizeof f->last, "%.*s", (int)l, n);
	return f->pattern ? 1 : 0;
}

static int f_unsub(void *be, const char *n, size_t l)
{
	struct fake *f = be;
	if (!f->up)
		return -1;
	f->unsubs++;
	snprintf(f->last, sizeof f->last, "%.*s", (int)l, n);
	return 0;
}

static const struct ps_backend_ops ops = { f_sub, f_unsub };

static void on_ready(void *ctx, struct ps_subscriber *s)
{
	struct fake *f = ctx;
	f->ready_calls++;
	f->last_ready = s;
}

/* Calls fn for every confirmed membership of ch, as fan-out does. */
static void each_confirmed(struct ps_channel *ch, void (*fn)(struct ps_membership *m, void *arg),
                           void *arg)
{
	size_t n;
	const struct ps_member *v = ps_channel_members(ch, &n);

	for (size_t i = 0; i < n; i++)
		if (v[i].m->confirmed)
			fn(v[i].m, arg);
}

static void count(struct ps_membership *m, void *arg)
{
	(void)m;
	((struct fake *)arg)->delivered++;
}

static void on_message(void *ctx, struct ps_channel *ch, const char *p, size_t n)
{
	struct fake *f = ctx;
	if (p) {
		f->messages++;
		snprintf(f->last_payload, sizeof f->last_payload, "%.*s", (int)n, p);
	} else {
		f->resyncs++;
	}
	f->delivered = 0;
	each_confirmed(ch, count, f);
}

static struct fake F;
static struct ps_registry *R;

static void setup(void)
{
	static const struct ps_events ev = { on_ready, on_message };
	memset(&F, 0, sizeof F);
	R = ps_registry_new(&ev, &F, 4);
	ck_assert_ptr_nonnull(R);
	ps_registry_set_backend(R, &ops, &F);
}

static void teardown(void)
{
	ps_registry_free(R);
}

static void link_up(void)
{
	F.up = 1;
	ps_registry_link_up(R);
}

START_TEST(one_subscribe_per_channel)
{
	struct ps_subscriber a = {0}, b = {0}, c = {0};
	struct ps_membership ma = {0}, mb = {0}, mc = {0};

	link_up();
	ck_assert_int_eq(ps_join(R, &a, &ma, "todos", 5), 0);
	ck_assert_int_eq(ps_join(R, &b, &mb, "todos", 5), 0);
	ck_assert_int_eq(ps_join(R, &c, &mc, "todos", 5), 0);
	ck_assert_int_eq(F.subs, 1);
	ck_assert_str_eq(F.last, "todos");
	ck_assert_uint_eq(ps_channel_size(ma.chan), 3);
	ck_assert_uint_eq(ps_registry_channel_count(R), 1);
	/* leave in an order different from the joins */
	ps_leave(R, &mb);
	ps_leave(R, &ma);
	ck_assert_int_eq(F.unsubs, 0);
	ps_leave(R, &mc);
	ck_assert_int_eq(F.unsubs, 1);
	ck_assert_uint_eq(ps_registry_channel_count(R), 0);
	ps_leave(R, &mc);   /* an unused membership is a no-op */
	ck_assert_int_eq(F.unsubs, 1);
}
END_TEST

START_TEST(ready_after_every_confirmation)
{
	struct ps_subscriber a = {0};
	struct ps_membership m1 = {0}, m2 = {0};

	link_up();
	ps_join(R, &a, &m1, "x", 1);
	ps_join(R, &a, &m2, "y", 1);
	ck_assert_uint_eq(a.pending, 2);
	ps_registry_confirmed(R, "x", 1);
	ck_assert_int_eq(F.ready_calls, 0);
	ps_registry_confirmed(R, "y", 1);
	ck_assert_int_eq(F.ready_calls, 1);
	ck_assert_ptr_eq(F.last_ready, &a);
	ps_registry_confirmed(R, "y", 1);   /* a duplicate confirmation changes nothing */
	ck_assert_int_eq(F.ready_calls, 1);
	ps_leave(R, &m1);
	ps_leave(R, &m2);
}
END_TEST

START_TEST(joining_a_confirmed_channel_is_immediate)
{
	struct ps_subscriber a = {0}, b = {0};
	struct ps_membership ma = {0}, mb = {0};

	link_up();
	ps_join(R, &a, &ma, "x", 1);
	ps_registry_confirmed(R, "x", 1);
	ps_join(R, &b, &mb, "x", 1);
	ck_assert_uint_eq(b.pending, 0);
	ck_assert_uint_eq(mb.confirmed, 1);
	ps_leave(R, &ma);
	ps_leave(R, &mb);
}
END_TEST

START_TEST(messages_reach_confirmed_members_only)
{
	struct ps_subscriber a = {0}, b = {0};
	struct ps_membership ma = {0}, mb = {0};

	link_up();
	ps_join(R, &a, &ma, "x", 1);
	ck_assert_int_eq(ps_registry_message(R, "x", 1, "early", 5), 1);
	ck_assert_int_eq(F.delivered, 0);
	ps_registry_confirmed(R, "x", 1);
	ps_join(R, &b, &mb, "x", 1);
	ps_registry_message(R, "x", 1, "hello", 5);
	ck_assert_int_eq(F.delivered, 2);
	ck_assert_str_eq(F.last_payload, "hello");
	ck_assert_int_eq(ps_registry_message(R, "nope", 4, "z", 1), 0);
	ps_leave(R, &ma);
	ps_leave(R, &mb);
}
END_TEST

START_TEST(outage_resubscribes_and_resyncs)
{
	struct ps_subscriber a = {0}, w = {0};
	struct ps_membership ma = {0}, mw1 = {0}, mw2 = {0};

	link_up();
	ps_join(R, &a, &ma, "x", 1);
	ps_registry_confirmed(R, "x", 1);          /* a is ready */
	ck_assert_int_eq(F.ready_calls, 1);
	ps_join(R, &w, &mw1, "x", 1);              /* w: x confirmed, y pending */
	ps_join(R, &w, &mw2, "y", 1);
	ck_assert_uint_eq(w.pending, 1);
	F.up = 0;
	ps_registry_link_down(R);
	ck_assert_uint_eq(w.pending, 2);           /* w waits for the new link */
	ck_assert_uint_eq(a.pending, 0);
	/* joins while down queue nothing upstream */
	F.subs = 0;
	F.up = 1;
	ck_assert_uint_eq(ps_registry_link_up(R), 2);
	ck_assert_int_eq(F.subs, 2);
	ps_registry_confirmed(R, "x", 1);
	ck_assert_int_eq(F.resyncs, 1);
	ck_assert_int_eq(F.delivered, 1);          /* only a, confirmed before */
	ck_assert_int_eq(F.ready_calls, 1);        /* w still waits for y */
	ps_registry_confirmed(R, "y", 1);
	ck_assert_int_eq(F.resyncs, 1);            /* y was never confirmed: no resync */
	ck_assert_int_eq(F.ready_calls, 2);
	ck_assert_ptr_eq(F.last_ready, &w);
	ps_leave(R, &ma);
	ps_leave(R, &mw1);
	ps_leave(R, &mw2);
}
END_TEST

START_TEST(leave_while_down_sends_nothing)
{
	struct ps_subscriber a = {0};
	struct ps_membership ma = {0};

	ps_join(R, &a, &ma, "x", 1);   /* link never up */
	ck_assert_int_eq(F.subs, 0);
	ps_leave(R, &ma);
	ck_assert_int_eq(F.unsubs, 0);
	ck_assert_uint_eq(a.pending, 0);
}
END_TEST

START_TEST(channel_limit)
{
	struct ps_subscriber a = {0};
	struct ps_membership m[5];
	char name[2] = "a";

	memset(m, 0, sizeof m);
	link_up();
	for (int i = 0; i < 4; i++) {
		name[0] = (char)('a' + i);
		ck_assert_int_eq(ps_join(R, &a, &m[i], name, 1), 0);
	}
	ck_assert_int_eq(ps_join(R, &a, &m[4], "z", 1), -1);
	ck_assert_ptr_null(m[4].chan);
	ck_assert_uint_eq(a.pending, 4);
	/* an existing channel can still be joined at the limit */
	{
		struct ps_subscriber b = {0};
		struct ps_membership mb = {0};
		ck_assert_int_eq(ps_join(R, &b, &mb, "a", 1), 0);
		ps_leave(R, &mb);
	}
	ps_leave(R, &m[0]);
	ck_assert_int_eq(ps_join(R, &a, &m[4], "z", 1), 0);
	for (int i = 1; i < 5; i++)
		ps_leave(R, &m[i]);
	ck_assert_uint_eq(a.pending, 0);
	ck_assert_uint_eq(ps_registry_channel_count(R), 0);
}
END_TEST

/* Counts fan-out visits per member of the crowd. */
static int seen[1000];
static struct ps_membership crowd[1000];
static struct ps_subscriber crowd_sub[1000];

static void mark(struct ps_membership *m, void *arg)
{
	(void)arg;
	seen[m - crowd]++;
}

/* Returns how many crowd members fan-out reached, each checked once. */
static int reached_exactly(struct ps_channel *ch, const int *in)
{
	int n = 0;

	memset(seen, 0, sizeof seen);
	each_confirmed(ch, mark, NULL);
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(seen[i], in[i]);
		n += seen[i];
	}
	return n;
}

START_TEST(a_crowd_joins_and_leaves_in_any_order)
{
	static int in[1000];
	const struct ps_member *v;
	struct ps_channel *big;
	size_t n;

	link_up();
	memset(crowd, 0, sizeof crowd);
	memset(crowd_sub, 0, sizeof crowd_sub);
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(ps_join(R, &crowd_sub[i], &crowd[i], "big", 3), 0);
		in[i] = 1;
	}
	ck_assert_int_eq(F.subs, 1);
	big = crowd[0].chan;
	ps_registry_confirmed(R, "big", 3);
	ck_assert_int_eq(F.ready_calls, 1000);
	ck_assert_int_eq(reached_exactly(big, in), 1000);
	/* Leave from the middle, the ends, every third: each slot stays right. */
	for (int i = 0; i < 1000; i += 3) {
		ps_leave(R, &crowd[i]);
		in[i] = 0;
	}
	ps_leave(R, &crowd[998]);
	in[998] = 0;
	ps_leave(R, &crowd[1]);
	in[1] = 0;
	ck_assert_int_eq(reached_exactly(big, in), 1000 - 334 - 2);
	v = ps_channel_members(big, &n);
	ck_assert_uint_eq(n, 1000 - 334 - 2);
	for (size_t k = 0; k < n; k++)
		ck_assert_uint_eq(v[k].m->slot, k);
	/* Nearly everyone leaves (the array shrinks), then the crowd returns. */
	for (int i = 0; i < 1000; i++) {
		if (in[i] && i != 500) {
			ps_leave(R, &crowd[i]);
			in[i] = 0;
		}
	}
	ck_assert_int_eq(reached_exactly(big, in), 1);
	ck_assert_int_eq(F.unsubs, 0);
	for (int i = 0; i < 1000; i++) {
		if (!in[i]) {
			ck_assert_int_eq(ps_join(R, &crowd_sub[i], &crowd[i], "big", 3), 0);
			in[i] = 1;
		}
	}
	ck_assert_int_eq(reached_exactly(big, in), 1000);
	for (int i = 999; i >= 0; i--)
		ps_leave(R, &crowd[i]);
	ck_assert_int_eq(F.unsubs, 1);
	ck_assert_uint_eq(ps_registry_channel_count(R), 0);
}
END_TEST

/* Returns the socket the channel's array shows for m. */
static int fd_shown(const struct ps_membership *m)
{
	size_t n;
	const struct ps_member *v = ps_channel_members(m->chan, &n);

	ck_assert_uint_lt(m->slot, n);
	ck_assert_ptr_eq(v[m->slot].m, m);
	return v[m->slot].fd;
}

START_TEST(sockets_show_only_while_confirmed_and_follow_their_slot)
{
	struct ps_subscriber sa = {0}, sb = {0}, sc = {0}, sd = {0};
	struct ps_membership a = {0}, b = {0}, c = {0}, d = {0};

	link_up();
	ps_join(R, &sa, &a, "k", 1);
	ps_join(R, &sb, &b, "k", 1);
	ps_join(R, &sc, &c, "k", 1);
	ck_assert_int_eq(fd_shown(&a), -1);       /* a join has none */
	ps_set_fd(&a, 10, 0);
	ps_set_fd(&b, 11, 0);
	ps_set_fd(&c, 12, 0);
	ck_assert_int_eq(fd_shown(&a), -1);       /* set, but not confirmed yet */
	ps_registry_confirmed(R, "k", 1);
	ck_assert_int_eq(fd_shown(&a), 10);
	ck_assert_int_eq(fd_shown(&b), 11);
	ck_assert_int_eq(fd_shown(&c), 12);
	ps_leave(R, &a);                           /* c moves into a's slot, socket and all */
	ck_assert_int_eq(fd_shown(&c), 12);
	ck_assert_int_eq(fd_shown(&b), 11);
	ps_set_fd(&b, -1, 0);
	ck_assert_int_eq(fd_shown(&b), -1);
	ps_set_fd(&b, 20, 0);
	ck_assert_int_eq(fd_shown(&b), 20);
	/* An outage: d joins while the channel is unconfirmed and waits. */
	F.up = 0;
	ps_registry_link_down(R);
	ck_assert_int_eq(fd_shown(&b), 20);       /* b had its confirmation: keeps it */
	ps_join(R, &sd, &d, "k", 1);
	ps_set_fd(&d, 30, 0);
	ck_assert_int_eq(fd_shown(&d), -1);
	link_up();
	ps_registry_confirmed(R, "k", 1);
	ck_assert_int_eq(fd_shown(&d), 30);
	ps_leave(R, &b);
	ps_leave(R, &c);
	ps_leave(R, &d);
	ck_assert_uint_eq(ps_registry_channel_count(R), 0);
}
END_TEST

START_TEST(binary_safe_names)
{
	struct ps_subscriber a = {0};
	struct ps_membership m1 = {0}, m2 = {0};

	link_up();
	ps_join(R, &a, &m1, "ab", 2);
	ps_join(R, &a, &m2, "abc", 3);   /* a prefix is another channel */
	ck_assert_uint_eq(ps_registry_channel_count(R), 2);
	size_t len;
	ck_assert_str_eq(ps_channel_name(m2.chan, &len), "abc");
	ck_assert_uint_eq(len, 3);
	ps_leave(R, &m1);
	ps_leave(R, &m2);
}
END_TEST

/* A parking walk: the fake fan-out parks every member whose subscriber
 * is marked slow, as the gateway parks a connection whose queue is full. */
static struct ps_subscriber *slow_a, *slow_b;
static int walked;

static void on_message_parking(void *ctx, struct ps_channel *ch, const char *p, size_t n)
{
	const struct ps_member *v;
	size_t k;

	(void)ctx;
	(void)p;
	(void)n;
	walked = 0;
	v = ps_channel_members(ch, &k);
	for (size_t i = 0; i < k;) {
		struct ps_membership *m = v[i].m;
		walked++;
		if (m->sub == slow_a || m->sub == slow_b) {
			ps_park(m);   /* the walk rule: revisit slot i */
			v = ps_channel_members(ch, &k);
			continue;
		}
		i++;
	}
}

START_TEST(parked_members_leave_delivery_and_count_what_they_missed)
{
	static const struct ps_events ev = { on_ready, on_message_parking };
	struct ps_registry *reg = ps_registry_new(&ev, &F, 4);
	struct ps_subscriber s[5] = {{0}};
	struct ps_membership m[5] = {{0}};
	size_t n;

	F.up = 1;
	ps_registry_set_backend(reg, &ops, &F);
	ps_registry_link_up(reg);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(ps_join(reg, &s[i], &m[i], "k", 1), 0);
	ps_registry_confirmed(reg, "k", 1);
	slow_a = &s[1];
	slow_b = &s[4];   /* the last slot: parking it swaps with itself */
	ps_registry_message(reg, "k", 1, "1", 1);
	ck_assert_int_eq(walked, 5);              /* every member visited once */
	ck_assert_uint_eq(ps_channel_parked(m[0].chan), 2);
	ck_assert(m[1].parked && m[4].parked && !m[0].parked);
	ps_channel_members(m[0].chan, &n);
	ck_assert_uint_eq(n, 3);
	/* Parked members cost the walk nothing; the channel counts on. */
	slow_a = slow_b = NULL;
	ps_registry_message(reg, "k", 1, "2", 1);
	ps_registry_message(reg, "k", 1, "3", 1);
	ck_assert_int_eq(walked, 3);
	ck_assert_uint_eq(ps_channel_seq(m[0].chan), 3);
	/* A join goes to the active part, ahead of the parked. */
	{
		struct ps_subscriber s6 = {0};
		struct ps_membership m6 = {0};
		ck_assert_int_eq(ps_join(reg, &s6, &m6, "k", 1), 0);
		ck_assert(!m6.parked);
		ps_channel_members(m[0].chan, &n);
		ck_assert_uint_eq(n, 4);
		ck_assert_uint_eq(ps_unpark(&m[1]), 2);   /* missed "2" and "3" */
		ck_assert_uint_eq(ps_unpark(&m[1]), 0);   /* not parked: a no-op */
		ps_leave(reg, &m6);
	}
	/* A parked member leaving keeps both parts whole. */
	ps_leave(reg, &m[4]);
	ck_assert_uint_eq(ps_channel_parked(m[0].chan), 0);
	ps_channel_members(m[0].chan, &n);
	ck_assert_uint_eq(n, 4);
	/* Parked while the link is down, confirmed while still parked: what
	 * came before its confirmation is not counted as missed. */
	ps_park(&m[2]);
	F.up = 0;
	ps_registry_link_down(reg);
	F.up = 1;
	ps_registry_link_up(reg);
	ps_registry_confirmed(reg, "k", 1);       /* delivers the resync first */
	ck_assert_uint_eq(ps_unpark(&m[2]), 1);   /* the resync it did not get */
	for (int i = 0; i < 4; i++)
		ps_leave(reg, &m[i]);
	ck_assert_uint_eq(ps_registry_channel_count(reg), 0);
	ps_registry_free(reg);
}
END_TEST

START_TEST(a_moved_membership_keeps_its_state)
{
	struct ps_subscriber a = {0}, b = {0};
	struct ps_membership ma = {0}, mb = {0}, moved = {0};

	link_up();
	ps_join(R, &a, &ma, "k", 1);
	ps_join(R, &b, &mb, "k", 1);
	ps_registry_confirmed(R, "k", 1);
	ps_set_fd(&ma, 7, 0);
	/* An outage: ma had its confirmation, so it is owed a resync. */
	F.up = 0;
	ps_registry_link_down(R);
	ps_move(&ma, &moved);
	ck_assert_ptr_null(ma.chan);
	ck_assert(moved.confirmed);
	ck_assert_int_eq(fd_shown(&moved), 7);
	ps_leave(R, &ma);                          /* the old storage is unused: a no-op */
	link_up();
	ps_registry_confirmed(R, "k", 1);
	ck_assert_int_eq(F.resyncs, 1);
	ck_assert_int_eq(F.delivered, 2);          /* the moved one got it too */
	ps_leave(R, &moved);
	ps_leave(R, &mb);
	ck_assert_uint_eq(ps_registry_channel_count(R), 0);
}
END_TEST

/* The pattern backend: PSUBSCRIBE <prefix>* covers every channel. */
START_TEST(pattern_confirms_joins_at_once)
{
	struct ps_subscriber a = {0}, b = {0};
	struct ps_membership ma = {0}, mb = {0}, mb2 = {0};

	F.up = 1;
	F.pattern = 1;
	/* Before the pattern is confirmed, a join waits for it. */
	ck_assert_int_eq(ps_join(R, &a, &ma, "x", 1), 0);
	ck_assert_uint_eq(a.pending, 1);
	ck_assert_int_eq(F.subs, 0);
	ps_registry_confirm_all(R);
	ck_assert_uint_eq(a.pending, 0);
	ck_assert_int_eq(F.ready_calls, 1);
	ck_assert_int_eq(F.resyncs, 0);            /* x was never confirmed before */
	/* While it is up, a new channel is confirmed inside the join. */
	ck_assert_int_eq(ps_join(R, &b, &mb, "y", 1), 0);
	ck_assert_int_eq(ps_join(R, &b, &mb2, "x", 1), 0);
	ck_assert_int_eq(F.subs, 1);
	ck_assert_uint_eq(b.pending, 0);
	ck_assert_uint_eq(mb.confirmed, 1);
	ck_assert_int_eq(F.ready_calls, 1);        /* never fired from a join */
	ps_registry_message(R, "y", 1, "m", 1);
	ck_assert_int_eq(F.delivered, 1);
	ps_leave(R, &ma);
	ps_leave(R, &mb);
	ps_leave(R, &mb2);
}
END_TEST

START_TEST(pattern_outage_resyncs_every_channel_once)
{
	struct ps_subscriber a = {0}, late = {0}, w = {0};
	struct ps_membership ma1 = {0}, ma2 = {0}, ml = {0}, mw = {0};

	F.up = 1;
	F.pattern = 1;
	ps_registry_confirm_all(R);
	ps_join(R, &a, &ma1, "x", 1);
	ps_join(R, &a, &ma2, "y", 1);
	ck_assert_uint_eq(a.pending, 0);
	F.up = 0;
	ps_registry_link_down(R);
	ck_assert_uint_eq(a.pending, 0);           /* a keeps its 'subscribed' */
	ps_join(R, &late, &ml, "x", 1);            /* joins during the outage wait */
	ps_join(R, &w, &mw, "new", 3);
	ck_assert_uint_eq(late.pending, 1);
	ck_assert_uint_eq(w.pending, 1);
	F.up = 1;
	ps_registry_confirm_all(R);
	ck_assert_int_eq(F.resyncs, 2);            /* x and y; not "new" */
	ck_assert_uint_eq(late.pending, 0);
	ck_assert_uint_eq(w.pending, 0);
	ck_assert_int_eq(F.ready_calls, 2);
	ps_registry_confirm_all(R);                /* a duplicate changes nothing */
	ck_assert_int_eq(F.resyncs, 2);
	ck_assert_int_eq(F.ready_calls, 2);
	ps_leave(R, &ma1);
	ps_leave(R, &ma2);
	ps_leave(R, &ml);
	ps_leave(R, &mw);
}
END_TEST

/* A cluster node fails: only the channels it carried are down. */
START_TEST(one_channel_down_alone)
{
	struct ps_subscriber a = {0}, w = {0};
	struct ps_membership ma1 = {0}, ma2 = {0}, mw1 = {0}, mw2 = {0};

	link_up();
	ps_join(R, &a, &ma1, "x", 1);
	ps_join(R, &a, &ma2, "y", 1);
	ps_registry_confirmed(R, "x", 1);
	ps_registry_confirmed(R, "y", 1);
	ck_assert_int_eq(F.ready_calls, 1);
	ps_join(R, &w, &mw1, "x", 1);              /* w: x confirmed, z pending */
	ps_join(R, &w, &mw2, "z", 1);
	ck_assert_uint_eq(w.pending, 1);
	ps_registry_channel_down(R, "x", 1);
	ps_registry_channel_down(R, "nope", 4);    /* unknown: ignored */
	ck_assert_uint_eq(w.pending, 2);           /* w waits for x again */
	ck_assert_uint_eq(a.pending, 0);
	ps_registry_message(R, "y", 1, "still", 5);
	ck_assert_int_eq(F.delivered, 1);          /* y is untouched */
	ps_registry_confirmed(R, "x", 1);
	ck_assert_int_eq(F.resyncs, 1);
	ck_assert_int_eq(F.delivered, 1);          /* a only: w never had x */
	ck_assert_uint_eq(w.pending, 1);
	ps_registry_confirmed(R, "z", 1);
	ck_assert_int_eq(F.ready_calls, 2);
	ck_assert_int_eq(F.resyncs, 1);
	ps_leave(R, &ma1);
	ps_leave(R, &ma2);
	ps_leave(R, &mw1);
	ps_leave(R, &mw2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, one_subscribe_per_channel);
	tcase_add_test(tc, ready_after_every_confirmation);
	tcase_add_test(tc, joining_a_confirmed_channel_is_immediate);
	tcase_add_test(tc, messages_reach_confirmed_members_only);
	tcase_add_test(tc, outage_resubscribes_and_resyncs);
	tcase_add_test(tc, leave_while_down_sends_nothing);
	tcase_add_test(tc, channel_limit);
	tcase_add_test(tc, binary_safe_names);
	tcase_add_test(tc, a_crowd_joins_and_leaves_in_any_order);
	tcase_add_test(tc, sockets_show_only_while_confirmed_and_follow_their_slot);
	tcase_add_test(tc, parked_members_leave_delivery_and_count_what_they_missed);
	tcase_add_test(tc, a_moved_membership_keeps_its_state);
	tcase_add_test(tc, pattern_confirms_joins_at_once);
	tcase_add_test(tc, pattern_outage_resyncs_every_channel_once);
	tcase_add_test(tc, one_channel_down_alone);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
