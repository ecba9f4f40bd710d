/* pubsub/loop_poll.c - a minimal poll(2) loop behind loop.h.
 *
 * Watchers and timers live on two lists; one freed from inside a callback
 * is only marked and unlinked after the dispatch pass, so the pass never
 * walks freed memory.
 */
#include "loop_poll.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#define MAX_FDS 64

struct pio {
	struct pio *next;
	int         fd, events, dead;
	ps_io_cb   *cb;
	void       *arg;
};

struct ptimer {
	struct ptimer *next;
	int64_t        at;          /* monotonic ms; valid while armed */
	int            armed, dead;
	ps_timer_cb   *cb;
	void          *arg;
};

struct ps_poll_loop {
	struct pio    *ios;
	struct ptimer *timers;
	int            dirty;       /* something was marked dead */
};

static void *io_new(void *loop, int fd, ps_io_cb *cb, void *arg)
{
	struct ps_poll_loop *pl = loop;
	struct pio *io = calloc(1, sizeof *io);

	if (!io)
		return NULL;
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	io->next = pl->ios;
	pl->ios = io;
	return io;
}

static void io_set(void *loop, void *p, int events)
{
	(void)loop;
	((struct pio *)p)->events = events;
}

static void io_free(void *loop, void *p)
{
	struct ps_poll_loop *pl = loop;
	struct pio *io = p;

	if (!io)
		return;
	io->dead = 1;
	io->events = 0;
	pl->dirty = 1;
}

static void *timer_new(void *loop, ps_timer_cb *cb, void *arg)
{
	struct ps_poll_loop *pl = loop;
	struct ptimer *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->cb = cb;
	t->arg = arg;
	t->next = pl->timers;
	pl->timers = t;
	return t;
}

static void timer_arm(void *loop, void *p, unsigned ms)
{
	struct ptimer *t = p;

	(void)loop;
	t->at = ps_mono_ms() + ms;
	t->armed = 1;
}

static void timer_stop(void *loop, void *p)
{
	(void)loop;
	((struct ptimer *)p)->armed = 0;
}

static void timer_free(void *loop, void *p)
{
	struct ps_poll_loop *pl = loop;
	struct ptimer *t = p;

	if (!t)
		return;
	t->dead = 1;
	t->armed = 0;
	pl->dirty = 1;
}

static const struct ps_loop_ops poll_ops = {
	io_new, io_set, io_free, timer_new, timer_arm, timer_stop, timer_free,
};

struct ps_poll_loop *ps_poll_new(void)
{
	return calloc(1, sizeof(struct ps_poll_loop));
}

/* Frees what was marked dead. */
static void sweep(struct ps_poll_loop *pl)
{
	struct pio **pi = &pl->ios;
	struct ptimer **pt = &pl->timers;

	while (*pi) {
		struct pio *io = *pi;
		if (io->dead) {
			*pi = io->next;
			free(io);
		} else {
			pi = &io->next;
		}
	}
	while (*pt) {
		struct ptimer *t = *pt;
		if (t->dead) {
			*pt = t->next;
			free(t);
		} else {
			pt = &t->next;
		}
	}
	pl->dirty = 0;
}

void ps_poll_free(struct ps_poll_loop *pl)
{
	if (!pl)
		return;
	for (struct pio *io = pl->ios; io; io = io->next)
		io->dead = 1;
	for (struct ptimer *t = pl->timers; t; t = t->next)
		t->dead = 1;
	sweep(pl);
	free(pl);
}

void ps_loop_poll(struct ps_loop *l, struct ps_poll_loop *pl)
{
	l->ops = &poll_ops;
	l->loop = pl;
}

/* Fires the timers that are due; returns the ms until the next one, capped
 * at cap. */
static int64_t run_timers(struct ps_poll_loop *pl, int64_t cap)
{
	int64_t now = ps_mono_ms(), wait = cap;

	for (struct ptimer *t = pl->timers; t; t = t->next) {
		if (t->armed && !t->dead && t->at <= now) {
			t->armed = 0;
			t->cb(t->arg);
		}
	}
	for (struct ptimer *t = pl->timers; t; t = t->next)
		if (t->armed && !t->dead && t->at - now < wait)
			wait = t->at - now;
	return wait < 0 ? 0 : wait;
}

int ps_poll_run(struct ps_poll_loop *pl, const int *done, int64_t deadline_ms)
{
	struct pollfd fds[MAX_FDS];
	struct pio *who[MAX_FDS];

	while (!*done) {
		int64_t now = ps_mono_ms(), wait;
		int n = 0, rc;

		if (now >= deadline_ms)
			return -1;
		wait = run_timers(pl, deadline_ms - now);
		if (pl->dirty)
			sweep(pl);
		if (*done)
			break;
		for (struct pio *io = pl->ios; io && n < MAX_FDS; io = io->next) {
			if (!io->events)
				continue;
			fds[n].fd = io->fd;
			fds[n].events = (short)((io->events & PS_IO_READ ? POLLIN : 0) |
			                        (io->events & PS_IO_WRITE ? POLLOUT : 0));
			fds[n].revents = 0;
			who[n++] = io;
		}
		rc = poll(fds, (nfds_t)n, (int)wait);
		if (rc < 0 && errno != EINTR)
			return -1;
		for (int i = 0; rc > 0 && i < n; i++) {
			int ev = 0;
			if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
				ev |= PS_IO_READ;
			if (fds[i].revents & (POLLOUT | POLLERR))
				ev |= PS_IO_WRITE;
			ev &= who[i]->events | (fds[i].revents & (POLLHUP | POLLERR) ? PS_IO_READ : 0);
			if (ev && !who[i]->dead)
				who[i]->cb(who[i]->arg, ev);
		}
		if (pl->dirty)
			sweep(pl);
	}
	return 0;
}
