/* pubsub/conn_net.c - one Redis connection, its transport side: the name
 * resolved off the loop, each address tried with a non-blocking connect,
 * TLS, bytes read (a budget per wake-up) and written (the write buffer,
 * behind the handshake's allowance), and liveness: any byte read is life,
 * a quiet link is sent a PING, and only a link quiet after that with
 * nothing unread in its socket is dead.
 */
#include "conn_int.h"
#include "clock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>

#define READ_CHUNK   16384
#define READ_BUDGET  (64 * 1024)    /* per wake-up, so the owner's other work */
                                    /* gets its turn; the loop calls again */

static void on_io(void *arg, int revents);

void rconn_close_socket(struct ps_conn *c)
{
	if (c->io) {
		c->loop.ops->io_free(c->loop.loop, c->io);
		c->io = NULL;
		c->io_events = 0;
	}
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

/* A TLS write failed: the server has usually said why in an alert (a
 * client certificate it wants, say) that a read picks up. */
static void tls_write_failed(struct ps_conn *c, int e)
{
	char buf[256], why[200];
	int saved = errno;

	ERR_clear_error();
	(void)SSL_read(c->ssl, buf, sizeof buf);
	ps_tls_why(c->ssl, why, sizeof why);
	if (!strcmp(why, "TLS handshake failed"))   /* nothing better than errno */
		snprintf(why, sizeof why, "%s", e == SSL_ERROR_SYSCALL && saved ? strerror(saved)
		                                                               : "write failed");
	rconn_fail(c, PS_CONN_IO, "TLS write to %s: %s", c->name, why);
}

/* Writes what may be written. Returns 0, or -1 after failing c. */
int rconn_flush(struct ps_conn *c)
{
	while (rconn_writable_now(c)) {
		size_t n = rconn_writable_now(c);
		ssize_t w;

		if (n > INT32_MAX)
			n = INT32_MAX;
		if (c->ssl) {
			int r;
			ERR_clear_error();
			r = SSL_write(c->ssl, c->wbuf + c->wpos, (int)n);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					break;
				tls_write_failed(c, e);
				return -1;
			}
			w = r;
		} else {
			w = send(c->fd, c->wbuf + c->wpos, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				rconn_fail(c, PS_CONN_IO, "write to %s: %s", c->name, strerror(errno));
				return -1;
			}
		}
		c->wpos += (size_t)w;
		if (c->wallow != NO_LIMIT)
			c->wallow -= (size_t)w;
	}
	if (c->wpos == c->wlen) {
		c->wpos = c->wlen = 0;
		if (c->wallow != NO_LIMIT)
			c->wallow = 0;
	}
	rconn_want_events(c);
	return 0;
}

/* Reads what the socket holds, up to a budget. Returns 0, or -1 after
 * failing c. */
static int read_some(struct ps_conn *c)
{
	char buf[READ_CHUNK];
	size_t budget = READ_BUDGET;

	/* TLS keeps decrypted bytes the poller cannot see: drain those too. */
	while (budget > 0 || (c->ssl && SSL_pending(c->ssl) > 0)) {
		ssize_t n;

		if (c->ssl) {
			int r;
			ERR_clear_error();
			r = SSL_read(c->ssl, buf, sizeof buf);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return 0;
				if (e == SSL_ERROR_ZERO_RETURN) {
					rconn_fail(c, PS_CONN_EOF, "%s closed the connection", c->name);
				} else {
					char why[200];
					ps_tls_why(c->ssl, why, sizeof why);
					rconn_fail(c, e == SSL_ERROR_SYSCALL ? PS_CONN_EOF : PS_CONN_IO,
					          "TLS read from %s: %s", c->name,
					          e == SSL_ERROR_SYSCALL ? "connection closed" : why);
				}
				return -1;
			}
			n = r;
		} else {
			n = recv(c->fd, buf, sizeof buf, 0);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return 0;
				rconn_fail(c, PS_CONN_IO, "read from %s: %s", c->name, strerror(errno));
				return -1;
			}
			if (n == 0) {
				rconn_fail(c, PS_CONN_EOF, "%s closed the connection", c->name);
				return -1;
			}
		}
		c->last_rx = ps_mono_ms();
		budget = (size_t)n < budget ? budget - (size_t)n : 0;
		if (ps_reader_feed(c->reader, buf, (size_t)n) < 0) {
			rconn_fail(c, PS_CONN_OOM, "reading from %s: out of memory", c->name);
			return -1;
		}
		for (;;) {
			redisReply *r;
			int rc = ps_reader_next(c->reader, &r);
			if (rc == 0)
				break;
			if (rc < 0) {
				rconn_fail(c, PS_CONN_PROTOCOL, "from %s: %s", c->name, ps_reader_error(c->reader));
				return -1;
			}
			rconn_dispatch(c, r);
			freeReplyObject(r);
			if (rconn_gone(c))
				return -1;
		}
	}
	return 0;
}

static void tls_step(struct ps_conn *c)
{
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		rconn_connected(c);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		rconn_set_io(c, PS_IO_READ);
	} else if (e == SSL_ERROR_WANT_WRITE) {
		rconn_set_io(c, PS_IO_WRITE);
	} else {
		char why[200];
		ps_tls_why(c->ssl, why, sizeof why);
		if (e == SSL_ERROR_SYSCALL && !strcmp(why, "TLS handshake failed"))
			snprintf(why, sizeof why, "connection closed during the TLS handshake");
		rconn_fail(c, PS_CONN_TLS, "TLS with %s: %s", c->name, why);
	}
}

