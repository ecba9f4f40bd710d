/* worker/http_front.c - HTTP/1.1 requests on the public port (see
 * http_front.h).
 *
 * livegate reads requests itself rather than through a library's server:
 * the head goes into one buffer (bounded: 16 KiB of head, 16 KiB of body)
 * and nodejs http-parser finds its parts, so every limit is ours and
 * answered with its status (libwebsockets 4.1 dropped a request over its
 * header space without a word), and a WebSocket upgrade or an event stream
 * continues on the same socket without a copy.
 */
#include "http_front.h"
#include "accept.h"
#include "log.h"
#include "ratelimit.h"
#include "script.h"
#include "sse.h"
#include "ws.h"
#include "ws_handshake.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define IN_CAP        (LG_HTTP_HEAD_MAX + LG_HTTP_BODY_MAX + 1024)
#define MAX_REQUESTS  100   /* per connection: then it closes after the answer */

static void parse(struct conn *c);

static const char *reason_of(int status)
{
	switch (status) {
	case 200: return "OK";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default:  return "Error";
	}
}

struct lg_frame *http_response(int status, const char *extra, const char *ctype,
                               const char *body, size_t n, int close)
{
	char head[768];
	int h;
	char *buf;
	struct lg_frame *f;

	h = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n%s%s%scontent-length: %zu\r\n%s%s\r\n",
	             status, reason_of(status), ctype ? "content-type: " : "", ctype ? ctype : "",
	             ctype ? "\r\n" : "", n, extra ? extra : "", close ? "connection: close\r\n" : "");
	if (h < 0 || (size_t)h >= sizeof head)
		return NULL;
	buf = malloc((size_t)h + n);
	if (!buf)
		return NULL;
	memcpy(buf, head, (size_t)h);
	if (n)
		memcpy(buf + h, body, n);
	f = lg_frame_raw(buf, (size_t)h + n);
	free(buf);
	return f;
}

void http_respond(struct conn *c, struct lg_frame *resp, int close)
{
	if (!resp) {
		conn_kill(c, "out of memory building a response");
		return;
	}
	c->phase = PH_RESPONDING;
	c->keep_alive = !close;
	lg_frame_unref(c->ctl);
	c->ctl = resp;
	(void)conn_flush(c);
}

void http_fail(struct conn *c, int status, const char *extra, const char *text)
{
	char body[160];
	int n = snprintf(body, sizeof body, "%s\n", text);

	http_respond(c, http_response(status, extra, "text/plain; charset=utf-8", body,
	                              n < 0 ? 0 : (size_t)n, 1), 1);
}

int http_origin_ok(struct conn *c)
{
	static struct lg_ratelimit rl;
	const char *o;
	size_t n;
	unsigned held;
	struct lg_logline l;

	o = lg_http_header(c->req, c->in, LG_H_ORIGIN, &n);
	if (!o || lg_config_origin_allowed(c->w->cfg, o, n))
		return 1;   /* no Origin: not a browser; the token is what authorizes */
	lg_add(&c->w->st->origin_rejected, 1);
	if (lg_ratelimit_ok(&rl, lg_now_ms(), 10, 10000, &held) &&
	    lg_log_begin(&l, LG_LOG_INFO, "origin_refused")) {
		lg_log_strn(&l, "origin", o, n > 256 ? 256 : n);
		lg_log_str(&l, "allowed", "LIVEGATE_ALLOWED_ORIGINS");
		if (held)
			lg_log_int(&l, "suppressed", held);
		lg_log_end(&l);
	}
	http_fail(c, 403, NULL, "origin not allowed");
	return 0;
}

/* Returns 1 if the request's method is m1 or m2; else answers 405 with
 * "allow: <allow>" and returns 0. */
static int method_ok(struct conn *c, const char *allow, unsigned m1, unsigned m2)
{
	char extra[64];
	unsigned m = c->req->parser.method;

	if (m == m1 || m == m2)
		return 1;
	snprintf(extra, sizeof extra, "allow: %s\r\n", allow);
	http_fail(c, 405, extra, "method not allowed");
	return 0;
}

static void route_ws(struct conn *c)
{
	char accept[LG_WS_ACCEPT_LEN + 1];
	size_t n;
	int st;

	if (!method_ok(c, "GET", HTTP_GET, HTTP_GET))
		return;
	if (!lg_http_header(c->req, c->in, LG_H_UPGRADE, &n)) {
		http_fail(c, 426, "upgrade: websocket\r\nconnection: upgrade\r\n"
		          "sec-websocket-version: 13\r\n", "a WebSocket upgrade is required here");
		return;
	}
	st = lg_ws_handshake_check(c->req, c->in, accept);
	if (st == 426) {
		http_fail(c, 426, "sec-websocket-version: 13\r\n", "WebSocket version 13 is required");
		return;
	}
	if (st) {
		http_fail(c, 400, NULL, "not a valid WebSocket upgrade");
		return;
	}
	if (!http_origin_ok(c))
		return;
	ws_start(c, accept);
}

