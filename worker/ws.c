/* worker/ws.c - the WebSocket transport (see ws.h).
 *
 * Reading: bytes go into one buffer of the worker's; whole frames are used
 * in place (unmasked where they lie), and only a frame cut by the read is
 * kept, in the connection's own buffer (at most a header and 16 KiB). An
 * idle connection holds no input buffer. Every frame counts against the
 * rate limit, pings included (one client once sent 49 million empty pings
 * in 10 s to a server that answered them all).
 */
#include "ws.h"
#include "client_msg.h"
#include "log.h"
#include "session.h"
#include "utf8.h"
#include "ws_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define IN_CAP (14 + LG_MAX_FRAME)   /* one frame: the longest header and its payload */

static size_t use_frames(struct conn *c, unsigned char *buf, size_t len);

/* One worker, one thread: reads of every connection share it. */
static unsigned char rxbuf[65536];

struct lg_frame *ws_ping_frame(void)
{
	static struct lg_frame *ping;

	if (!ping)
		ping = lg_frame_ws_control(LG_WS_PING, "livegate", 8);
	return ping;
}

void ws_start(struct conn *c, const char accept[LG_WS_ACCEPT_LEN + 1])
{
	char resp[160];
	int n = snprintf(resp, sizeof resp,
	                 "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n"
	                 "connection: upgrade\r\nsec-websocket-accept: %s\r\n\r\n", accept);
	struct lg_worker *w = c->w;
	int refused;

	conn_in_consume(c, c->req->consumed);
	free(c->req);
	c->req = NULL;
	/* The 101 goes before anything else, a close included. */
	c->cur = lg_frame_raw(resp, (size_t)n);
	if (!c->cur) {
		conn_kill(c, "out of memory answering an upgrade");
		return;
	}
	c->cur_off = 0;
	c->cur_item = IT_OTHER;
	c->kind = CK_WS;
	w->handshaking--;
	c->phase = PH_AWAIT_SUBSCRIBE;
	c->opened_ms = lg_worker_ms(w);
	c->last_rx_s = lg_worker_secs(w);
	refused = session_open(c);
	if (refused) {
		conn_close(c, refused, refused == 1012 ? "server restarting" : "over capacity");
		return;
	}
	conn_arm(c);
	if (conn_flush(c) == 0 && c->in_len)   /* frames sent along with the upgrade */
		conn_in_consume(c, use_frames(c, (unsigned char *)c->in, c->in_len));
}

void ws_close_sent(struct conn *c)
{
	if (c->peer_closed)
		conn_kill(c, "closed");
}

/* Returns 1 if one more frame now would exceed the rate limit. */
static int rate_exceeded(struct conn *c)
{
	uint32_t t = lg_worker_ms(c->w) + 1;   /* 0 marks an unused slot */
	uint32_t oldest = c->rate[c->rate_i];

	if (oldest && t - oldest < LG_RATE_WINDOW_MS)
		return 1;
	c->rate[c->rate_i] = t;
	c->rate_i = (uint8_t)((c->rate_i + 1) % LG_RATE_FRAMES);
	return 0;
}

/* A whole text message came. */
static void on_message(struct conn *c, const char *p, size_t n)
{
	struct lg_client_msg m;
	struct lg_token_claims cl;
	enum lg_token_status st;

	if (!lg_utf8_valid((const unsigned char *)p, n)) {
		conn_close(c, 1007, "text that is not UTF-8");
		return;
	}
	switch (lg_client_msg_parse(p, n, &m)) {
	case LG_MSG_BAD:
		conn_close(c, 4008, m.error);
		break;
	case LG_MSG_PING:
		session_app_ping(c);
		break;
	case LG_MSG_SUBSCRIBE:
		st = session_verify(c, m.token, m.token_len, &cl);
		if (st != LG_TOKEN_OK) {
			char why[64];
			conn_close(c, st == LG_TOKEN_EXPIRED ? 4002 : 4001,
			           session_refusal_reason(st, &cl, why, sizeof why));
			break;
		}
		session_apply(c, &cl);
		lg_token_claims_free(&cl);
		break;
	}
	lg_client_msg_free(&m);
}

/* A data frame (text or continuation) with payload p[0..n). */
static void on_data(struct conn *c, const struct lg_ws_header *h, unsigned char *p, size_t n)
{
	if (h->opcode == LG_WS_BINARY) {
		conn_close(c, 4008, "binary frame");
		return;
	}
	if (h->opcode == LG_WS_TEXT && c->msg_open) {
		conn_close(c, 1002, "a new message inside a fragmented one");
		return;
	}
	if (h->opcode == LG_WS_CONT && !c->msg_open) {
		conn_close(c, 1002, "a continuation without a message");
		return;
	}
	if (h->fin && !c->msg_open) {   /* the common case: one frame, used in place */
		on_message(c, (const char *)p, n);
		return;
	}
	if (!c->msg) {
		c->msg = malloc(LG_MAX_FRAME);
		if (!c->msg) {
			conn_close(c, 1011, "out of memory");
			return;
		}
	}
	/* lg_ws_parse_header already refused a frame that would not fit */
	memcpy(c->msg + c->msg_len, p, n);
	c->msg_len += (uint32_t)n;
	c->msg_open = 1;
	if (h->fin) {
		on_message(c, c->msg, c->msg_len);
		free(c->msg);
		c->msg = NULL;
		c->msg_len = 0;
		c->msg_open = 0;
	}
}

