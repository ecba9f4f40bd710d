/* worker/conn.h - one accepted socket, from its first request to its close,
 * whatever it carries: an HTTP request, a WebSocket, an event stream.
 *
 * This room owns the socket: its one libev watcher, the bytes read but not
 * yet used, and everything that goes out — the write path that sends a
 * frame straight to the socket when nothing waits ahead of it (one send(),
 * no POLLOUT round trip), keeps the rest of a frame the kernel took only in
 * part, queues the rest, and drops a socket that stays unwritable. What the
 * bytes mean is the transports' (http_front.c, ws.c, sse.c); who follows
 * what, the session's (session.c).
 *
 * A connection is never freed while anything may still look at it: a kill
 * stops its watcher, hides it from fan-out, and moves it to the graveyard,
 * which is emptied before the loop next waits.
 */
#ifndef LG_WORKER_CONN_H
#define LG_WORKER_CONN_H

#include <stdint.h>
#include <sys/types.h>

#include "context.h"
#include "frame.h"
#include "http_req.h"
#include "out_queue.h"
#include "registry.h"
#include "timer_wheel.h"

enum conn_kind { CK_HTTP, CK_WS, CK_SSE };

/* The phases of a connection, in order. */
enum conn_phase {
	PH_REQUEST,          /* HTTP: reading a request (or waiting for the next) */
	PH_RESPONDING,       /* HTTP: a response goes out, then the next request */
	PH_AWAIT_SUBSCRIBE,  /* WebSocket open, no subscribe yet (10 s)          */
	PH_PENDING,          /* subscribed; Redis confirms its channels          */
	PH_READY,            /* 'subscribed' sent: invalidations flow            */
	PH_CLOSING,          /* a close is on its way: nothing else goes out     */
};

/* What the item being written is, for what follows its last byte. */
enum conn_item { IT_OTHER, IT_INVALIDATION, IT_RESPONSE, IT_CLOSE };

struct conn_chan {
	struct ps_membership  m;
	struct conn          *conn;
	uint8_t               owed;   /* parked with frames of this channel dropped */
	uint8_t               fresh;  /* joined by the latest subscribe: catch-up due */
};

/* What fan-out reads of a subscriber without a socket shown in the
 * channel's array comes first, in one cache line. */
struct conn {
	int                   fd;
	uint32_t              choked_since_s;  /* 0: the socket takes what we write */
	uint8_t               kind;            /* enum conn_kind */
	uint8_t               phase;           /* enum conn_phase */
	uint8_t               parked;          /* fell behind: out of delivery */
	uint8_t               dead;            /* in the graveyard */
	uint8_t               cur_item;        /* enum conn_item of cur */
	uint8_t               app_pongs;       /* {"type":"pong"} owed (rate-limited) */
	uint8_t               ping_due;        /* the server's keep-alive to send */
	uint8_t               counted;         /* holds a place in w->n_sessions */
	int                   shown_fd;        /* what the channels' arrays show */
	uint32_t              cur_off;         /* bytes of cur already sent */
	struct lg_frame      *cur;             /* being written */
	size_t                n_chans;
	struct lg_outq        q;               /* invalidations to write */
	/* the rest: what goes out before the queue, in this order */
	struct lg_frame      *close_f;         /* the close frame or event: last */
	struct lg_frame      *ctrl;            /* a WebSocket pong (the newest ping's) */
	struct lg_frame      *ctl;             /* 'subscribed', or an HTTP response */
	struct lg_frame      *status;          /* {"type":"status",...} */
	struct lg_worker     *w;
	ev_io                 io;
	struct lg_wheel_node  timer;
	struct conn          *prev, *next;     /* w->conns, or w->graveyard */
	struct ps_subscriber  sub;
	struct conn_chan     *chans;
	/* session (session.c) */
	int64_t               exp_ms;          /* token expiry, epoch ms; 0: none */
	int64_t               iat_ms;          /* the page's render, epoch ms; 0: none */
	uint32_t              opened_ms;       /* this phase began, ms since the worker
	                                          started (request, or WebSocket open) */
	uint32_t              last_rx_s;       /* WebSocket: bytes from the peer;
	                                          stream: our last keep-alive */
	uint32_t              closing_s;       /* the close was requested */
	uint32_t              rate[LG_RATE_FRAMES];  /* ms of the last frames */
	uint8_t               rate_i;
	uint8_t               ping_sent;       /* waiting for the peer to answer */
	uint8_t               peer_closed;     /* its close frame came (ws.c) */
	uint8_t               keep_alive;      /* HTTP: read the next request after */
	uint16_t              close_code;      /* close requested with this code */
	uint16_t              peer_code;       /* close code the peer sent */
	uint16_t              requests;        /* HTTP requests on this socket */
	/* input (transports) */
	char                 *in;              /* bytes read, not yet used */
	uint32_t              in_len, in_cap;
	char                 *msg;             /* a fragmented message (ws.c) */
	uint32_t              msg_len;
	uint8_t               msg_open;
	struct lg_http_req   *req;             /* while reading a request */
};

/* Takes fd (accepted, non-blocking) as a new connection reading its first
 * request. Returns it, or NULL (fd closed) when out of memory. */
struct conn *conn_new(struct lg_worker *w, int fd);

/* Drops c at once: no close frame can get through. Safe anywhere, also
 * during a fan-out walk: c is freed before the loop next waits. */
void conn_kill(struct conn *c, const char *why);

/* Requests a close with code and reason (a static string: never a token);
 * the transport's close frame or event goes out after what is being
 * written now and before anything queued. A second request keeps the
 * first. */
void conn_close(struct conn *c, int code, const char *reason);

/* --- output ------------------------------------------------------------ */

/* Sends what c has waiting, as much as the socket takes; arms POLLOUT for
 * the rest. Returns 0, or -1 when c was killed. */
int conn_flush(struct conn *c);

/* Returns 1 when something of c's must go out before a new frame. */
int conn_waiting_ahead(const struct conn *c);

/* Shows c's socket in its channels' arrays while a frame may go straight
 * to it, -1 otherwise; call after anything that changes what
 * conn_waiting_ahead reads. */
void conn_show_direct(struct conn *c);

/* Delivers the invalidation f to c (member cc): straight to the socket when
 * nothing waits ahead (the walk may have tried already: tried, and the
 * socket took sent bytes, or -1), else into the queue; a full queue parks
 * c. Returns 1 when cc was parked (the walk rule, registry.h), else 0.
 * *direct is set when the socket took it at once. */
int conn_deliver(struct conn *c, struct conn_chan *cc, struct lg_frame *f, int tried,
                 ssize_t sent, int *direct);

/* The bytes the socket of c sends for f (its transport's form), or NULL
 * when out of memory. */
const unsigned char *conn_bytes(const struct conn *c, struct lg_frame *f, size_t *n);

/* --- input -------------------------------------------------------------- */

/* Makes room for want more bytes in c->in (up to cap in all). Returns the
 * room (0 when at cap), or -1 when out of memory. */
ssize_t conn_in_reserve(struct conn *c, size_t want, size_t cap);

/* Drops the first n bytes of c->in; frees it when empty. */
void conn_in_consume(struct conn *c, size_t n);

/* Arms c's one timer for its earliest deadline (session.c decides). */
void conn_arm(struct conn *c);

/* --- the worker's side ----------------------------------------------------- */

/* Frees every connection in the graveyard (the reaper's job). */
void conn_reap(struct lg_worker *w);

/* Frees every connection (teardown). */
void conn_free_all(struct lg_worker *w);

#endif
