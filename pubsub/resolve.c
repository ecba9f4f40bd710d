/* pubsub/resolve.c - getaddrinfo off the loop, answered through an eventfd.
 *
 * A request is shared by the loop and its thread: two references, dropped
 * by whichever side finishes with it; the last one frees the request and
 * closes the eventfd. An eventfd rather than a pipe: writing to one whose
 * reader has gone raises no SIGPIPE.
 */
#include "resolve.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* getaddrinfo with NSS modules wants more than a minimal stack. */
#define THREAD_STACK (256 * 1024)

struct ps_resolve {
	atomic_int       refs;
	int              efd;
	void            *io;
	struct ps_loop   loop;
	ps_resolve_cb   *cb;
	void            *arg;
	char             host[256];
	char             port[8];
	/* written by the thread before it signals the eventfd */
	struct addrinfo *res;
	int              rc;
};

static atomic_int running;

int ps_resolve_threads(void)
{
	return atomic_load(&running);
}

static void unref(struct ps_resolve *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	if (r->res)
		freeaddrinfo(r->res);
	close(r->efd);
	free(r);
}

static void hints_for(struct addrinfo *h, int numeric)
{
	memset(h, 0, sizeof *h);
	h->ai_family = AF_UNSPEC;
	h->ai_socktype = SOCK_STREAM;
	/* No AI_ADDRCONFIG: with loopback only (a container next to its
	 * Redis) it would refuse "localhost". Every address is tried in turn. */
	h->ai_flags = AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0);
}

static void *resolve_thread(void *p)
{
	struct ps_resolve *r = p;
	struct addrinfo hints;
	uint64_t one = 1;

	hints_for(&hints, 0);
	r->rc = getaddrinfo(r->host, r->port, &hints, &r->res);
	/* The eventfd write publishes res and rc to the loop thread. */
	if (write(r->efd, &one, sizeof one) < 0)
		perror("resolver eventfd");   /* cannot happen with a live eventfd */
	atomic_fetch_sub(&running, 1);
	unref(r);
	return NULL;
}

static void on_answer(void *arg, int revents)
{
	struct ps_resolve *r = arg;
	uint64_t v;
	char why[400];

	(void)revents;
	if (read(r->efd, &v, sizeof v) != sizeof v)
		return;   /* spurious wake-up: the thread has not written yet */
	r->loop.ops->io_free(r->loop.loop, r->io);
	r->io = NULL;
	if (r->rc != 0) {
		snprintf(why, sizeof why, "resolving %s: %s", r->host, gai_strerror(r->rc));
		r->cb(r->arg, NULL, why);
	} else {
		r->cb(r->arg, r->res, NULL);
	}
	unref(r);
}

/* Resolves a numeric host at once. Returns 1 if host was numeric. */
static int numeric(const char *host, int port, ps_resolve_cb *cb, void *arg)
{
	struct addrinfo hints, *res = NULL;
	char ps[8];

	hints_for(&hints, 1);
	snprintf(ps, sizeof ps, "%d", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return 0;
	cb(arg, res, NULL);
	freeaddrinfo(res);
	return 1;
}

struct ps_resolve *ps_resolve_start(const struct ps_loop *loop, const char *host, int port,
                                    ps_resolve_cb *cb, void *arg)
{
	struct ps_resolve *r;
	pthread_attr_t attr;
	pthread_t tid;
	char why[160];
	int rc;

	if (numeric(host, port, cb, arg))
		return NULL;
	if (strlen(host) >= sizeof r->host) {
		cb(arg, NULL, "host name too long");
		return NULL;
	}
	if (atomic_fetch_add(&running, 1) >= PS_RESOLVE_THREADS) {
		atomic_fetch_sub(&running, 1);
		snprintf(why, sizeof why, "resolving %s: resolver busy (%d lookups running)",
		         host, PS_RESOLVE_THREADS);
		cb(arg, NULL, why);
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (!r)
		goto fail_count;
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0)
		goto fail_free;
	r->loop = *loop;
	r->cb = cb;
	r->arg = arg;
	snprintf(r->host, sizeof r->host, "%s", host);
	snprintf(r->port, sizeof r->port, "%d", port);
	atomic_init(&r->refs, 2);
	r->io = loop->ops->io_new(loop->loop, r->efd, on_answer, r);
	if (!r->io)
		goto fail_close;
	loop->ops->io_set(loop->loop, r->io, PS_IO_READ);
	if (pthread_attr_init(&attr) != 0)
		goto fail_io;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	rc = pthread_create(&tid, &attr, resolve_thread, r);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		goto fail_io;
	return r;
fail_io:
	loop->ops->io_free(loop->loop, r->io);
fail_close:
	close(r->efd);
fail_free:
	free(r);
fail_count:
	atomic_fetch_sub(&running, 1);
	snprintf(why, sizeof why, "resolving %s: cannot start a resolver", host);
	cb(arg, NULL, why);
	return NULL;
}

void ps_resolve_cancel(struct ps_resolve *r)
{
	if (!r)
		return;
	if (r->io)
		r->loop.ops->io_free(r->loop.loop, r->io);
	r->io = NULL;
	unref(r);
}
