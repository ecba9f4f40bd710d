/* wire/frame.c - build each outgoing frame once (see frame.h). */
#include "frame.h"
#include "clock.h"
#include "utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct lg_frame *frame_alloc(size_t len, int raw);

void lg_frame_unref(struct lg_frame *f)
{
	if (f && --f->refs == 0) {
		lg_frame_unref(f->coalesced);
		lg_frame_unref(f->sse);
		free(f);
	}
}

/* Returns a frame with room for len bytes (uninitialised), refs 1. */
static struct lg_frame *frame_alloc(size_t len, int raw)
{
	struct lg_frame *f;

	if (len > UINT32_MAX - LG_FRAME_HEADROOM)
		return NULL;
	f = malloc(sizeof *f + LG_FRAME_HEADROOM + len);
	if (!f)
		return NULL;
	*f = (struct lg_frame){
		.refs = 1,
		.len = (uint32_t)len,
		.born_ns = lg_now_ns(),
		.raw = (uint8_t)raw,
	};
	return f;
}

struct lg_frame *lg_frame_new(const char *text, size_t len)
{
	struct lg_frame *f = frame_alloc(len, 0);

	if (f)
		memcpy(lg_frame_data(f), text, len);
	return f;
}

struct lg_frame *lg_frame_raw(const void *bytes, size_t len)
{
	struct lg_frame *f = frame_alloc(len, 1);

	if (f)
		memcpy(lg_frame_data(f), bytes, len);
	return f;
}

/* Writes a server-to-client (unmasked) header for a FIN frame of opcode and
 * len payload bytes ending at p. Returns the header's length. */
static size_t ws_header_before(unsigned char *p, unsigned opcode, uint64_t len)
{
	size_t h;

	if (len < 126) {
		h = 2;
		p[-1] = (unsigned char)len;
	} else if (len <= 0xffff) {
		h = 4;
		p[-3] = 126;
		p[-2] = (unsigned char)(len >> 8);
		p[-1] = (unsigned char)len;
	} else {
		h = 10;
		p[-9] = 127;
		for (int i = 0; i < 8; i++)
			p[-1 - i] = (unsigned char)(len >> (8 * i));
	}
	p[-(ptrdiff_t)h] = (unsigned char)(0x80 | opcode);
	return h;
}

const unsigned char *lg_frame_ws(struct lg_frame *f, size_t *n)
{
	unsigned char *p = lg_frame_data(f);
	size_t h;

	if (f->raw) {
		*n = f->len;
		return p;
	}
	h = ws_header_before(p, 0x1, f->len);
	*n = h + f->len;
	return p - h;
}

const unsigned char *lg_frame_sse(struct lg_frame *f, size_t *n)
{
	static const char data[] = "data: ";
	const unsigned char *t = lg_frame_data(f);
	size_t breaks = 0, o;
	unsigned char *d;

	if (f->raw) {
		*n = f->len;
		return lg_frame_data(f);
	}
	if (!f->sse) {
		for (size_t i = 0; i < f->len; i++)
			breaks += t[i] == '\n' || t[i] == '\r';
		f->sse = frame_alloc(6 + f->len + breaks * 6 + 2, 1);
		if (!f->sse)
			return NULL;
		d = lg_frame_data(f->sse);
		memcpy(d, data, 6);
		o = 6;
		/* JSON allows CR and LF only as whitespace between tokens; each one
		 * becomes a new data line (CRLF counts twice, harmlessly). */
		for (size_t i = 0; i < f->len; i++) {
			if (t[i] == '\n' || t[i] == '\r') {
				d[o++] = '\n';
				memcpy(d + o, data, 6);
				o += 6;
			} else {
				d[o++] = t[i];
			}
		}
		d[o++] = '\n';
		d[o++] = '\n';
		f->sse->len = (uint32_t)o;
	}
	*n = f->sse->len;
	return lg_frame_data(f->sse);
}

struct lg_frame *lg_frame_ws_control(unsigned opcode, const void *payload, size_t n)
{
	struct lg_frame *f;

	if (n > 125 || opcode < 0x8 || opcode > 0xA)
		return NULL;
	f = frame_alloc(2 + n, 1);
	if (!f)
		return NULL;
	ws_header_before(lg_frame_data(f) + 2, opcode, n);
	if (n)
		memcpy(lg_frame_data(f) + 2, payload, n);
	return f;
}

/* Returns how many bytes of s[0..n) fit in max without cutting a UTF-8
 * sequence (s is valid UTF-8 or ASCII). */
static size_t utf8_prefix(const char *s, size_t n, size_t max)
{
	size_t i = 0;

	while (i < n) {
		size_t l = lg_utf8_seq((const unsigned char *)s + i, n - i);
		if (!l || i + l > max)
			break;
		i += l;
	}
	return i;
}

struct lg_frame *lg_frame_ws_close(unsigned code, const char *reason)
{
	unsigned char p[125];
	size_t rl = reason ? utf8_prefix(reason, strlen(reason), sizeof p - 2) : 0;

	p[0] = (unsigned char)(code >> 8);
	p[1] = (unsigned char)code;
	if (rl)
		memcpy(p + 2, reason, rl);
	return lg_frame_ws_control(0x8, p, 2 + rl);
}

/* Returns a JSON frame of capacity cap starting with head[0..hlen), with *d
 * at its text and *o the bytes written, or NULL. */
static struct lg_frame *frame_begin(size_t cap, const char *head, size_t hlen,
                                    char **d, size_t *o)
{
	struct lg_frame *f = frame_alloc(cap, 0);

	if (!f)
		return NULL;
	*d = (char *)lg_frame_data(f);
	memcpy(*d, head, hlen);
	*o = hlen;
	return f;
}

