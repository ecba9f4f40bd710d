/* worker/http_front.h - HTTP/1.1 on the public port: reads each request
 * (wire/http_req.h), answers /livegate.js, hands /ws to the WebSocket and
 * POST /sse to the event stream, and answers everything else with a plain
 * status: 400 for what is malformed (two Content-Length headers among it),
 * 404, 405 with Allow, 426 for /ws without an upgrade, 431 for a head over
 * 16 KiB, 413 for a body over 16 KiB, 505. Keep-alive between requests,
 * and a lingering close after an error so the answer is read before the
 * socket goes. */
#ifndef LG_WORKER_HTTP_FRONT_H
#define LG_WORKER_HTTP_FRONT_H

#include "conn.h"

/* c (CK_HTTP) is readable. */
void http_read(struct conn *c);

/* The last byte of c's response went out: the next request, or the close. */
void http_response_sent(struct conn *c);

/* Returns a raw response frame: status line, content-type (when body),
 * content-length, extra (whole header lines, may be ""), connection: close
 * when close, then body[0..n). NULL when out of memory. */
struct lg_frame *http_response(int status, const char *extra, const char *ctype,
                               const char *body, size_t n, int close);

/* Answers c's request with resp (taken) and closes after it when close. */
void http_respond(struct conn *c, struct lg_frame *resp, int close);

/* Answers with status and a short plain-text body, then closes. */
void http_fail(struct conn *c, int status, const char *extra, const char *text);

/* Returns 1 if the request's Origin (if any) is allowed; else answers 403
 * (logged at info, rate-limited, with the origin) and returns 0. */
int http_origin_ok(struct conn *c);

#endif
