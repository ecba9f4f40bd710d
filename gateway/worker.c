/* gateway/worker.c - a worker process: one libwebsockets context that
 * accepts on its own SO_REUSEPORT socket, serves WebSockets and the script,
 * and runs the Redis subscriber, all on one libev loop.
 *
 * Why libev: lws's own loop is poll(), whose every wake-up scans every
 * connection; with 18k of them that was most of the CPU of a fan-out and
 * of a connect storm. On libev's epoll a wake-up costs what is ready. The
 * price epoll usually asks, a syscall to arm and disarm POLLOUT per write,
 * is not paid here: fan-out writes straight to sockets that can take it
 * (ws_conn.c) and arms POLLOUT only for those that cannot. */
#include "worker.h"
#include "keys.h"
#include "log.h"
#include "raw_source.h"
#include "redis_lws.h"

#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ACCEPTS_PER_WAKEUP 256   /* keeps one burst from starving the loop */
#define DRAIN_TICK_MS      20
#define DRAIN_FLUSH_MS     1000  /* after the last close request: time for the
                                    close frames to go out (main's kill comes
                                    2 s after the window) */
#define ACCEPT_PAUSE_MS    250   /* after EMFILE: let closes free fds */

struct listener {
	struct lg_raw_source   src;
	struct lg_worker      *w;
	int                    fd;
	struct lws            *wsi;
	ev_timer               resume;
	int                    err_pause;   /* after EMFILE and the like */
	int                    full;        /* LG_HANDSHAKES_MAX in progress */
};

/* Marks a wsi counted in w->handshaking (its opaque user data). */
static const char handshake_tag;

struct sigsrc {
	struct lg_raw_source src;
	struct lg_worker    *w;
	int                  fd;
};

static struct listener g_listener;
static struct sigsrc   g_sig;

uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint32_t lg_worker_secs(const struct lg_worker *w)
{
	return (uint32_t)((lg_now_ns() - w->mono0_ns) / 1000000000ull);
}

struct lg_worker *lg_worker_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

int lg_raw_callback(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len)
{
	struct lg_raw_source *src = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		return src ? src->handle(src, wsi, (int)reason) : -1;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		return src ? src->handle(src, wsi, (int)reason) : 0;
	default:
		return 0;
	}
}

/* --- the listener ------------------------------------------------------- */

/* Arms one-shot timer t to fire after ms; an armed one is moved.
 *
 * Timers that must be punctual are libev's, not lws_sul: on libev, lws
 * 4.1.6 re-arms its one timer only when it fires, so a sul due before the
 * one it is armed for runs late (our 1 s tick bounds that for lws's own). */
static void timer_arm(struct lg_worker *w, ev_timer *t, unsigned ms)
{
	ev_timer_stop(w->loop, t);
	ev_timer_set(t, (ev_tstamp)ms / 1000.0, 0.);
	ev_timer_start(w->loop, t);
}

/* Polls the listener unless a pause reason holds. */
static void listener_update(struct listener *l)
{
	if (l->wsi)
		lws_rx_flow_control(l->wsi, !l->err_pause && !l->full);
}

static void accept_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct listener *l = lws_container_of(t, struct listener, resume);

	l->err_pause = 0;
	listener_update(l);
}

/* Accepted sockets wait for their first request with lws's timeout in a
 * sorted list, and past the header-table pool on a waiting list; lws 4.1
 * walks both whole on every insert, which made a connect storm quadratic.
 * So at most LG_HANDSHAKES_MAX are in lws at once; the rest wait in the
 * kernel's backlog, which costs nothing. */
void lg_worker_handshake_done(struct lws *wsi)
{
	struct lg_worker *w;

	if (lws_get_opaque_user_data(wsi) != &handshake_tag)
		return;
	lws_set_opaque_user_data(wsi, NULL);
	w = lg_worker_of(wsi);
	w->handshaking--;
	if (g_listener.full && w->handshaking < LG_HANDSHAKES_MAX) {
		g_listener.full = 0;
		listener_update(&g_listener);
	}
}

/* Tunes an accepted socket: a modest send buffer so one slow reader cannot
 * pin megabytes of kernel memory, and no Nagle delay on small frames. */
