/* worker/ws.h - the WebSocket transport (RFC 6455) over a connection whose
 * upgrade request was accepted: the 101 answer, every frame the browser
 * sends held to the RFC (masked, no reserved bits, control frames whole and
 * short, close codes a peer may send, UTF-8 text) and to the contract's
 * limits (16 KiB messages, 20 frames in 10 s, text only), the client's
 * messages handed to the session, and the close handshake. */
#ifndef LG_WORKER_WS_H
#define LG_WORKER_WS_H

#include "conn.h"
#include "ws_handshake.h"

/* Answers c's upgrade request with 101 (accept is its Sec-WebSocket-Accept)
 * and makes c a WebSocket session waiting for its subscribe. */
void ws_start(struct conn *c, const char accept[LG_WS_ACCEPT_LEN + 1]);

/* c (CK_WS) is readable. */
void ws_read(struct conn *c);

/* c's close frame went out: done if the peer's came, else wait for it. */
void ws_close_sent(struct conn *c);

/* The server's keep-alive ping (a raw frame with a payload: a pong to an
 * empty ping carries nothing to tell it from another). */
struct lg_frame *ws_ping_frame(void);

#endif