/* Returns 1 if p[0..n) is one valid JSON value (any type). */
static int is_json(const char *p, size_t n)
{
	json_error_t err;
	json_t *v;

	if (n == 0)
		return 0;
	v = json_loadb(p, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &err);
	if (!v)
		return 0;
	json_decref(v);
	return 1;
}

static const char invalidate_head[] = "{\"type\":\"invalidate\",";

struct lg_frame *lg_frame_missed(const char *name, size_t nlen)
{
	static const char head[] = "{\"type\":\"invalidate\",\"channel\":\"";
	static const char tail[] = "\",\"data\":null,\"reason\":\"missed\"}";
	struct lg_frame *f = frame_alloc(sizeof head + 6 * nlen + sizeof tail, 0);
	char *d;
	size_t o;

	if (!f)
		return NULL;
	d = (char *)lg_frame_data(f);
	memcpy(d, head, sizeof head - 1);
	o = sizeof head - 1;
	o += lg_json_escape(d + o, name, nlen);
	memcpy(d + o, tail, sizeof tail - 1);
	f->len = (uint32_t)(o + sizeof tail - 1);
	return f;
}

struct lg_frame *lg_frame_coalesced(struct lg_frame *f)
{
	static const char marked[] = "{\"type\":\"invalidate\",\"reason\":\"coalesced\",";
	const size_t skip = sizeof invalidate_head - 1, add = sizeof marked - 1;
	struct lg_frame *c;

	if (!f->plain)
		return lg_frame_ref(f);
	if (!f->coalesced) {
		c = frame_alloc(f->len - skip + add, 0);
		if (!c)
			return NULL;
		c->born_ns = f->born_ns;
		c->seq = f->seq;
		memcpy(lg_frame_data(c), marked, add);
		memcpy(lg_frame_data(c) + add, lg_frame_data(f) + skip, f->len - skip);
		f->coalesced = c;
	}
	return lg_frame_ref(f->coalesced);
}

struct lg_frame *lg_frame_invalidate(const char *name, size_t nlen,
                                     const char *payload, size_t plen,
                                     unsigned spread_ms, int *too_large)
{
	static const char head[] = "{\"type\":\"invalidate\",\"channel\":\"";
	enum { AS_JSON, AS_STRING, AS_NULL } how = AS_NULL;
	const char *tail = NULL;
	size_t cap, o;
	struct lg_frame *f;
	char *d;

	_Static_assert(sizeof invalidate_head - 1 < sizeof head - 1, "a prefix of head");
	*too_large = 0;
	if (!payload) {
		tail = ",\"data\":null,\"reason\":\"resync\"";
	} else if (plen > LG_MAX_PAYLOAD) {
		*too_large = 1;
		tail = ",\"data\":null,\"reason\":\"payload_too_large\"";
	} else {
		how = is_json(payload, plen) ? AS_JSON : AS_STRING;
	}
	cap = sizeof head + 6 * nlen + 64 + (how == AS_JSON ? plen : how == AS_STRING ? 6 * plen : 0) +
	      64;
	f = frame_begin(cap, head, sizeof head - 1, &d, &o);
	if (!f)
		return NULL;
	o += lg_json_escape(d + o, name, nlen);
	d[o++] = '"';
	if (tail) {
		memcpy(d + o, tail, strlen(tail));
		o += strlen(tail);
	} else {
		memcpy(d + o, ",\"data\":", 8);
		o += 8;
		if (how == AS_JSON) {
			memcpy(d + o, payload, plen);
			o += plen;
		} else {
			d[o++] = '"';
			o += lg_json_escape(d + o, payload, plen);
			d[o++] = '"';
		}
	}
	if (spread_ms)
		o += (size_t)snprintf(d + o, 32, ",\"spread\":%u", spread_ms);
	d[o++] = '}';
	f->len = (uint32_t)o;
	f->plain = !tail;
	return f;
}

struct lg_frame *lg_frame_subscribed(const char *const *names, const size_t *lens,
                                     size_t n)
{
	static const char head[] = "{\"type\":\"subscribed\",\"channels\":[";
	size_t cap = sizeof head + 4;
	struct lg_frame *f;
	char *d;
	size_t o;

	for (size_t i = 0; i < n; i++)
		cap += 6 * lens[i] + 3;
	f = frame_begin(cap, head, sizeof head - 1, &d, &o);
	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (i)
			d[o++] = ',';
		d[o++] = '"';
		o += lg_json_escape(d + o, names[i], lens[i]);
		d[o++] = '"';
	}
	d[o++] = ']';
	d[o++] = '}';
	f->len = (uint32_t)o;
	return f;
}

struct lg_frame *lg_frame_close_event(unsigned code, const char *reason)
{
	static const char head[] = "{\"type\":\"close\",\"code\":";
	size_t rl = reason ? strlen(reason) : 0;
	struct lg_frame *f;
	char *d;
	size_t o;

	f = frame_begin(sizeof head + 16 + 13 + 6 * rl + 2, head, sizeof head - 1, &d, &o);
	if (!f)
		return NULL;
	o += (size_t)snprintf(d + o, 16, "%u", code);
	memcpy(d + o, ",\"reason\":\"", 11);
	o += 11;
	o += lg_json_escape(d + o, reason ? reason : "", rl);
	d[o++] = '"';
	d[o++] = '}';
	f->len = (uint32_t)o;
	return f;
}