static void tune_socket(int fd)
{
	int sndbuf = LG_SNDBUF, one = 1;

	/* Best effort: the connection works with kernel defaults too. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int listener_handle(struct lg_raw_source *src, struct lws *wsi, int reason)
{
	struct listener *l = (struct listener *)src;
	struct lg_worker *w = l->w;

	if (reason == LWS_CALLBACK_RAW_CLOSE_FILE) {
		l->wsi = NULL;
		return 0;
	}
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		struct lws *nwsi;
		int fd;

		if (w->handshaking >= LG_HANDSHAKES_MAX) {
			l->full = 1;
			listener_update(l);
			break;
		}
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* EMFILE and the like: stop polling the listener for a while
			 * instead of spinning on a connection we cannot take. */
			lg_log_msg(LG_LOG_WARN, "accept_paused", strerror(errno));
			l->err_pause = 1;
			listener_update(l);
			timer_arm(w, &l->resume, ACCEPT_PAUSE_MS);
			break;
		}
		if (fd >= w->fd_limit) {
			/* Near the open-file limit: refuse rather than starve Redis. */
			close(fd);
			lg_add(&w->st->over_capacity, 1);
			continue;
		}
		tune_socket(fd);
		nwsi = lws_adopt_socket_vhost(w->vh, fd);   /* closes fd on failure */
		if (!nwsi) {
			lg_log_msg(LG_LOG_WARN, "adopt_failed", "could not adopt an accepted socket");
			continue;
		}
		lws_set_opaque_user_data(nwsi, (void *)&handshake_tag);
		w->handshaking++;
	}
	return 0;
}

static int listener_start(struct lg_worker *w, int fd)
{
	lws_sock_file_fd_type u;

	g_listener.src.handle = listener_handle;
	g_listener.w = w;
	g_listener.fd = fd;
	u.filefd = fd;
	g_listener.wsi = lws_adopt_descriptor_vhost(w->vh, LWS_ADOPT_RAW_FILE_DESC, u,
	                                            LG_RAW_PROTOCOL, NULL);
	if (!g_listener.wsi)
		return -1;
	lws_set_opaque_user_data(g_listener.wsi, &g_listener);
	return 0;
}

