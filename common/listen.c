/* common/listen.c - binding the listeners (see listen.h). */
#include "listen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Writes the one line for a failed bind or listen of a. */
static void bind_error(const struct lg_addr *a, const char *var, int e, char *err, size_t n)
{
	if (e == EADDRINUSE)
		snprintf(err, n, "%s: cannot listen on %s: address already in use by another process "
		         "(another livegate?)", var, a->text);
	else
		snprintf(err, n, "%s: cannot listen on %s: %s", var, a->text, strerror(e));
}

int lg_listen(const struct lg_addr *a, const char *var, int shared, int backlog,
              char *err, size_t errlen)
{
	int one = 1, e;
	int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (shared ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", var, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (shared && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
	    bind(fd, (const struct sockaddr *)&a->sa, a->len) < 0 || listen(fd, backlog) < 0) {
		e = errno;
		close(fd);
		bind_error(a, var, e, err, errlen);
		return -1;
	}
	return fd;
}

int lg_listen_check_free(const struct lg_addr *a, const char *var, char *err, size_t errlen)
{
	int one = 1, e;
	int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", var, strerror(errno));
		return -1;
	}
	/* SO_REUSEADDR: a connection of a previous run left in TIME_WAIT does
	 * not count as "in use"; a listening socket still does. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (const struct sockaddr *)&a->sa, a->len) < 0) {
		e = errno;
		close(fd);
		bind_error(a, var, e, err, errlen);
		return -1;
	}
	close(fd);   /* never listened: leaves nothing behind */
	return 0;
}
