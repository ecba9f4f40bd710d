/* worker/session.h - one subscriber, whatever transport carries it (a
 * WebSocket or an event stream): its token, its channels, its place in
 * them while it keeps up or parked while it does not, its deadlines, and
 * the frames only a subscriber gets ('subscribed', pongs, status).
 *
 * The session owns conn's channel fields (chans, n_chans, sub, parked), the
 * deadlines (conn_arm is defined here) and w->n_sessions. It knows nothing
 * of framing: conn.c writes, the transports read.
 */
#ifndef LG_WORKER_SESSION_H
#define LG_WORKER_SESSION_H

#include "conn.h"
#include "token.h"

/* Makes c a session, counted against LIVEGATE_MAX_CONNECTIONS. Returns 0;
 * 1013 when the worker is full, 1012 while it drains (c is not counted;
 * the caller refuses it its transport's way). */
int session_open(struct conn *c);

/* Verifies token into *cl (freed by the caller with lg_token_claims_free
 * when LG_TOKEN_OK). Returns LG_TOKEN_OK, or why the token was refused
 * (counted). */
enum lg_token_status session_verify(struct conn *c, const char *token, size_t len,
                                    struct lg_token_claims *cl);

/* Makes cl's channels c's (a later call replaces them, keeping what the
 * channels kept had); 'subscribed' follows once Redis confirms them. */
void session_apply(struct conn *c, const struct lg_token_claims *cl);

/* A {"type":"ping"} came: one pong is owed. */
void session_app_ping(struct conn *c);

/* The close reason for a refused token, written into buf: its status
 * name, and for bad claims which one ("bad_claims: exp"). Returns buf. */
const char *session_refusal_reason(enum lg_token_status st, const struct lg_token_claims *cl,
                                   char *buf, size_t n);

/* Parks c (its queue was full while delivering on cc's channel): its queue
 * is dropped and every membership leaves delivery. */
void session_park(struct conn *c, struct conn_chan *cc);

/* c's socket took everything: back into delivery, with one invalidation
 * per channel that had news meanwhile (the newest, marked "coalesced").
 * Returns 0, or -1 when out of memory. */
int session_unpark(struct conn *c);

/* Records one delivery of f (counter and latency histogram). */
void session_count_delivery(struct lg_worker *w, const struct lg_frame *f);

/* The shared {"type":"pong"} frame. */
struct lg_frame *session_pong_frame(void);

/* Tells every subscribed session that Redis is down or back (a status
 * frame, newest wins). */
void session_status_all(struct lg_worker *w, int redis_up);

/* Closes up to n sessions with code (the drain). Returns how many. */
unsigned session_close_some(struct lg_worker *w, unsigned n, int code);

/* The wheel's second: every deadline that came. */
void session_tick(struct lg_worker *w);

/* The registry's 'every channel of sub is confirmed' event. */
void session_on_ready(void *ctx, struct ps_subscriber *sub);

/* Leaves every channel and stops counting c (from conn's free). */
void session_end(struct conn *c);

/* Makes the channel's newest frame f unless a newer one is kept (fan-out
 * calls it for channels with parked members). */
void session_keep_newest(struct ps_channel *ch, struct lg_frame *f);

#endif