static void listener_stop(void)
{
	if (g_listener.w)
		ev_timer_stop(g_listener.w->loop, &g_listener.resume);
	if (g_listener.wsi) {
		lws_set_opaque_user_data(g_listener.wsi, NULL);
		lws_set_timeout(g_listener.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		g_listener.wsi = NULL;   /* lws closes the fd with the wsi */
	}
}

/* On an event library lws sets its vhosts' protocols up from a timer after
 * the context exists (the poll loop does it before its first wait). A
 * socket adopted before that is bound to protocols[0] ("http"), whose
 * upgrade check is lws's dummy: no Origin check, no WebSocket protocol. A
 * restarted worker finds a full backlog, so accept only from here. */
void lg_worker_protocols_ready(struct lg_worker *w)
{
	if (g_listener.w || w->listen_fd < 0)
		return;   /* once */
	if (listener_start(w, w->listen_fd) < 0) {
		lg_log_msg(LG_LOG_ERROR, "worker", "could not watch the listener");
		w->failed = 1;
		ev_break(w->loop, EVBREAK_ALL);
	}
}

/* --- drain --------------------------------------------------------------- */

/* Closes connections with 1012 at an even pace over 80% of the drain
 * window (so the process is gone before the window ends and the clients'
 * reconnects are spread), then stops the loop once all are gone, or at
 * 95% of the window but never before the last close frames had
 * DRAIN_FLUSH_MS to go out (a window of 0 closes everyone at once, with a
 * 1012 each, not a reset). */
static void drain_step(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct lg_worker *w = lws_container_of(t, struct lg_worker, drain_timer);
	uint64_t elapsed_ms = (lg_now_ns() - w->drain_start_ns) / 1000000u;
	uint64_t window = (uint64_t)w->cfg->drain_ms * 8 / 10;
	uint64_t target = window ? (uint64_t)w->drain_total * elapsed_ms / window : w->drain_total;

	if (target > w->drain_total)
		target = w->drain_total;
	if (target > w->drain_sent)
		w->drain_sent += lg_ws_close_some(w, (unsigned)(target - w->drain_sent), 1012);
	if ((!w->conns && w->drain_sent >= w->drain_total) ||
	    (elapsed_ms >= (uint64_t)w->cfg->drain_ms * 95 / 100 &&
	     elapsed_ms >= window + DRAIN_FLUSH_MS)) {
		ev_break(w->loop, EVBREAK_ALL);
		return;
	}
	timer_arm(w, &w->drain_timer, DRAIN_TICK_MS);
}

static void drain_start(struct lg_worker *w)
{
	struct lg_logline l;

	if (w->draining)
		return;
	w->draining = 1;
	w->drain_start_ns = lg_now_ns();
	w->drain_total = w->n_conns;
	listener_stop();
	if (lg_log_begin(&l, LG_LOG_INFO, "drain_start")) {
		lg_log_int(&l, "connections", w->n_conns);
		lg_log_int(&l, "window_ms", w->cfg->drain_ms);
		lg_log_end(&l);
	}
	drain_step(w->loop, &w->drain_timer, 0);
}

/* --- signals -------------------------------------------------------------- */

static void reload_keys(struct lg_worker *w)
{
	struct lg_keyring *kr;
	char err[256];

	if (lg_keys_load(w->cfg, &kr, err, sizeof err) < 0) {
		lg_log_msg(LG_LOG_ERROR, "keys_reload_failed", err);
		return;
	}
	lg_keyring_free(w->keys);
	w->keys = kr;
	lg_log_msg(LG_LOG_INFO, "keys_reloaded", NULL);
}

static int signal_handle(struct lg_raw_source *src, struct lws *wsi, int reason)
{
	struct sigsrc *s = (struct sigsrc *)src;
	struct signalfd_siginfo si;

	(void)wsi;
	if (reason == LWS_CALLBACK_RAW_CLOSE_FILE) {
		s->fd = -1;
		return 0;
	}
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	while (read(s->fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGTERM)
			drain_start(s->w);
		else if (si.ssi_signo == SIGHUP && s->w->cfg->secrets_file)
			reload_keys(s->w);
	}
	return 0;
}

static int signals_start(struct lg_worker *w)
{
	sigset_t set;
	lws_sock_file_fd_type u;
	struct lws *wsi;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	g_sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (g_sig.fd < 0)
		return -1;
	g_sig.src.handle = signal_handle;
	g_sig.w = w;
	u.filefd = g_sig.fd;
	wsi = lws_adopt_descriptor_vhost(w->vh, LWS_ADOPT_RAW_FILE_DESC, u, LG_RAW_PROTOCOL, NULL);
	if (!wsi) {
		close(g_sig.fd);
		return -1;
	}
	lws_set_opaque_user_data(wsi, &g_sig);
	return 0;
}

/* --- Redis hooks ---------------------------------------------------------- */

static int hook_attach(void *loop, redisAsyncContext *ac)
{
	struct lg_worker *w = loop;
	return lg_redis_lws_attach(w->vh, ac);
}

static void redis_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct lg_worker *w = lws_container_of(t, struct lg_worker, redis_timer);

	ps_redis_timer(w->redis);
	/* Outside lws: let it service what this scheduled (a Redis wsi's
	 * async close) now rather than at its next event. */
	lws_cancel_service(w->ctx);
}

static void hook_arm_timer(void *loop, unsigned ms)
{
	struct lg_worker *w = loop;

	if (!ms)
		ev_timer_stop(w->loop, &w->redis_timer);
	else
		timer_arm(w, &w->redis_timer, ms);
}

static void hook_link_event(void *loop, enum ps_link_event ev, const char *detail,
                            unsigned retry_ms)
{
	struct lg_worker *w = loop;
	struct lg_logline l;
	int level = ev == PS_LINK_UP ? LG_LOG_INFO : ev == PS_LINK_DOWN ? LG_LOG_ERROR : LG_LOG_WARN;

	if (ev == PS_LINK_UP) {
		if (w->redis_ever_up)
			lg_add(&w->st->redis_reconnects, 1);
		w->redis_ever_up = 1;
		lg_set(&w->st->redis_up, 1);
	} else {
		lg_set(&w->st->redis_up, 0);
	}
	if (lg_log_begin(&l, level, ev == PS_LINK_UP ? "redis_up" :
	                            ev == PS_LINK_DOWN ? "redis_down" : "redis_retry")) {
		lg_log_str(&l, "host", w->cfg->redis.host);
		lg_log_int(&l, "port", w->cfg->redis.port);
		if (ev != PS_LINK_UP) {
			lg_log_str(&l, "reason", detail);
			lg_log_int(&l, "retry_ms", retry_ms);
		}
		lg_log_end(&l);
	}
}

