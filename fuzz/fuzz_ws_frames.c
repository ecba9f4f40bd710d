/* fuzz/fuzz_ws_frames.c - libFuzzer target for wire/ws_parse: a buffer of
 * client frames walked the way worker/ws.c's use_frames walks what a read
 * brought: header, unmask in place, control frames answered, data frames
 * joined into messages of at most LG_MAX_FRAME bytes, each message UTF-8
 * checked and parsed (wire/client_msg); a fault ends the walk.
 *
 * Invariants besides the sanitizers:
 *  - a header is 6, 8 or 14 bytes, its length is what was returned, and
 *    every shorter prefix of it asks for more bytes (0) or gives the same
 *    fault: a header cut by a read is never misread;
 *  - a control frame is final and at most 125 bytes; a data frame is
 *    within the limit given, so a message never grows past LG_MAX_FRAME;
 *  - unmasking twice gives the bytes back;
 *  - a close payload's answer is 1000 for none, else 1002, 1007, or the
 *    peer's own code when a peer may send it; the pong to a ping is the
 *    ping's payload behind a 2-byte header.
 */
#include <string.h>

#include "client_msg.h"
#include "frame.h"
#include "fuzz.h"
#include "utf8.h"
#include "ws_parse.h"

#define LG_MAX_FRAME 16384   /* worker/context.h: a client message's limit */

static unsigned char buf[1 << 17];
static unsigned char msg[LG_MAX_FRAME];

static int peer_may_send(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

static void check_header(const unsigned char *p, size_t n, uint64_t max, int rc,
                         const struct lg_ws_header *h)
{
	struct lg_ws_header h2;

	if (rc > 0) {
		CHECK((size_t)rc == h->header_len);
		CHECK(rc == 6 || rc == 8 || rc == 14);
		CHECK(h->opcode <= 0x2 || (h->opcode >= 0x8 && h->opcode <= 0xA));
		if (h->opcode & 0x8)
			CHECK(h->fin && h->payload_len <= 125);
		else
			CHECK(h->payload_len <= max);
		for (size_t k = 0; k < (size_t)rc; k++)
			CHECK(lg_ws_parse_header(p, k, max, &h2) == 0);
	} else if (rc < 0) {
		CHECK(-rc >= LG_WS_FAULT_RSV && -rc <= LG_WS_FAULT_TOO_BIG);
		for (size_t k = 0; k < n && k < 14; k++) {
			int r2 = lg_ws_parse_header(p, k, max, &h2);
			CHECK(r2 == 0 || r2 == rc);
		}
	}
}

static void on_close(const unsigned char *p, size_t n)
{
	unsigned peer = 12345, answer = lg_ws_close_answer(p, n, &peer);

	if (n == 0) {
		CHECK(answer == 1000 && peer == 0);
		return;
	}
	if (n == 1) {
		CHECK(answer == 1002 && peer == 0);
		return;
	}
	CHECK(peer == ((unsigned)p[0] << 8 | p[1]));
	if (!peer_may_send(peer))
		CHECK(answer == 1002);
	else if (!lg_utf8_valid(p + 2, n - 2))
		CHECK(answer == 1007);
	else
		CHECK(answer == peer);
}

static void on_ping(const unsigned char *p, size_t n)
{
	struct lg_frame *pong = lg_frame_ws_control(LG_WS_PONG, p, n);
	const unsigned char *w;
	size_t wn;

	CHECK(pong);
	w = lg_frame_ws(pong, &wn);
	CHECK(wn == 2 + n && w[0] == 0x8A && w[1] == n && memcmp(w + 2, p, n) == 0);
	lg_frame_unref(pong);
}

static void on_message(const unsigned char *p, size_t n)
{
	struct lg_client_msg m;

	if (!lg_utf8_valid(p, n))
		return;   /* closed with 1007 */
	lg_client_msg_parse((const char *)p, n, &m);
	lg_client_msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t used = 0, msg_len = 0;
	int msg_open = 0;

	if (size > sizeof buf)
		return 0;
	memcpy(buf, data, size);
	while (used < size) {
		struct lg_ws_header h;
		uint64_t max = LG_MAX_FRAME - msg_len;
		int rc = lg_ws_parse_header(buf + used, size - used, max, &h);
		unsigned char *p, copy[125];

		check_header(buf + used, size - used, max, rc, &h);
		if (rc <= 0 || size - used < h.header_len + h.payload_len)
			break;   /* a fault closes; 0 or a cut payload waits for more */
		p = buf + used + h.header_len;
		if (h.payload_len <= sizeof copy)
			memcpy(copy, p, (size_t)h.payload_len);
		lg_ws_unmask(p, (size_t)h.payload_len, h.mask);
		if (h.payload_len <= sizeof copy) {
			unsigned char again[125];
			memcpy(again, p, (size_t)h.payload_len);
			lg_ws_unmask(again, (size_t)h.payload_len, h.mask);
			CHECK(memcmp(again, copy, (size_t)h.payload_len) == 0);
		}
		used += h.header_len + (size_t)h.payload_len;
		switch (h.opcode) {
		case LG_WS_CLOSE:
			on_close(p, (size_t)h.payload_len);
			return 0;   /* nothing after a close is read */
		case LG_WS_PING:
			on_ping(p, (size_t)h.payload_len);
			continue;
		case LG_WS_PONG:
			continue;
		case LG_WS_BINARY:
			return 0;   /* 4008 */
		}
		if ((h.opcode == LG_WS_TEXT) == msg_open)
			return 0;   /* a new message inside one, or a stray continuation: 1002 */
		if (h.fin && !msg_open) {
			on_message(p, (size_t)h.payload_len);
			continue;
		}
		CHECK(msg_len + h.payload_len <= LG_MAX_FRAME);
		memcpy(msg + msg_len, p, (size_t)h.payload_len);
		msg_len += (size_t)h.payload_len;
		msg_open = 1;
		if (h.fin) {
			on_message(msg, msg_len);
			msg_len = 0;
			msg_open = 0;
		}
	}
	return 0;
}
