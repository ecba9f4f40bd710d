/* wire/ws_parse.c - client frame headers and close payloads (ws_parse.h). */
#include "ws_parse.h"
#include "utf8.h"

int lg_ws_parse_header(const unsigned char *buf, size_t n, uint64_t max_data,
                       struct lg_ws_header *h)
{
	size_t need = 2;
	uint64_t len;

	if (n < 2)
		return 0;
	h->fin = (buf[0] & 0x80) != 0;
	h->opcode = buf[0] & 0x0f;
	if (buf[0] & 0x70)
		return -LG_WS_FAULT_RSV;
	switch (h->opcode) {
	case LG_WS_CONT: case LG_WS_TEXT: case LG_WS_BINARY:
	case LG_WS_CLOSE: case LG_WS_PING: case LG_WS_PONG:
		break;
	default:
		return -LG_WS_FAULT_OPCODE;
	}
	if (!(buf[1] & 0x80))
		return -LG_WS_FAULT_UNMASKED;
	len = buf[1] & 0x7f;
	if (h->opcode & 0x8) {
		if (!h->fin)
			return -LG_WS_FAULT_CONTROL_FRAGMENT;
		if (len > 125)
			return -LG_WS_FAULT_CONTROL_LENGTH;
	}
	if (len == 126) {
		need = 4;
		if (n < need)
			return 0;
		len = (uint64_t)buf[2] << 8 | buf[3];
	} else if (len == 127) {
		need = 10;
		if (n < need)
			return 0;
		if (buf[2] & 0x80)
			return -LG_WS_FAULT_LENGTH;
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | buf[i];
	}
	if (!(h->opcode & 0x8) && len > max_data)
		return -LG_WS_FAULT_TOO_BIG;
	if (n < need + 4)
		return 0;
	for (int i = 0; i < 4; i++)
		h->mask[i] = buf[need + i];
	h->header_len = need + 4;
	h->payload_len = len;
	return (int)h->header_len;
}

void lg_ws_unmask(unsigned char *p, size_t n, const unsigned char mask[4])
{
	for (size_t i = 0; i < n; i++)
		p[i] ^= mask[i & 3];
}

/* Returns 1 if a peer may send code in a close frame (RFC 6455 7.4, and
 * the IANA registry's 1012-1014). */
static int peer_code_valid(unsigned code)
{
	if (code >= 3000 && code <= 4999)
		return 1;
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

unsigned lg_ws_close_answer(const unsigned char *p, size_t n, unsigned *peer)
{
	unsigned code;

	*peer = 0;
	if (n == 0)
		return 1000;
	if (n == 1)
		return 1002;
	code = (unsigned)p[0] << 8 | p[1];
	*peer = code;
	if (!peer_code_valid(code))
		return 1002;
	if (!lg_utf8_valid(p + 2, n - 2))
		return 1007;
	return code;
}