static const struct ps_redis_hooks redis_hooks = { hook_attach, hook_arm_timer, hook_link_event };

/* --- the loop -------------------------------------------------------------- */

static void tick(lws_sorted_usec_list_t *sul)
{
	struct lg_worker *w = lws_container_of(sul, struct lg_worker, tick_sul);

	lg_ws_tick(w);
	lws_sul_schedule(w->ctx, 0, &w->tick_sul, tick, LWS_US_PER_SEC);
}

static const struct lws_protocols protocols[] = {
	{ "http", lg_http_callback, 0, 0, 0, NULL, 0 },
	{ "livegate", lg_ws_callback, 0 /* set at run */, LG_RX_BUFFER, 0, NULL, 16384 },
	{ LG_RAW_PROTOCOL, lg_raw_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void lws_log_to_ours(int level, const char *line)
{
	char buf[256];
	size_t n = strlen(line);

	if (n && line[n - 1] == '\n')
		n--;
	snprintf(buf, sizeof buf, "%.*s", (int)(n > 240 ? 240 : n), line);
	lg_log_msg(level == LLL_ERR ? LG_LOG_ERROR : LG_LOG_WARN, "lws", buf);
}

static int fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 20)
		return 1 << 20;
	return (int)rl.rlim_cur;
}

static int worker_setup(struct lg_worker *w, int listen_fd, struct lws_protocols *prot)
{
	static const struct lws_protocol_vhost_options pvo_default = { NULL, NULL, "default", "" };
	static const struct lws_protocol_vhost_options pvo = { NULL, &pvo_default, "livegate", "" };
	/* Validity pings off: lws re-arms them with an O(N) sorted insert; our
	 * own wheel pings instead. */
	static const lws_retry_bo_t no_validity = { .secs_since_valid_ping = 0,
	                                            .secs_since_valid_hangup = 0 };
	struct lws_context_creation_info info;
	struct ps_redis_params rp;
	static const struct ps_events events = { lg_ws_on_ready, lg_ws_on_message };
	char err[256];
	size_t max_chans;

	if (lg_keys_load(w->cfg, &w->keys, err, sizeof err) < 0) {
		lg_log_msg(LG_LOG_ERROR, "keys", err);
		return -1;
	}
	if (lg_http_script_init(w) < 0)
		return -1;
	/* Our loop, not lws's (foreign): we decide when it stops, and lws
	 * installs no signal watcher of its own (signals come by signalfd). */
	w->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	if (!w->loop) {
		lg_log_msg(LG_LOG_ERROR, "worker", "could not create an epoll loop");
		return -1;
	}
	ev_timer_init(&w->redis_timer, redis_timer, 0., 0.);
	ev_timer_init(&w->drain_timer, drain_step, 0., 0.);
	ev_timer_init(&g_listener.resume, accept_resume, 0., 0.);
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8 |
	               LWS_SERVER_OPTION_LIBEV;
	info.foreign_loops = (void **)&w->loop;
	info.timeout_secs = LG_HANDSHAKE_S;
	info.user = w;
	info.fd_limit_per_thread = (unsigned)fd_limit();
	w->fd_limit = (int)info.fd_limit_per_thread - LG_FD_RESERVE;
	w->ctx = lws_create_context(&info);
	if (!w->ctx) {
		lg_log_msg(LG_LOG_ERROR, "lws", "lws_create_context failed (is the package "
		           "libwebsockets-evlib-ev installed?)");
		return -1;
	}
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = prot;
	info.pvo = &pvo;
	info.vhost_name = "livegate";
	info.retry_and_idle_policy = &no_validity;
	info.max_http_header_data = 8192;
	info.max_http_header_pool = LG_HANDSHAKES_MAX;
	/* lws's default of 10 s for a socket holding a header table is long
	 * when LG_HANDSHAKES_MAX of them are all a worker takes at once. */
	info.timeout_secs_ah_idle = LG_HANDSHAKE_S;
	info.user = w;
	w->vh = lws_create_vhost(w->ctx, &info);
	if (!w->vh) {
		lg_log_msg(LG_LOG_ERROR, "lws", "lws_create_vhost failed");
		return -1;
	}
	max_chans = (size_t)w->cfg->max_connections * LG_TOKEN_MAX_CHANNELS;
	w->reg = ps_registry_new(&events, w, max_chans > (1u << 20) ? (1u << 20) : max_chans);
	memset(&rp, 0, sizeof rp);
	rp.url = w->cfg->redis;
	rp.prefix = w->cfg->channel_prefix;
	rp.connect_timeout_ms = 5000;
	rp.heartbeat_ms = 2000;   /* a hang is noticed within 2-4 s */
	rp.backoff_base_ms = 200;
	rp.backoff_cap_ms = 10000;
	w->redis = w->reg ? ps_redis_new(&rp, w->reg, &redis_hooks, w) : NULL;
	if (!w->redis) {
		lg_log_msg(LG_LOG_ERROR, "worker", "out of memory creating the registry");
		return -1;
	}
	/* The listener starts from the protocols' init (lg_worker_protocols_ready). */
	w->listen_fd = listen_fd;
	if (signals_start(w) < 0) {
		lg_log_msg(LG_LOG_ERROR, "worker", "could not watch signals");
		return -1;
	}
	lg_wheel_init(&w->wheel, 0);
	ps_redis_start(w->redis);
	lws_sul_schedule(w->ctx, 0, &w->tick_sul, tick, LWS_US_PER_SEC);
	/* On an event library lws arms its timer only when it has serviced an
	 * event: wake it once so the timers above start without waiting for
	 * traffic. */
	lws_cancel_service(w->ctx);
	return 0;
}