static void route(struct conn *c)
{
	struct lg_http_req *r = c->req;
	const char *path;
	size_t n, inm_len = 0;
	const char *inm;
	int head = r->parser.method == HTTP_HEAD;

	c->requests++;
	if (r->parser.http_major != 1) {
		http_fail(c, 505, NULL, "HTTP/1.x only");
		return;
	}
	if (r->dup) {   /* two Origin or Host headers could be read two ways */
		http_fail(c, 400, NULL, "a header that may appear once came twice");
		return;
	}
	if (r->parser.http_minor >= 1 && !lg_http_header(r, c->in, LG_H_HOST, &n)) {
		http_fail(c, 400, NULL, "no Host header");
		return;
	}
	path = lg_http_path(r, c->in, &n);
	if (!path) {
		http_fail(c, 400, NULL, "no path");
		return;
	}
	if (n == 3 && memcmp(path, "/ws", 3) == 0) {
		route_ws(c);
	} else if (n == 4 && memcmp(path, "/sse", 4) == 0) {
		if (method_ok(c, "POST", HTTP_POST, HTTP_POST) && http_origin_ok(c))
			sse_start(c);
	} else if (n == 12 && memcmp(path, "/livegate.js", 12) == 0) {
		int close;
		if (!method_ok(c, "GET, HEAD", HTTP_GET, HTTP_HEAD))
			return;
		close = !http_should_keep_alive(&r->parser) || c->requests >= MAX_REQUESTS ||
		        c->w->draining;
		inm = lg_http_header(r, c->in, LG_H_IF_NONE_MATCH, &inm_len);
		http_respond(c, script_response(head, inm, inm_len, close), close);
	} else {
		http_fail(c, 404, NULL, "not found");
	}
}

static void parse(struct conn *c)
{
	if (!c->req) {
		c->req = malloc(sizeof *c->req);
		if (!c->req) {
			conn_kill(c, "out of memory reading a request");
			return;
		}
		lg_http_req_init(c->req);
	}
	switch (lg_http_req_feed(c->req, c->in, c->in_len)) {
	case LG_HTTP_MORE:
		return;
	case LG_HTTP_BAD:
		http_fail(c, 400, NULL, "malformed request");
		return;
	case LG_HTTP_HEAD_TOO_BIG:
		http_fail(c, 431, NULL, "request head over 16 KiB");
		return;
	case LG_HTTP_BODY_TOO_BIG:
		http_fail(c, 413, NULL, "request body over 16 KiB");
		return;
	case LG_HTTP_DONE:
		route(c);
		return;
	}
}

/* An answer with close went out: lingering close, so the peer reads it
 * rather than a reset (bytes of its own we never read would cause one). */
static void linger(struct conn *c)
{
	c->phase = PH_CLOSING;
	c->closing_s = lg_worker_secs(c->w);
	if (shutdown(c->fd, SHUT_WR) < 0) {
		conn_kill(c, "closed");
		return;
	}
	conn_arm(c);
}

void http_response_sent(struct conn *c)
{
	if (!c->keep_alive) {
		linger(c);
		return;
	}
	/* The next request: what came after this one is already its start. */
	conn_in_consume(c, c->req->consumed);
	free(c->req);
	c->req = NULL;
	c->phase = PH_REQUEST;
	c->opened_ms = lg_worker_ms(c->w);
	conn_arm(c);
	if (c->in_len)
		parse(c);
}

void http_read(struct conn *c)
{
	ssize_t room, n;

	room = conn_in_reserve(c, 4096, IN_CAP);
	if (room < 0) {
		conn_kill(c, "out of memory reading a request");
		return;
	}
	if (room == 0) {
		/* Only a lingering close or a pipelining peer gets here. */
		if (c->phase == PH_CLOSING)
			conn_in_consume(c, c->in_len);
		else {
			conn_kill(c, "request bytes past every limit");
			return;
		}
		room = conn_in_reserve(c, 4096, IN_CAP);
		if (room <= 0) {
			conn_kill(c, "out of memory reading a request");
			return;
		}
	}
	n = recv(c->fd, c->in + c->in_len, (size_t)room, 0);
	if (n == 0) {
		conn_kill(c, "peer closed");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_kill(c, "recv failed");
		return;
	}
	if (c->phase == PH_CLOSING) {   /* lingering: read and forget */
		conn_in_consume(c, c->in_len);
		return;
	}
	c->in_len += (uint32_t)n;
	if (c->phase == PH_REQUEST)
		parse(c);
}
