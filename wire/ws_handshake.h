/* wire/ws_handshake.h - the server's half of the WebSocket opening
 * handshake (RFC 6455 4.2): which upgrade requests are acceptable, and the
 * Sec-WebSocket-Accept that proves we read the key. Pure. */
#ifndef LG_WIRE_WS_HANDSHAKE_H
#define LG_WIRE_WS_HANDSHAKE_H

#include "http_req.h"

#define LG_WS_ACCEPT_LEN 28

/* Checks the request in buf (a complete head) as a WebSocket upgrade.
 * Returns 0 with accept[] filled (LG_WS_ACCEPT_LEN chars and a NUL), or the
 * status to refuse with: 400 when it is not a well-formed upgrade (method,
 * version, Host, Upgrade, Connection, Sec-WebSocket-Key), 426 when the
 * version is not 13 (the answer must then say Sec-WebSocket-Version: 13). */
int lg_ws_handshake_check(const struct lg_http_req *r, const char *buf,
                          char accept[LG_WS_ACCEPT_LEN + 1]);

/* Writes Sec-WebSocket-Accept for key[0..n) into accept (and a NUL).
 * Returns 0, or -1 when the digest failed. */
int lg_ws_accept_of(const char *key, size_t n, char accept[LG_WS_ACCEPT_LEN + 1]);

#endif
