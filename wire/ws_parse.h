/* wire/ws_parse.h - reading what a browser sends on a WebSocket (RFC 6455
 * section 5): frame headers held to the rules a server must enforce, and
 * the close frame's payload. Pure: no I/O, no allocation; the transport
 * keeps the bytes and decides what to do (worker/ws.c). */
#ifndef LG_WIRE_WS_PARSE_H
#define LG_WIRE_WS_PARSE_H

#include <stddef.h>
#include <stdint.h>

enum lg_ws_opcode {
	LG_WS_CONT = 0x0, LG_WS_TEXT = 0x1, LG_WS_BINARY = 0x2,
	LG_WS_CLOSE = 0x8, LG_WS_PING = 0x9, LG_WS_PONG = 0xA
};

/* Why a frame header breaks the rules (returned negated). */
enum lg_ws_fault {
	LG_WS_FAULT_RSV = 1,          /* reserved bits set (no extension agreed) */
	LG_WS_FAULT_OPCODE,           /* an opcode RFC 6455 does not define       */
	LG_WS_FAULT_UNMASKED,         /* a client frame must be masked (5.1)      */
	LG_WS_FAULT_CONTROL_FRAGMENT, /* a control frame without FIN (5.5)        */
	LG_WS_FAULT_CONTROL_LENGTH,   /* a control frame over 125 bytes (5.5)     */
	LG_WS_FAULT_LENGTH,           /* a 64-bit length with its top bit set     */
	LG_WS_FAULT_TOO_BIG,          /* a data frame over the caller's limit     */
};

struct lg_ws_header {
	unsigned      opcode;
	int           fin;
	size_t        header_len;     /* bytes before the payload */
	uint64_t      payload_len;
	unsigned char mask[4];
};

/* Reads the header of the frame at buf[0..n). Returns its length (> 0) with
 * h filled, 0 when more bytes are needed, or -fault. A data frame whose
 * payload is over max_data is refused as soon as its length is known,
 * before its bytes arrive. */
int lg_ws_parse_header(const unsigned char *buf, size_t n, uint64_t max_data,
                       struct lg_ws_header *h);

/* Unmasks p[0..n) in place. */
void lg_ws_unmask(unsigned char *p, size_t n, const unsigned char mask[4]);

/* Checks a close frame's payload (unmasked) and returns the code to answer
 * with: the peer's own code when it is one a peer may send, 1000 for an
 * empty payload, 1002 for a payload of one byte or a code no peer may send
 * (1004-1006, 1015, unassigned, 5000 and up), 1007 for a reason that is
 * not UTF-8. *peer is set to the code the peer sent (0: none). */
unsigned lg_ws_close_answer(const unsigned char *p, size_t n, unsigned *peer);

#endif
