/* gateway/frame.h - immutable, refcounted WebSocket text frames, built once
 * per message and shared by every subscriber (LWS_PRE headroom in front, so
 * lws_write can put the header in place). */
#ifndef LG_GATEWAY_FRAME_H
#define LG_GATEWAY_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Largest Redis payload embedded in a frame; larger ones are forwarded as
 * "data":null with "reason":"payload_too_large" (counted, never cut). */
#define LG_MAX_PAYLOAD 65536

struct lg_frame {
	uint32_t         refs;
	uint32_t         len;        /* payload bytes after the headroom */
	uint64_t         born_ns;    /* CLOCK_MONOTONIC when the message was read */
	uint64_t         seq;        /* its channel's message count (registry) */
	struct lg_frame *coalesced;  /* this invalidation marked "coalesced", built
	                                on first use and owned by this frame */
	uint8_t          plain;      /* an invalidation carrying a message's data */
	unsigned char    buf[];      /* LWS_PRE headroom + len bytes */
};

/* Returns the payload pointer lws_write wants. */
unsigned char *lg_frame_data(struct lg_frame *f);

/* Returns the whole WebSocket frame (FIN text header written into the
 * headroom, then the payload) for a write that bypasses lws; *n is set to
 * its length. Rewriting the header is harmless: every writer of a frame puts
 * the same bytes there. */
const unsigned char *lg_frame_wire(struct lg_frame *f, size_t *n);

/* Returns a frame holding text[0..len), refs 1, or NULL. */
struct lg_frame *lg_frame_new(const char *text, size_t len);

/* Returns the invalidate frame for channel name[0..nlen). payload NULL means
 * a resync. Valid JSON payloads are embedded as they are, anything else as a
 * JSON string (invalid UTF-8 replaced by U+FFFD). spread_ms > 0 adds a
 * "spread" hint. *too_large is set when the payload exceeded LG_MAX_PAYLOAD.
 * refs 1; NULL when out of memory. */
struct lg_frame *lg_frame_invalidate(const char *name, size_t nlen,
                                     const char *payload, size_t plen,
                                     unsigned spread_ms, int *too_large);

/* Returns what a client that missed messages before f gets instead of f: for
 * an invalidation carrying data, the same with "reason":"coalesced" (built
 * once per frame, shared by every client that needs it); for any other
 * frame (a resync, a payload too large: they carry no data to lose) f
 * itself. A new reference, or NULL when out of memory. */
struct lg_frame *lg_frame_coalesced(struct lg_frame *f);

/* Returns the {"type":"subscribed","channels":[...]} frame, or NULL. */
struct lg_frame *lg_frame_subscribed(const char *const *names, const size_t *lens,
                                     size_t n);

static inline struct lg_frame *lg_frame_ref(struct lg_frame *f)
{
	f->refs++;
	return f;
}

void lg_frame_unref(struct lg_frame *f);

/* Appends s[0..n) to out as the body of a JSON string (no quotes): escapes
 * '"', '\\' and controls, replaces invalid UTF-8 with \ufffd. out must hold
 * 6 * n bytes. Returns the bytes written. */
size_t lg_json_escape(char *out, const char *s, size_t n);

#endif