int lg_worker_run(const struct lg_config *cfg, struct lg_shared *shm, int index,
                  int listen_fd)
{
	static struct lg_worker w;
	struct lws_protocols prot[4];
	char name[32];
	int rc = 0;

	snprintf(name, sizeof name, "worker-%d", index + 1);
	lg_log_setup(cfg->log_level, cfg->log_format == LG_LOG_JSON, name);
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_to_ours);
	signal(SIGPIPE, SIG_IGN);
	/* Forked workers share the parent's random state: reseed, or their
	 * backoff jitter would be identical. */
	srandom((unsigned)getpid() ^ (unsigned)lg_now_ns());
	memcpy(prot, protocols, sizeof prot);
	prot[1].per_session_data_size = lg_ws_conn_size();
	w.cfg = cfg;
	w.shm = shm;
	w.index = index;
	w.st = &shm->w[index];
	w.mono0_ns = lg_now_ns();
	atomic_store(&w.st->pid, (int)getpid());
	w.listen_fd = -1;
	if (worker_setup(&w, listen_fd, prot) < 0) {
		rc = 1;
	} else {
		lg_log_msg(LG_LOG_INFO, "worker_ready", NULL);
		ev_run(w.loop, 0);
		if (w.failed)
			rc = 1;
	}
	/* Teardown order: connections close with the context (leaving the
	 * registry), then the Redis link, then the registry. */
	if (w.ctx)
		lws_sul_cancel(&w.tick_sul);
	if (w.loop) {
		ev_timer_stop(w.loop, &w.drain_timer);
		ev_timer_stop(w.loop, &w.redis_timer);
		ev_timer_stop(w.loop, &g_listener.resume);
	}
	if (w.redis)
		ps_redis_free(w.redis);
	w.redis = NULL;
	if (w.ctx)
		lws_context_destroy(w.ctx);
	if (w.loop)
		ev_loop_destroy(w.loop);
	ps_registry_free(w.reg);
	lg_keyring_free(w.keys);
	free(w.script);
	lg_metrics_worker_gone(w.st);
	lg_log_msg(LG_LOG_INFO, "worker_exit", NULL);
	return rc;
}
