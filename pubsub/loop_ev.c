/* pubsub/loop_ev.c - loop.h's operations as ev_io and ev_timer. */
#include "loop_ev.h"

#include <stddef.h>
#include <stdlib.h>

struct io {
	ev_io     w;
	ps_io_cb *cb;
	void     *arg;
	int       events;
};

struct timer {
	ev_timer     w;
	ps_timer_cb *cb;
	void        *arg;
};

static void io_fire(struct ev_loop *loop, ev_io *w, int revents)
{
	struct io *io = (struct io *)w;
	int ev = (revents & EV_READ ? PS_IO_READ : 0) | (revents & EV_WRITE ? PS_IO_WRITE : 0);

	(void)loop;
	if (ev)
		io->cb(io->arg, ev);
}

static void *io_new(void *loop, int fd, ps_io_cb *cb, void *arg)
{
	struct io *io = calloc(1, sizeof *io);

	(void)loop;
	if (!io)
		return NULL;
	ev_io_init(&io->w, io_fire, fd, 0);
	io->cb = cb;
	io->arg = arg;
	return io;
}

static void io_set(void *loop, void *p, int events)
{
	struct io *io = p;

	if (io->events == events)
		return;
	ev_io_stop(loop, &io->w);
	io->events = events;
	if (!events)
		return;
	ev_io_set(&io->w, io->w.fd, (events & PS_IO_READ ? EV_READ : 0) |
	                            (events & PS_IO_WRITE ? EV_WRITE : 0));
	ev_io_start(loop, &io->w);
}

static void io_free(void *loop, void *p)
{
	struct io *io = p;

	if (!io)
		return;
	ev_io_stop(loop, &io->w);
	free(io);
}

static void timer_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct timer *t = (struct timer *)w;

	(void)loop;
	(void)revents;
	t->cb(t->arg);
}

static void *timer_new(void *loop, ps_timer_cb *cb, void *arg)
{
	struct timer *t = calloc(1, sizeof *t);

	(void)loop;
	if (!t)
		return NULL;
	ev_timer_init(&t->w, timer_fire, 0., 0.);
	t->cb = cb;
	t->arg = arg;
	return t;
}

static void timer_arm(void *loop, void *p, unsigned ms)
{
	struct timer *t = p;

	ev_timer_stop(loop, &t->w);
	ev_timer_set(&t->w, (ev_tstamp)ms / 1000.0, 0.);
	ev_timer_start(loop, &t->w);
}

static void timer_stop(void *loop, void *p)
{
	struct timer *t = p;

	ev_timer_stop(loop, &t->w);
}

static void timer_free(void *loop, void *p)
{
	struct timer *t = p;

	if (!t)
		return;
	ev_timer_stop(loop, &t->w);
	free(t);
}

static const struct ps_loop_ops ev_ops = {
	io_new, io_set, io_free, timer_new, timer_arm, timer_stop, timer_free,
};

void ps_loop_ev(struct ps_loop *l, struct ev_loop *loop)
{
	l->ops = &ev_ops;
	l->loop = loop;
}
