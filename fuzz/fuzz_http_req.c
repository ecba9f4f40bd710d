/* fuzz/fuzz_http_req.c - libFuzzer target for wire/http_req: requests on
 * the public port, fed the way worker/http_front.c feeds them (the buffer
 * holds every byte of the request read so far; each read adds some), in
 * random cuts, and compared with the same bytes fed at once.
 *
 * The first input byte seeds the cuts (0: one byte at a time); the rest is
 * what the client sent. Requests are read one after the other as long as
 * they come whole (pipelining), like http_front.c does after a response.
 *
 * Invariants besides the sanitizers: whatever the cuts, the outcome (a
 * request that breaks two rules may be refused for either: 400 or 431, as
 * http-parser checks a header's syntax and the head's size at points that
 * depend on where the reads end; refused it is either way), the bytes
 * consumed, the request target, every header livegate reads, the
 * duplicate flag, the announced length and the (compacted) body are the
 * same as when everything came at once; a finished request never consumed
 * more than it was given; the body is within LG_HTTP_BODY_MAX; a path is
 * inside the target. The helpers livegate applies to what it read
 * (lg_http_path, lg_http_list_has, lg_http_etag_matches, the WebSocket
 * handshake check) run on every finished request.
 */
#include <string.h>

#include "fuzz.h"
#include "http_req.h"
#include "ws_handshake.h"

#define CAP (LG_HTTP_HEAD_MAX + LG_HTTP_BODY_MAX + 1024)   /* http_front.c's IN_CAP */

struct outcome {
	enum lg_http_feed st;
	struct lg_http_req r;
};

static char whole[CAP], cut[CAP];

/* Feeds buf[0..len) to r in pieces drawn from seed; returns the result of
 * the last feed. */
static enum lg_http_feed feed_in_cuts(struct lg_http_req *r, char *buf, size_t len,
                                      unsigned seed)
{
	enum lg_http_feed st = LG_HTTP_MORE;
	size_t have = 0;
	uint32_t x = seed * 2654435761u + 1;

	lg_http_req_init(r);
	while (have < len && st == LG_HTTP_MORE) {
		size_t step = 1;

		if (seed) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			step = 1 + x % 97;
		}
		have = have + step < len ? have + step : len;
		st = lg_http_req_feed(r, buf, have);
		/* Asked again with nothing new: the same answer, nothing read. */
		if (st == LG_HTTP_MORE || st == LG_HTTP_DONE) {
			uint32_t consumed = r->consumed;
			CHECK(lg_http_req_feed(r, buf, have) == st && r->consumed == consumed);
		}
	}
	return st;
}

static int refused(enum lg_http_feed st)
{
	return st != LG_HTTP_MORE && st != LG_HTTP_DONE;
}

static void same_span(const char *a, const struct lg_http_span *sa,
                      const char *b, const struct lg_http_span *sb)
{
	CHECK(sa->len == sb->len);
	CHECK((!sa->off && !sa->len) == (!sb->off && !sb->len));
	CHECK(memcmp(a + sa->off, b + sb->off, sa->len) == 0);
}

static void use_request(const struct lg_http_req *r, const char *buf)
{
	const char *v, *path;
	size_t n, pn;
	char accept[LG_WS_ACCEPT_LEN + 1];
	int rc;

	path = lg_http_path(r, buf, &pn);
	if (path)
		CHECK(path >= buf + r->url.off && path + pn <= buf + r->url.off + r->url.len);
	v = lg_http_header(r, buf, LG_H_UPGRADE, &n);
	if (v)
		(void)lg_http_list_has(v, n, "websocket");
	v = lg_http_header(r, buf, LG_H_IF_NONE_MATCH, &n);
	if (v)
		(void)lg_http_etag_matches(v, n, "\"0123456789abcdef\"");
	rc = lg_ws_handshake_check(r, buf, accept);
	CHECK(rc == 0 || rc == 400 || rc == 426);
	if (rc == 0)
		CHECK(strlen(accept) == LG_WS_ACCEPT_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lg_http_req a, b;
	size_t off = 0;
	unsigned seed;

	if (size < 1 || size - 1 > CAP)
		return 0;
	seed = data[0];
	data++;
	size--;
	memcpy(whole, data, size);
	memcpy(cut, data, size);
	for (int req = 0; req < 8 && off < size; req++) {
		enum lg_http_feed sa, sb;

		lg_http_req_init(&a);
		sa = lg_http_req_feed(&a, whole + off, size - off);
		sb = feed_in_cuts(&b, cut + off, size - off, seed);
		CHECK(sa == sb || (refused(sa) && refused(sb)));
		if (sa != LG_HTTP_DONE)
			break;
		CHECK(a.consumed == b.consumed && a.consumed <= size - off && a.consumed > 0);
		CHECK(a.done && a.head_done);
		CHECK(a.content_length == b.content_length && a.dup == b.dup);
		CHECK(a.parser.method == b.parser.method && a.parser.upgrade == b.parser.upgrade);
		same_span(whole + off, &a.url, cut + off, &b.url);
		for (int h = 0; h < LG_H_COUNT; h++)
			same_span(whole + off, &a.hdr[h], cut + off, &b.hdr[h]);
		CHECK(a.body_len == b.body_len && a.body_len <= LG_HTTP_BODY_MAX);
		CHECK(a.body_len == 0 || a.body_off + a.body_len <= a.consumed);
		CHECK(memcmp(whole + off + a.body_off, cut + off + b.body_off, a.body_len) == 0);
		use_request(&a, whole + off);
		if (a.parser.upgrade)
			break;   /* the rest is the new protocol */
		off += a.consumed;
	}
	return 0;
}
