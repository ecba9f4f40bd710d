/* gateway/frame.c - build each outgoing frame once. */
#include "frame.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

unsigned char *lg_frame_data(struct lg_frame *f)
{
	return f->buf + LWS_PRE;
}

_Static_assert(LWS_PRE >= 10, "the headroom must hold the longest frame header");

const unsigned char *lg_frame_wire(struct lg_frame *f, size_t *n)
{
	unsigned char *p = lg_frame_data(f);
	uint32_t len = f->len;
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
			p[-1 - i] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	p[-(ptrdiff_t)h] = 0x81;   /* FIN, text */
	*n = h + len;
	return p - h;
}

/* Returns a frame with room for len bytes (uninitialised), refs 1. */
static struct lg_frame *frame_alloc(size_t len)
{
	struct lg_frame *f;
	struct timespec ts;

	if (len > UINT32_MAX)
		return NULL;
	f = malloc(sizeof *f + LWS_PRE + len);
	if (!f)
		return NULL;
	f->refs = 1;
	f->len = (uint32_t)len;
	f->coalesced = NULL;
	f->plain = 0;
	f->seq = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	f->born_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return f;
}

struct lg_frame *lg_frame_new(const char *text, size_t len)
{
	struct lg_frame *f = frame_alloc(len);

	if (f)
		memcpy(lg_frame_data(f), text, len);
	return f;
}

void lg_frame_unref(struct lg_frame *f)
{
	if (f && --f->refs == 0) {
		lg_frame_unref(f->coalesced);
		free(f);
	}
}

static const char invalidate_head[] = "{\"type\":\"invalidate\",";

struct lg_frame *lg_frame_coalesced(struct lg_frame *f)
{
	static const char marked[] = "{\"type\":\"invalidate\",\"reason\":\"coalesced\",";
	const size_t skip = sizeof invalidate_head - 1, add = sizeof marked - 1;
	struct lg_frame *c;

	if (!f->plain)
		return lg_frame_ref(f);
	if (!f->coalesced) {
		c = frame_alloc(f->len - skip + add);
		if (!c)
			return NULL;
		c->born_ns = f->born_ns;
		memcpy(lg_frame_data(c), marked, add);
		memcpy(lg_frame_data(c) + add, lg_frame_data(f) + skip, f->len - skip);
		f->coalesced = c;
	}
	return lg_frame_ref(f->coalesced);
}

/* Returns the length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp;

	if (c < 0x80) return 1;
	if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
	else return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

size_t lg_json_escape(char *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
			i++;
		} else if (c < 0x20) {
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[c >> 4];
			out[o + 5] = hex[c & 15];
			o += 6;
			i++;
		} else if (c < 0x80) {
			out[o++] = (char)c;
			i++;
		} else {
			size_t l = utf8_seq(u + i, n - i);
			if (l) {
				memcpy(out + o, u + i, l);
				o += l;
				i += l;
			} else {
				memcpy(out + o, "\\ufffd", 6);
				o += 6;
				i++;
			}
		}
	}
	return o;
}

/* Returns a frame of capacity cap starting with head[0..hlen), with *d at
 * its text and *o the bytes written, or NULL. */
static struct lg_frame *frame_begin(size_t cap, const char *head, size_t hlen,
                                    char **d, size_t *o)
{
	struct lg_frame *f = frame_alloc(cap);

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

struct lg_frame *lg_frame_invalidate(const char *name, size_t nlen,
                                     const char *payload, size_t plen,
                                     unsigned spread_ms, int *too_large)
{
	static const char head[] = "{\"type\":\"invalidate\",\"channel\":\"";
	_Static_assert(sizeof invalidate_head - 1 < sizeof head - 1, "a prefix of head");
	const char *tail = NULL;
	int embed = 0;
	size_t cap, o;
	struct lg_frame *f;
	char *d;

	*too_large = 0;
	if (!payload)
		tail = ",\"data\":null,\"reason\":\"resync\"";
	else if (plen > LG_MAX_PAYLOAD) {
		*too_large = 1;
		tail = ",\"data\":null,\"reason\":\"payload_too_large\"";
	} else
		embed = is_json(payload, plen) ? 1 : 2;
	cap = sizeof head + 6 * nlen + 64 + (embed == 1 ? plen : embed == 2 ? 6 * plen : 0) + 64;
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
		if (embed == 1) {
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
