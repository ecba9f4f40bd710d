/* worker/worker.c - a worker process: one libev loop (epoll) that accepts
 * on its own SO_REUSEPORT socket, serves HTTP, WebSockets and event streams,
 * and runs the Redis subscriber. No thread per client, no locks.
 *
 * Why epoll through libev: a wake-up costs what is ready, not a scan of
 * every connection (with 18k connections a poll() scan was most of the CPU
 * of a fan-out). The price epoll usually asks, a syscall to arm and disarm
 * POLLOUT per write, is not paid: fan-out writes straight to sockets that
 * can take it and arms POLLOUT only for those that cannot (conn.c).
 *
 * The rooms: accept.c (listener), http_front.c (requests), ws.c and sse.c
 * (the transports), session.c (subscribers, deadlines), fanout.c (the
 * walk), conn.c (sockets and the write path), drain.c (signals),
 * redis_glue.c (the subscriber on this loop). */
#include "worker.h"
#include "accept.h"
#include "conn.h"
#include "drain.h"
#include "fanout.h"
#include "keys.h"
#include "log.h"
#include "redis_glue.h"
#include "script.h"
#include "session.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	session_tick(t->data);
}

static void on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
	(void)loop;
	(void)revents;
	conn_reap(p->data);
}

static int fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 20)
		return 1 << 20;
	return (int)rl.rlim_cur;
}

/* Everything a worker needs before it accepts. Returns 0, or -1 (logged). */
static int setup(struct lg_worker *w, int listen_fd)
{
	static const struct ps_events events = { session_on_ready, fanout_on_message };
	char err[256];
	size_t max_chans;

	if (lg_keys_load(w->cfg, &w->keys, err, sizeof err) < 0) {
		lg_log_msg(LG_LOG_ERROR, "keys", err);
		return -1;
	}
	if (script_init() < 0) {
		lg_log_msg(LG_LOG_ERROR, "worker", "out of memory building the script's responses");
		return -1;
	}
	w->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	if (!w->loop) {
		lg_log_msg(LG_LOG_ERROR, "worker", "could not create an epoll loop");
		return -1;
	}
	w->fd_limit = fd_limit() - LG_FD_RESERVE;
	max_chans = (size_t)w->cfg->max_connections * LG_TOKEN_MAX_CHANNELS;
	w->reg = ps_registry_new(&events, w, max_chans > (1u << 20) ? (1u << 20) : max_chans);
	if (!w->reg || redis_glue_start(w) < 0) {
		lg_log_msg(LG_LOG_ERROR, "worker", "out of memory creating the registry");
		return -1;
	}
	if (drain_signals_start(w) < 0) {
		lg_log_msg(LG_LOG_ERROR, "worker", "could not watch signals");
		return -1;
	}
	lg_wheel_init(&w->wheel, 0);
	ev_timer_init(&w->tick, on_tick, 1., 1.);
	w->tick.data = w;
	ev_timer_start(w->loop, &w->tick);
	ev_prepare_init(&w->reaper, on_prepare);
	w->reaper.data = w;
	ev_prepare_start(w->loop, &w->reaper);
	return accept_start(w, listen_fd);
}

/* Teardown order: no new connections; every connection closes (leaving
 * the registry); then the Redis link, which the registry's channels no
 * longer need; then the registry. */
static void teardown(struct lg_worker *w)
{
	if (w->loop) {
		accept_stop(w);
		drain_stop(w);
		ev_timer_stop(w->loop, &w->tick);
		ev_prepare_stop(w->loop, &w->reaper);
		conn_free_all(w);
	}
	if (w->redis)
		redis_glue_stop(w);
	ps_registry_free(w->reg);
	if (w->loop)
		ev_loop_destroy(w->loop);
	script_free();
	lg_keyring_free(w->keys);
}

int lg_worker_run(const struct lg_config *cfg, struct lg_shared *shm, int index,
                  int listen_fd)
{
	static struct lg_worker w;
	char name[32];
	int rc = 0;

	snprintf(name, sizeof name, "worker-%d", index + 1);
	lg_log_setup(cfg->log_level, cfg->log_format == LG_LOG_JSON, name);
	signal(SIGPIPE, SIG_IGN);
	/* Exec'd workers share no random state with main, but restarted ones
	 * would repeat their backoff jitter: seed from the pid and the clock. */
	srandom((unsigned)getpid() ^ (unsigned)lg_now_ns());
	w.cfg = cfg;
	w.st = &shm->w[index];
	w.mono0_ns = lg_now_ns();
	atomic_store(&w.st->pid, (int)getpid());
	if (setup(&w, listen_fd) < 0) {
		rc = 1;
	} else {
		lg_log_msg(LG_LOG_INFO, "worker_ready", NULL);
		ev_run(w.loop, 0);
		if (w.failed)
			rc = 1;
	}
	teardown(&w);
	lg_metrics_worker_gone(w.st);
	lg_log_msg(LG_LOG_INFO, "worker_exit", NULL);
	return rc;
}
