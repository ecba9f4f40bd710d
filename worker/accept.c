/* worker/accept.c - the listening socket (see accept.h). */
#include "accept.h"
#include "conn.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPTS_PER_WAKEUP 256   /* keeps one burst from starving the loop */
#define ACCEPT_PAUSE_MS    250   /* after EMFILE: let closes free fds */

/* One listener per worker process. */
static struct listener {
	struct lg_worker *w;
	ev_io             io;
	ev_timer          resume;
	int               err_pause;   /* after EMFILE and the like */
	int               full;        /* LG_HANDSHAKES_MAX in progress */
	int               stopped;
} L;

/* Polls the listener unless a pause reason holds. */
static void update(void)
{
	int on = !L.err_pause && !L.full && !L.stopped;

	if (on && !ev_is_active(&L.io))
		ev_io_start(L.w->loop, &L.io);
	else if (!on && ev_is_active(&L.io))
		ev_io_stop(L.w->loop, &L.io);
}

static void on_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	L.err_pause = 0;
	update();
}

void accept_resume_if_room(struct lg_worker *w)
{
	if (L.full && w->handshaking < LG_HANDSHAKES_MAX) {
		L.full = 0;
		update();
	}
}

/* A modest send buffer, so one slow reader cannot pin megabytes of kernel
 * memory, and no Nagle delay on small frames. */
static void tune_socket(int fd)
{
	int sndbuf = LG_SNDBUF, one = 1;

	/* Best effort: the connection works with kernel defaults too. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct lg_worker *w = L.w;

	(void)loop;
	(void)revents;
	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		int fd;

		if (w->handshaking >= LG_HANDSHAKES_MAX) {
			L.full = 1;
			update();
			return;
		}
		fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EMFILE and the like: stop polling the listener for a while
			 * instead of spinning on a connection we cannot take. */
			lg_log_msg(LG_LOG_WARN, "accept_paused", strerror(errno));
			L.err_pause = 1;
			update();
			lg_timer_arm(w->loop, &L.resume, ACCEPT_PAUSE_MS);
			return;
		}
		if (fd >= w->fd_limit) {
			/* Near the open-file limit: refuse rather than starve Redis. */
			close(fd);
			lg_add(&w->st->over_capacity, 1);
			continue;
		}
		tune_socket(fd);
		(void)conn_new(w, fd);   /* closes fd when out of memory */
	}
}

int accept_start(struct lg_worker *w, int fd)
{
	L.w = w;
	ev_io_init(&L.io, on_accept, fd, EV_READ);
	ev_timer_init(&L.resume, on_resume, 0., 0.);
	update();
	return 0;
}

void accept_stop(struct lg_worker *w)
{
	if (!L.w)
		return;
	L.stopped = 1;
	update();
	ev_timer_stop(w->loop, &L.resume);
	if (L.io.fd >= 0) {
		close(L.io.fd);
		L.io.fd = -1;
	}
}