static void start_tls(struct ps_conn *c)
{
	char err[200];

	c->ssl = ps_tls_session(c->p.tls, c->fd, c->host, err, sizeof err);
	if (!c->ssl) {
		rconn_fail(c, PS_CONN_TLS, "TLS with %s: %s", c->name, err);
		return;
	}
	c->state = ST_TLS;
	tls_step(c);
}

static void tcp_up(struct ps_conn *c)
{
	int one = 1;

	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	(void)setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	if (c->p.tls)
		start_tls(c);
	else
		rconn_connected(c);
}

/* Tries the addresses from addr_i on until one connects or is in progress. */
static void try_next(struct ps_conn *c)
{
	while (c->addr_i < c->naddrs) {
		struct sockaddr_storage *sa = &c->addrs[c->addr_i];
		socklen_t len = c->alens[c->addr_i++];
		int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			snprintf(c->why, sizeof c->why, "socket: %s", strerror(errno));
			continue;
		}
		c->fd = fd;
		c->io = c->loop.ops->io_new(c->loop.loop, fd, on_io, c);
		if (!c->io) {
			rconn_close_socket(c);
			rconn_fail(c, PS_CONN_OOM, "connect %s: out of memory", c->name);
			return;
		}
		if (connect(fd, (struct sockaddr *)sa, len) == 0) {
			tcp_up(c);
			return;
		}
		if (errno == EINPROGRESS) {
			c->state = ST_CONNECTING;
			rconn_want_events(c);
			return;
		}
		snprintf(c->why, sizeof c->why, "%s", strerror(errno));
		rconn_close_socket(c);
	}
	rconn_fail(c, PS_CONN_CONNECT, "connect %s: %s", c->name, c->why[0] ? c->why : "no address");
}

static void connect_done(struct ps_conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0) {
		tcp_up(c);
		return;
	}
	snprintf(c->why, sizeof c->why, "%s", strerror(err));
	rconn_close_socket(c);
	try_next(c);
}

static void on_resolved(void *arg, const struct addrinfo *res, const char *why)
{
	struct ps_conn *c = arg;

	rconn_enter(c);
	c->res = NULL;
	if (!res) {
		rconn_fail(c, PS_CONN_RESOLVE, "%s", why);
	} else {
		for (const struct addrinfo *a = res; a && c->naddrs < MAX_ADDRS; a = a->ai_next) {
			if (a->ai_addrlen > sizeof c->addrs[0])
				continue;
			memcpy(&c->addrs[c->naddrs], a->ai_addr, a->ai_addrlen);
			c->alens[c->naddrs++] = a->ai_addrlen;
		}
		try_next(c);
	}
	rconn_leave(c);
}

static void on_io(void *arg, int revents)
{
	struct ps_conn *c = arg;

	rconn_enter(c);
	switch (c->state) {
	case ST_CONNECTING:
		connect_done(c);
		break;
	case ST_TLS:
		tls_step(c);
		break;
	case ST_HANDSHAKE:
	case ST_READY:
		if ((revents & PS_IO_READ) && read_some(c) < 0)
			break;
		if (!rconn_gone(c))
			rconn_flush(c);
		break;
	default:
		break;
	}
	rconn_leave(c);
}

/* Returns 1 if the socket holds bytes not read yet. */
static int unread_bytes(const struct ps_conn *c)
{
	int n = 0;

	if (c->ssl && SSL_pending(c->ssl) > 0)
		return 1;
	return ioctl(c->fd, FIONREAD, &n) == 0 && n > 0;
}

static void on_pong(void *arg, struct ps_conn *c, const redisReply *r)
{
	(void)arg;
	(void)r;
	c->ping_out = 0;
}

void rconn_liveness(struct ps_conn *c)
{
	int64_t now = ps_mono_ms(), quiet = now - c->last_rx;
	const char *ping[] = { "PING" };
	const size_t ping_len[] = { 4 };

	if (quiet < (int64_t)c->p.idle_ms) {
		rconn_arm(c, (unsigned)(c->p.idle_ms - quiet));
		return;
	}
	if (!c->ping_out) {
		struct entry e = { on_pong, NULL, 0, PS_PUSH_NONE };
		if (rconn_queue(c, &e, 1, ping, ping_len) < 0) {
			rconn_fail(c, PS_CONN_OOM, "PING to %s: out of memory", c->name);
			return;
		}
		c->ping_out = 1;
		c->ping_at = now;
		rconn_arm(c, c->p.dead_ms);
		rconn_flush(c);
		return;
	}
	if (now - c->ping_at < (int64_t)c->p.dead_ms) {
		rconn_arm(c, (unsigned)(c->p.dead_ms - (now - c->ping_at)));
		return;
	}
	if (unread_bytes(c)) {   /* the answer waits behind what we have not read */
		rconn_arm(c, c->p.dead_ms);
		return;
	}
	rconn_fail(c, PS_CONN_DEAD, "%s read nothing for %lld ms and did not answer PING",
	          c->name, (long long)quiet);
}

void rconn_start_liveness(struct ps_conn *c)
{
	c->ping_out = 0;
	if (c->p.idle_ms)
		rconn_arm(c, c->p.idle_ms);
	else
		c->loop.ops->timer_stop(c->loop.loop, c->timer);
}

void rconn_start(struct ps_conn *c)
{
	rconn_arm(c, c->p.connect_timeout_ms);
	c->state = ST_RESOLVING;
	/* A numeric host answers at once, from inside this call. */
	c->res = ps_resolve_start(&c->loop, c->host, c->p.port, on_resolved, c);
}
