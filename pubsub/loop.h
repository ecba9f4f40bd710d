/* pubsub/loop.h - the event-loop seam: what livegate's Redis links need
 * from their owner's loop, as a small table of operations (like hiredis's
 * adapters, but ours).
 *
 * Watchers and timers are created by the table and freed through it, from
 * anywhere: inside any callback, that watcher's own included (libev allows
 * it; a loop that does not must defer the free). Every operation is
 * idempotent: setting the events already watched, stopping a stopped
 * timer, re-arming an armed one (it then fires once, at the new time).
 *
 * Implementations: loop_ev.h (libev, the worker's loop) and loop_poll.h
 * (poll(2), for blocking callers such as the API's publisher).
 */
#ifndef LG_PUBSUB_LOOP_H
#define LG_PUBSUB_LOOP_H

enum { PS_IO_READ = 1, PS_IO_WRITE = 2 };

typedef void ps_io_cb(void *arg, int revents);    /* revents: PS_IO_* */
typedef void ps_timer_cb(void *arg);

struct ps_loop_ops {
	/* Returns a watcher of fd, watching nothing yet, or NULL. */
	void *(*io_new)(void *loop, int fd, ps_io_cb *cb, void *arg);
	/* Watches exactly events (PS_IO_* bits; 0 watches nothing). */
	void  (*io_set)(void *loop, void *io, int events);
	/* Stops and frees the watcher; never closes the fd. */
	void  (*io_free)(void *loop, void *io);
	/* Returns a one-shot timer, not armed, or NULL. */
	void *(*timer_new)(void *loop, ps_timer_cb *cb, void *arg);
	/* Fires once after ms milliseconds (0: at the next loop iteration). */
	void  (*timer_arm)(void *loop, void *t, unsigned ms);
	void  (*timer_stop)(void *loop, void *t);
	void  (*timer_free)(void *loop, void *t);
};

struct ps_loop {
	const struct ps_loop_ops *ops;
	void                     *loop;
};

#endif
