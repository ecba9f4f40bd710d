/* worker/sse.h - the event-stream transport, for networks where WebSockets
 * are blocked (contract, "Streaming fallback"): POST /sse with the subscribe
 * message as its body (text/plain, so a cross-origin page needs no
 * preflight; the token never travels in the URL), answered 200
 * text/event-stream whose `data:` events are exactly the WebSocket's frames,
 * a ": ping" comment every 25 s for proxies, and a close event before the
 * server ends the stream. A refused token is 401 with the JSON error body,
 * a full worker 503 with Retry-After. Everything above the framing is the
 * session's, shared with the WebSocket. */
#ifndef LG_WORKER_SSE_H
#define LG_WORKER_SSE_H

#include "conn.h"

/* Answers c's POST /sse (its request complete in c->req). */
void sse_start(struct conn *c);

/* c (CK_SSE) is readable: the peer sends nothing after its request, so
 * this is its going away (or bytes to forget). */
void sse_read(struct conn *c);

/* The keep-alive comment, a shared raw frame. */
struct lg_frame *sse_ping_frame(void);

/* The close event for code and reason (a JSON frame; sent as an event). */
struct lg_frame *sse_close_frame(int code, const char *reason);

#endif
