/* wire/frame.h - immutable, refcounted outgoing frames, built once per
 * message and shared by every subscriber, whatever carries them.
 *
 * A frame is either a JSON text (an invalidation, 'subscribed', ...) that
 * each transport wraps its own way, or raw bytes sent as they are (an HTTP
 * response, a WebSocket control frame). A JSON frame keeps headroom in
 * front of its text so the WebSocket header can be written in place, and
 * builds its Server-Sent-Events form the first time a stream needs it: one
 * build per message, not per subscriber.
 */
#ifndef LG_WIRE_FRAME_H
#define LG_WIRE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "json_escape.h"
#include "limits.h"

/* Room in front of a JSON text for the longest WebSocket header. */
#define LG_FRAME_HEADROOM 10

struct lg_frame {
	uint32_t         refs;
	uint32_t         len;        /* bytes of the text (or raw bytes) */
	uint64_t         born_ns;    /* CLOCK_MONOTONIC when it was built */
	uint64_t         seq;        /* its channel's message count (registry) */
	struct lg_frame *coalesced;  /* this invalidation marked "coalesced" */
	struct lg_frame *sse;        /* the Server-Sent-Events form (raw) */
	uint8_t          plain;      /* an invalidation carrying a message's data */
	uint8_t          raw;        /* buf holds bytes to send as they are */
	unsigned char    buf[];      /* LG_FRAME_HEADROOM + len bytes */
};

/* Returns the text (or raw bytes). */
static inline unsigned char *lg_frame_data(struct lg_frame *f)
{
	return f->buf + LG_FRAME_HEADROOM;
}

static inline struct lg_frame *lg_frame_ref(struct lg_frame *f)
{
	f->refs++;
	return f;
}

void lg_frame_unref(struct lg_frame *f);

/* Returns a JSON frame holding text[0..len), refs 1, or NULL. */
struct lg_frame *lg_frame_new(const char *text, size_t len);

/* Returns a raw frame holding bytes[0..len), refs 1, or NULL. */
struct lg_frame *lg_frame_raw(const void *bytes, size_t len);

/* Returns the bytes a WebSocket sends for f: for a JSON frame one FIN text
 * frame (its header written into the headroom: every writer writes the
 * same bytes there), for a raw frame its bytes. *n is set. */
const unsigned char *lg_frame_ws(struct lg_frame *f, size_t *n);

/* Returns the bytes an event stream sends for f: for a JSON frame the
 * event "data: <text>\n\n" (a line break inside the text starts another
 * data line, which the browser joins back with "\n"), built on first use
 * and kept with f; for a raw frame its bytes. NULL when out of memory. */
const unsigned char *lg_frame_sse(struct lg_frame *f, size_t *n);

/* Returns a raw, unmasked WebSocket control frame (opcode 0x8-0xA) with
 * payload[0..n), n <= 125, or NULL. */
struct lg_frame *lg_frame_ws_control(unsigned opcode, const void *payload, size_t n);

/* Returns the raw WebSocket close frame for code with reason (cut to fit
 * 123 bytes at a character boundary), or NULL. */
struct lg_frame *lg_frame_ws_close(unsigned code, const char *reason);

/* Returns the invalidate frame for channel name[0..nlen). payload NULL means
 * a resync. Valid JSON payloads are embedded as they are, anything else as a
 * JSON string (invalid UTF-8 replaced by U+FFFD). spread_ms > 0 adds a
 * "spread" hint. *too_large is set when the payload exceeded LG_MAX_PAYLOAD.
 * refs 1; NULL when out of memory. */
struct lg_frame *lg_frame_invalidate(const char *name, size_t nlen,
                                     const char *payload, size_t plen,
                                     unsigned spread_ms, int *too_large);

/* Returns the catch-up invalidation for channel name[0..nlen): a publish
 * between the page's render and its subscription ("reason":"missed"). */
struct lg_frame *lg_frame_missed(const char *name, size_t nlen);

/* Returns what a client that missed messages before f gets instead of f: for
 * an invalidation carrying data, the same with "reason":"coalesced" (built
 * once per frame, shared by every client that needs it); for any other
 * frame (a resync, a payload too large: they carry no data to lose) f
 * itself. A new reference, or NULL when out of memory. */
struct lg_frame *lg_frame_coalesced(struct lg_frame *f);

/* Returns the {"type":"subscribed","channels":[...]} frame, or NULL. */
struct lg_frame *lg_frame_subscribed(const char *const *names, const size_t *lens,
                                     size_t n);

/* Returns {"type":"close","code":code,"reason":"<reason>"}, the event a
 * stream ends with, or NULL. */
struct lg_frame *lg_frame_close_event(unsigned code, const char *reason);

#endif
