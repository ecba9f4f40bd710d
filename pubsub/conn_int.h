/* pubsub/conn_int.h - what conn.c (the protocol: commands, replies,
 * handshake, life cycle) and conn_net.c (the transport: resolving,
 * connecting, TLS, reading and writing bytes, liveness) share. Not for
 * callers: they have conn.h. */
#ifndef LG_PUBSUB_CONN_INT_H
#define LG_PUBSUB_CONN_INT_H

#include <stdint.h>
#include <sys/socket.h>

#include "conn.h"
#include "redis_url.h"
#include "resolve.h"

#define MAX_ADDRS    8
#define NO_LIMIT     SIZE_MAX

enum state { ST_START, ST_RESOLVING, ST_CONNECTING, ST_TLS, ST_HANDSHAKE, ST_READY, ST_FAILED };

struct entry {
	ps_reply_fn      *cb;
	void             *arg;
	uint64_t          hash;     /* of the channel, for a subscribe-family command */
	enum ps_push_kind expect;   /* its confirmation kind, or NONE              */
};

struct ps_conn {
	struct ps_loop               loop;
	struct ps_conn_params        p;
	char                        *host, *user, *password;
	const struct ps_conn_events *ev;
	void                        *owner;
	enum state                   state;
	int                          fd;
	void                        *io;
	int                          io_events;
	void                        *timer;
	struct ps_resolve           *res;
	struct sockaddr_storage      addrs[MAX_ADDRS];
	socklen_t                    alens[MAX_ADDRS];
	int                          naddrs, addr_i;
	SSL                         *ssl;
	struct ps_reader            *reader;
	char                        *wbuf;
	size_t                       wlen, wpos, wcap;
	size_t                       wallow;      /* bytes from wpos the writer may send */
	struct entry                *q;           /* ring of commands awaiting replies */
	size_t                       qcap, qhead, qlen;
	int                          hs_pending;  /* handshake replies awaited */
	int64_t                      last_rx, ping_at;
	int                          ping_out;
	int                          depth, freed, want_room;
	char                         name[PS_REDIS_HOST_MAX + 16];
	char                         why[256];    /* the last connect error */
};

/* --- conn.c ----------------------------------------------------------------- */

void rconn_set_io(struct ps_conn *c, int events);
void rconn_arm(struct ps_conn *c, unsigned ms);
void rconn_enter(struct ps_conn *c);
/* Leaves an entry from the loop; returns 1 if c is gone (freed). */
int rconn_leave(struct ps_conn *c);
/* 1 once c failed or was freed: stop touching it. */
int rconn_gone(const struct ps_conn *c);
/* Fails the connection once: NULL replies to what waits, then closed. */
void rconn_fail(struct ps_conn *c, enum ps_conn_fail why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Bytes the writer may send now. */
size_t rconn_writable_now(const struct ps_conn *c);
/* Watches the events the state needs. */
void rconn_want_events(struct ps_conn *c);
/* Encodes and queues a command; limits are the caller's business. */
int rconn_queue(struct ps_conn *c, const struct entry *e, int argc, const char **argv,
               const size_t *lens);
/* One complete reply from the server. */
void rconn_dispatch(struct ps_conn *c, redisReply *r);
/* TCP (and TLS) is up: the handshake starts. */
void rconn_connected(struct ps_conn *c);

/* --- conn_net.c ---------------------------------------------------------------- */

void rconn_close_socket(struct ps_conn *c);
/* Writes what may be written. Returns 0, or -1 after failing c. */
int rconn_flush(struct ps_conn *c);
/* Starts resolving (the connect timeout is armed). */
void rconn_start(struct ps_conn *c);
void rconn_start_liveness(struct ps_conn *c);
/* The timer fired on a ready connection. */
void rconn_liveness(struct ps_conn *c);

#endif