/* A control frame with payload p[0..n) (unmasked). */
static void on_control(struct conn *c, unsigned opcode, const unsigned char *p, size_t n)
{
	unsigned answer, peer;

	switch (opcode) {
	case LG_WS_PING:
		/* RFC 6455 5.5.3: answering the newest ping is enough. */
		lg_frame_unref(c->ctrl);
		c->ctrl = lg_frame_ws_control(LG_WS_PONG, p, n);
		if (!c->ctrl)
			conn_kill(c, "out of memory answering a ping");
		else
			(void)conn_flush(c);
		break;
	case LG_WS_PONG:
		c->ping_sent = 0;   /* the read already counted as life */
		break;
	case LG_WS_CLOSE:
		answer = lg_ws_close_answer(p, n, &peer);
		c->peer_code = (uint16_t)peer;
		c->peer_closed = 1;
		if (c->phase == PH_CLOSING && !c->close_f && !c->cur) {
			conn_kill(c, "closed");   /* ours went out whole first: done */
			break;
		}
		conn_close(c, (int)answer, answer == 1002 ? "protocol error" :
		                           answer == 1007 ? "close reason not UTF-8" : "closing");
		break;
	}
}

static const char *fault_text(int fault)
{
	switch (fault) {
	case LG_WS_FAULT_RSV:              return "reserved bits set";
	case LG_WS_FAULT_OPCODE:           return "unknown opcode";
	case LG_WS_FAULT_UNMASKED:         return "unmasked client frame";
	case LG_WS_FAULT_CONTROL_FRAGMENT: return "fragmented control frame";
	case LG_WS_FAULT_CONTROL_LENGTH:   return "control frame over 125 bytes";
	case LG_WS_FAULT_LENGTH:           return "bad frame length";
	default:                           return "protocol error";
	}
}

/* Uses every whole frame of buf[0..len). Returns the bytes used. */
static size_t use_frames(struct conn *c, unsigned char *buf, size_t len)
{
	size_t used = 0;

	while (!c->dead && used < len) {
		struct lg_ws_header h;
		int rc = lg_ws_parse_header(buf + used, len - used, LG_MAX_FRAME - c->msg_len, &h);
		unsigned char *p;

		if (rc < 0) {
			if (-rc == LG_WS_FAULT_TOO_BIG)
				conn_close(c, 4008, "frame too large");
			else
				conn_close(c, 1002, fault_text(-rc));
			return len;
		}
		if (rc == 0 || len - used < h.header_len + h.payload_len)
			break;   /* the rest comes later */
		p = buf + used + h.header_len;
		lg_ws_unmask(p, (size_t)h.payload_len, h.mask);
		used += h.header_len + (size_t)h.payload_len;
		if (c->phase == PH_CLOSING) {   /* only the peer's close matters now */
			if (h.opcode == LG_WS_CLOSE)
				on_control(c, h.opcode, p, (size_t)h.payload_len);
			continue;
		}
		if (rate_exceeded(c)) {
			conn_close(c, 4008, "too many frames");
			return len;
		}
		if (h.opcode & 0x8)
			on_control(c, h.opcode, p, (size_t)h.payload_len);
		else
			on_data(c, &h, p, (size_t)h.payload_len);
	}
	return used;
}

void ws_read(struct conn *c)
{
	unsigned char *buf;
	size_t len, used;
	ssize_t n;

	if (c->in_len) {   /* a frame was cut by the last read: read after it */
		ssize_t room = conn_in_reserve(c, IN_CAP - c->in_len, IN_CAP);
		if (room <= 0) {
			conn_kill(c, "out of memory reading a frame");
			return;
		}
		n = recv(c->fd, c->in + c->in_len, (size_t)room, 0);
		buf = (unsigned char *)c->in;
	} else {
		n = recv(c->fd, rxbuf, sizeof rxbuf, 0);
		buf = rxbuf;
	}
	if (n == 0) {
		conn_kill(c, c->peer_closed ? "closed" : "peer closed the connection");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_kill(c, "recv failed");
		return;
	}
	c->last_rx_s = lg_worker_secs(c->w);   /* any bytes are life */
	if (buf == rxbuf) {
		len = (size_t)n;
	} else {
		c->in_len += (uint32_t)n;
		len = c->in_len;
	}
	used = use_frames(c, buf, len);
	if (c->dead)
		return;
	if (buf != rxbuf) {
		conn_in_consume(c, used);
		return;
	}
	if (used < len) {   /* keep the cut frame */
		ssize_t room = conn_in_reserve(c, len - used, IN_CAP);
		if (room < (ssize_t)(len - used)) {
			conn_kill(c, "out of memory keeping a frame");
			return;
		}
		memcpy(c->in, rxbuf + used, len - used);
		c->in_len = (uint32_t)(len - used);
	}
}
