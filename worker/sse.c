/* worker/sse.c - the event-stream transport (see sse.h).
 *
 * The stream is delimited by the connection's close (no chunked encoding):
 * every event is the same bytes for every subscriber, so fan-out sends one
 * prebuilt event per message straight to each socket, as it does a
 * WebSocket frame. */
#include "sse.h"
#include "client_msg.h"
#include "http_front.h"
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct lg_frame *sse_ping_frame(void)
{
	static struct lg_frame *ping;

	if (!ping)
		ping = lg_frame_raw(": ping\n\n", 8);
	return ping;
}

struct lg_frame *sse_close_frame(int code, const char *reason)
{
	return lg_frame_close_event((unsigned)code, reason);
}

/* Writes the CORS headers for the request's Origin (already allowed) into
 * out: a cross-origin page reads the answer only with them. */
static void cors(const struct conn *c, char *out, size_t cap)
{
	size_t n;
	const char *o = lg_http_header(c->req, c->in, LG_H_ORIGIN, &n);

	out[0] = '\0';
	if (o && n < 300)
		snprintf(out, cap, "access-control-allow-origin: %.*s\r\nvary: origin\r\n", (int)n, o);
}

/* Refuses the stream with status and a JSON error body. */
static void refuse(struct conn *c, int status, const char *code, const char *message,
                   const char *extra)
{
	char head[512], body[256];
	int n;

	cors(c, head, sizeof head - 64);
	if (extra)
		strncat(head, extra, sizeof head - strlen(head) - 1);
	n = snprintf(body, sizeof body, "{\"error\":\"%s\",\"message\":\"%s\"}", code, message);
	http_respond(c, http_response(status, head, "application/json", body,
	                              n < 0 ? 0 : (size_t)n, 1), 1);
}

void sse_start(struct conn *c)
{
	struct lg_worker *w = c->w;
	struct lg_client_msg m;
	struct lg_token_claims cl;
	enum lg_token_status st;
	const char *body;
	size_t blen;
	char head[768], extra[400];
	int n, refused;

	body = lg_http_body(c->req, c->in, &blen);
	if (lg_client_msg_parse(body, blen, &m) != LG_MSG_SUBSCRIBE) {
		lg_client_msg_free(&m);
		refuse(c, 400, "bad_request", "the body must be {\"type\":\"subscribe\",\"token\":\"...\"}",
		       NULL);
		return;
	}
	st = session_verify(c, m.token, m.token_len, &cl);
	lg_client_msg_free(&m);
	if (st != LG_TOKEN_OK) {
		char why[64];
		refuse(c, 401, lg_token_status_name(st),
		       st == LG_TOKEN_EXPIRED ? "token expired: refetch the page for a new one"
		                              : session_refusal_reason(st, &cl, why, sizeof why), NULL);
		return;
	}
	refused = session_open(c);
	if (refused) {
		lg_token_claims_free(&cl);
		refuse(c, 503, refused == 1012 ? "restarting" : "over_capacity",
		       refused == 1012 ? "server restarting" : "over capacity",
		       refused == 1012 ? "retry-after: 1\r\n" : "retry-after: 5\r\n");
		return;
	}
	cors(c, extra, sizeof extra);
	n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
	             "cache-control: no-store\r\nx-accel-buffering: no\r\n%sconnection: close\r\n\r\n",
	             extra);
	conn_in_consume(c, c->in_len);   /* the request is used; nothing may follow it */
	free(c->req);
	c->req = NULL;
	c->cur = n > 0 && (size_t)n < sizeof head ? lg_frame_raw(head, (size_t)n) : NULL;
	if (!c->cur) {
		lg_token_claims_free(&cl);
		conn_kill(c, "out of memory answering a stream");
		return;
	}
	c->cur_off = 0;
	c->cur_item = IT_OTHER;
	c->kind = CK_SSE;
	w->handshaking--;
	c->last_rx_s = lg_worker_secs(w);
	session_apply(c, &cl);
	lg_token_claims_free(&cl);
	(void)conn_flush(c);
}

void sse_read(struct conn *c)
{
	char buf[512];
	ssize_t n = recv(c->fd, buf, sizeof buf, 0);

	if (n == 0)
		conn_kill(c, c->phase == PH_CLOSING ? "closed" : "stream closed by the peer");
	else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		conn_kill(c, "recv failed");
}
