/* common/listen.h - the listening sockets of both listeners: bound by
 * livegate itself so that a failure is one line naming the setting. */
#ifndef LG_COMMON_LISTEN_H
#define LG_COMMON_LISTEN_H

#include <stddef.h>

#include "config.h"

/* Returns a listening socket on a (close-on-exec, SO_REUSEADDR), or -1 with
 * err "<var>: cannot listen on <addr>: <reason>". With shared, the socket
 * also has SO_REUSEPORT and is non-blocking: each worker gets its own
 * socket, and so its own accept queue, on the same port. */
int lg_listen(const struct lg_addr *a, const char *var, int shared, int backlog,
              char *err, size_t errlen);

/* Returns 0 when nothing listens on a, else -1 with err naming var. Run
 * before binding shared sockets: SO_REUSEPORT would otherwise let a second
 * livegate (or any process of the same user that sets it) share the port
 * and take a share of the connections. The probe binds without
 * SO_REUSEPORT, which the kernel refuses while any socket listens there. */
int lg_listen_check_free(const struct lg_addr *a, const char *var, char *err, size_t errlen);

#endif
