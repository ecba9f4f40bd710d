/* worker/drain.c - signals and the drain (see drain.h). */
#include "drain.h"
#include "accept.h"
#include "keys.h"
#include "log.h"
#include "session.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define DRAIN_TICK_MS  20
#define DRAIN_FLUSH_MS 1000  /* after the last close request: time for the
                                close frames to go out (main's kill comes
                                2 s after the window) */

static struct {
	ev_io    sig;
	ev_timer step;
	uint64_t start_ns;
	unsigned total, sent;
} D = { .sig = { .fd = -1 } };

/* Closes sessions with 1012 at an even pace over 80% of the drain window
 * (so the process is gone before the window ends and the clients'
 * reconnects are spread), then stops the loop once all are gone, or at 95%
 * of the window but never before the last close frames had DRAIN_FLUSH_MS
 * to go out (a window of 0 closes everyone at once, with a 1012 each, not
 * a reset). */
static void step(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct lg_worker *w = (struct lg_worker *)t->data;
	uint64_t elapsed_ms = (lg_now_ns() - D.start_ns) / 1000000u;
	uint64_t window = (uint64_t)w->cfg->drain_ms * 8 / 10;
	uint64_t target = window ? (uint64_t)D.total * elapsed_ms / window : D.total;

	(void)revents;
	if (target > D.total)
		target = D.total;
	if (target > D.sent)
		D.sent += session_close_some(w, (unsigned)(target - D.sent), 1012);
	if ((!w->n_sessions && D.sent >= D.total) ||
	    (elapsed_ms >= (uint64_t)w->cfg->drain_ms * 95 / 100 &&
	     elapsed_ms >= window + DRAIN_FLUSH_MS)) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	lg_timer_arm(loop, &D.step, DRAIN_TICK_MS);
}

static void drain_start(struct lg_worker *w)
{
	struct lg_logline l;

	if (w->draining)
		return;
	w->draining = 1;
	D.start_ns = lg_now_ns();
	D.total = w->n_sessions;
	accept_stop(w);
	if (lg_log_begin(&l, LG_LOG_INFO, "drain_start")) {
		lg_log_int(&l, "connections", w->n_sessions);
		lg_log_int(&l, "window_ms", w->cfg->drain_ms);
		lg_log_end(&l);
	}
	step(w->loop, &D.step, 0);
}

static void on_signal(struct ev_loop *loop, ev_io *io, int revents)
{
	struct lg_worker *w = io->data;
	struct signalfd_siginfo si;

	(void)loop;
	(void)revents;
	while (read(io->fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGTERM) {
			drain_start(w);
		} else if (si.ssi_signo == SIGHUP && w->cfg->secrets_file) {
			struct lg_keyring *kr = lg_keys_reload(w->cfg);
			if (kr) {
				lg_keyring_free(w->keys);
				w->keys = kr;
			}
		}
	}
}

int drain_signals_start(struct lg_worker *w)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	ev_io_init(&D.sig, on_signal, fd, EV_READ);
	D.sig.data = w;
	ev_io_start(w->loop, &D.sig);
	ev_timer_init(&D.step, step, 0., 0.);
	D.step.data = w;
	return 0;
}

void drain_stop(struct lg_worker *w)
{
	ev_timer_stop(w->loop, &D.step);
	if (D.sig.fd >= 0) {
		ev_io_stop(w->loop, &D.sig);
		close(D.sig.fd);
		D.sig.fd = -1;
	}
}
