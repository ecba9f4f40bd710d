/* pubsub/conn.h - one Redis connection of livegate's own, on the owner's
 * loop (loop.h): resolve without blocking, non-blocking TCP connect (each
 * address in turn), TLS, AUTH and SELECT, then commands whose replies come
 * back to per-command callbacks in FIFO order, and pub/sub pushes.
 *
 * A connection is one attempt: it becomes ready once, and when it fails it
 * reports why once (closed) and does nothing more; the owner frees it and,
 * if it wants, makes a new one. Nothing is reported from inside ps_conn_new
 * or ps_conn_command: work starts on the loop.
 *
 * Liveness: any byte read is life. Only a link quiet for idle_ms is sent a
 * PING (answered in subscribed mode too), and only a link that then stays
 * quiet for dead_ms more, with nothing waiting unread in its socket, is
 * declared dead: a busy owner that has not read yet is not a dead server.
 *
 * Bounds: the bytes of commands not yet written, the commands waiting for
 * a reply, the bytes of one reply and the elements of one array.
 */
#ifndef LG_PUBSUB_CONN_H
#define LG_PUBSUB_CONN_H

#include <stddef.h>
#include <hiredis/hiredis.h>

#include "loop.h"
#include "resp.h"
#include "tls.h"

struct ps_conn;

struct ps_conn_params {
	const char    *host;               /* name or IP literal; copied       */
	int            port;
	const char    *user, *password;    /* NULL or "": none; copied          */
	int            db;                 /* > 0: SELECT db after AUTH         */
	struct ps_tls *tls;                /* NULL: plain TCP; referenced       */
	int            auth_optional;      /* an AUTH refusal is not an error  */
	                                   /* (sentinels often have no password) */
	unsigned       connect_timeout_ms; /* resolve + connect + TLS + AUTH    */
	unsigned       idle_ms;            /* quiet this long: PING (0: never)  */
	unsigned       dead_ms;            /* then quiet this long more: dead   */
	size_t         max_wbuf;           /* bytes of commands not yet written */
	size_t         max_inflight;       /* commands waiting for a reply      */
	size_t         max_reply;          /* bytes of one reply                */
};

/* Defaults for the limits and times left 0 in p. */
void ps_conn_defaults(struct ps_conn_params *p);

enum ps_conn_fail {
	PS_CONN_RESOLVE = 1,   /* the name did not resolve                    */
	PS_CONN_CONNECT,       /* no address accepted the TCP connection      */
	PS_CONN_TLS,           /* handshake or certificate verification       */
	PS_CONN_AUTH,          /* AUTH refused, or the server wants a password */
	PS_CONN_SETUP,         /* SELECT refused                              */
	PS_CONN_TIMEOUT,       /* the connect timeout passed                  */
	PS_CONN_EOF,           /* the server closed the connection            */
	PS_CONN_IO,            /* a read or write error                       */
	PS_CONN_PROTOCOL,      /* unparsable or unexpected bytes, a bound     */
	PS_CONN_DEAD,          /* the liveness check failed                   */
	PS_CONN_OOM,
};

/* A short name of why ("auth", "timeout", ...) for logs and metrics. */
const char *ps_conn_fail_name(enum ps_conn_fail why);

/* ready, push and room may be NULL. */
struct ps_conn_events {
	/* Connected, TLS verified, AUTH and SELECT accepted. */
	void (*ready)(void *owner, struct ps_conn *c);
	/* A message, or a confirmation no command took: solicited is 0 for a
	 * push the server sent unasked (sunsubscribe on a slot migration). */
	void (*push)(void *owner, struct ps_conn *c, const struct ps_push *p, int solicited);
	/* The connection failed or was lost; detail says why (never a
	 * password). Commands still waiting got their NULL reply before. */
	void (*closed)(void *owner, struct ps_conn *c, enum ps_conn_fail why, const char *detail);
	/* A command was refused as full and there is room again. */
	void (*room)(void *owner, struct ps_conn *c);
};

/* A reply to one command: an ordinary reply, or for a (p|s)(un)subscribe
 * command its confirmation push or error. NULL when the connection closed
 * first. The reply is freed after the call. */
typedef void ps_reply_fn(void *arg, struct ps_conn *c, const redisReply *reply);

/* Starts connecting. Returns the connection, or NULL when out of memory. */
struct ps_conn *ps_conn_new(const struct ps_loop *loop, const struct ps_conn_params *p,
                            const struct ps_conn_events *ev, void *owner);

enum { PS_CMD_QUEUED = 0, PS_CMD_FULL = 1, PS_CMD_FAILED = -1 };

/* Queues a command (written once the connection is ready). A subscribe-
 * family command names exactly one channel or pattern. cb may be NULL.
 * Returns PS_CMD_QUEUED; PS_CMD_FULL at a bound (room follows); or
 * PS_CMD_FAILED (closed, out of memory, a bad command). */
int ps_conn_command(struct ps_conn *c, ps_reply_fn *cb, void *arg,
                    int argc, const char **argv, const size_t *lens);

/* Closes and frees c (callable from inside its callbacks); nothing is
 * reported after, not even NULL replies. NULL is a no-op. */
void ps_conn_free(struct ps_conn *c);

int ps_conn_is_ready(const struct ps_conn *c);

/* "host:port" of the connection, for logs. */
const char *ps_conn_name(const struct ps_conn *c);
const char *ps_conn_host(const struct ps_conn *c);
int ps_conn_port(const struct ps_conn *c);

/* Commands waiting for a reply. */
size_t ps_conn_inflight(const struct ps_conn *c);

/* Where the connection is: "resolving the name", "TCP connect", "TLS
 * handshake", "AUTH/SELECT", "connected" or "failed" (for timeouts). */
const char *ps_conn_stage(const struct ps_conn *c);

/* The owner given to ps_conn_new. */
void *ps_conn_owner(const struct ps_conn *c);

#endif
