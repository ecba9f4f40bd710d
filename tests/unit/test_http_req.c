/* tests/unit/test_http_req.c - unit tests of wire/http_req: requests on the
 * public port read with http-parser, whatever the reads cut them into
 * (every cut, one byte at a time, all at once: one result), the framing
 * rules (two Content-Lengths, chunked bodies compacted, trailers), the
 * limits (LG_HTTP_HEAD_MAX, LG_HTTP_BODY_MAX), pipelining, upgrades,
 * request targets, and the header-value helpers. */
#include <check.h>
#include "check_main.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_req.h"

#define CAP (LG_HTTP_HEAD_MAX + LG_HTTP_BODY_MAX + 1024)

/* One reading of a request: the outcome and a copy of what it found. */
struct reading {
	enum lg_http_feed st;
	struct lg_http_req r;
	char buf[CAP];
};

/* Feeds req[0..len) growing by `step` bytes a feed (0: all at once;
 * SIZE_MAX - k: first k bytes, then the rest), as http_front.c does: the
 * buffer keeps every byte, each feed says how many there are now. Stops
 * at the first answer other than LG_HTTP_MORE. */
static void read_in_steps(struct reading *rd, const char *req, size_t len, size_t step)
{
	size_t have = 0;

	ck_assert_uint_le(len, CAP);
	memcpy(rd->buf, req, len);
	lg_http_req_init(&rd->r);
	rd->st = LG_HTTP_MORE;
	while (have < len && rd->st == LG_HTTP_MORE) {
		if (step == 0)
			have = len;
		else if (step > SIZE_MAX / 2)
			have = have ? len : SIZE_MAX - step;
		else
			have = have + step < len ? have + step : len;
		rd->st = lg_http_req_feed(&rd->r, rd->buf, have);
	}
}

static struct reading *new_reading(void)
{
	struct reading *rd = malloc(sizeof *rd);

	ck_assert_ptr_nonnull(rd);
	return rd;
}

/* The text of span s of rd as a string (static buffer). */
static const char *text_of(const struct reading *rd, const char *p, size_t n)
{
	static char out[CAP + 1];

	if (!p)
		return "<none>";
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

static const char *header(const struct reading *rd, enum lg_http_hdr h)
{
	size_t n = 0;
	const char *v = lg_http_header(&rd->r, rd->buf, h, &n);

	return text_of(rd, v, n);
}

static const char *body(const struct reading *rd)
{
	size_t n;
	const char *b = lg_http_body(&rd->r, rd->buf, &n);

	return text_of(rd, b, n);
}

static const char *path(const struct reading *rd)
{
	size_t n = 0;
	const char *p = lg_http_path(&rd->r, rd->buf, &n);

	return text_of(rd, p, n);
}

/* Asserts that a and b read the same request. */
static void assert_same(const struct reading *a, const struct reading *b, const char *what)
{
	ck_assert_msg(a->st == b->st, "%s: outcome %d vs %d", what, a->st, b->st);
	if (a->st != LG_HTTP_DONE)
		return;
	ck_assert_msg(a->r.consumed == b->r.consumed, "%s: consumed %u vs %u", what,
	              a->r.consumed, b->r.consumed);
	ck_assert_uint_eq(a->r.dup, b->r.dup);
	ck_assert_uint_eq(a->r.content_length, b->r.content_length);
	ck_assert_int_eq(a->r.parser.method, b->r.parser.method);
	ck_assert_uint_eq(a->r.url.len, b->r.url.len);
	ck_assert_int_eq(memcmp(a->buf + a->r.url.off, b->buf + b->r.url.off, a->r.url.len), 0);
	for (int h = 0; h < LG_H_COUNT; h++) {
		char va[CAP + 1];
		strcpy(va, header(a, (enum lg_http_hdr)h));
		ck_assert_msg(strcmp(va, header(b, (enum lg_http_hdr)h)) == 0, "%s: header %d", what, h);
	}
	ck_assert_uint_eq(a->r.body_len, b->r.body_len);
	ck_assert_int_eq(memcmp(a->buf + a->r.body_off, b->buf + b->r.body_off, a->r.body_len), 0);
}

/* Reads req all at once, one byte at a time and cut in two at every
 * position; asserts one result; returns the all-at-once reading. */
static struct reading *read_every_way(const char *req, size_t len)
{
	struct reading *whole = new_reading(), *other = new_reading();
	char what[64];

	read_in_steps(whole, req, len, 0);
	read_in_steps(other, req, len, 1);
	assert_same(whole, other, "one byte at a time");
	for (size_t k = 1; k < len; k++) {
		read_in_steps(other, req, len, SIZE_MAX - k);
		snprintf(what, sizeof what, "cut at %zu", k);
		assert_same(whole, other, what);
	}
	free(other);
	return whole;
}

#define READ(req) read_every_way(req, sizeof req - 1)

static const char ws_upgrade[] =
	"GET /ws HTTP/1.1\r\nHost: gw.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	"Origin: https://app.example\r\n\r\n";

START_TEST(a_get_is_read_whatever_the_cuts)
{
	static const char req[] = "GET /livegate.js HTTP/1.1\r\nhost: gw\r\nIf-None-Match: \"abc\"\r\n"
	                          "X-Other: 1\r\n\r\n";
	struct reading *rd = READ(req);

	ck_assert_int_eq(rd->st, LG_HTTP_DONE);
	ck_assert_uint_eq(rd->r.consumed, sizeof req - 1);
	ck_assert_int_eq(rd->r.parser.method, HTTP_GET);
	ck_assert_str_eq(path(rd), "/livegate.js");
	ck_assert_str_eq(header(rd, LG_H_HOST), "gw");   /* names in any case */
	ck_assert_str_eq(header(rd, LG_H_IF_NONE_MATCH), "\"abc\"");
	ck_assert_str_eq(header(rd, LG_H_ORIGIN), "<none>");
	ck_assert_uint_eq(rd->r.body_len, 0);
	ck_assert_uint_eq(rd->r.content_length, UINT64_MAX);
	ck_assert_uint_eq(rd->r.dup, 0);
	free(rd);
}
END_TEST

START_TEST(every_header_livegate_reads)
{
	struct reading *rd = READ(ws_upgrade);

	ck_assert_int_eq(rd->st, LG_HTTP_DONE);
	ck_assert_str_eq(header(rd, LG_H_HOST), "gw.example");
	ck_assert_str_eq(header(rd, LG_H_UPGRADE), "websocket");
	ck_assert_str_eq(header(rd, LG_H_WS_KEY), "dGhlIHNhbXBsZSBub25jZQ==");
	ck_assert_str_eq(header(rd, LG_H_WS_VERSION), "13");
	ck_assert_str_eq(header(rd, LG_H_ORIGIN), "https://app.example");
	free(rd);
}
END_TEST

/* RFC 9110 5.5: a field value excludes the whitespace around it, so an
 * Origin or a key followed by spaces is still itself. */
START_TEST(values_exclude_surrounding_whitespace)
{
	static const char req[] = "POST /sse HTTP/1.1\r\nHost:gw\r\nOrigin: \t https://app.example \t\r\n"
	                          "Content-Type:   text/plain   \r\nExpect:\r\nContent-Length: 0\r\n\r\n";
	struct reading *rd = READ(req);

	ck_assert_int_eq(rd->st, LG_HTTP_DONE);
	ck_assert_str_eq(header(rd, LG_H_HOST), "gw");
	ck_assert_str_eq(header(rd, LG_H_ORIGIN), "https://app.example");
	ck_assert_str_eq(header(rd, LG_H_CONTENT_TYPE), "text/plain");
	ck_assert_str_eq(header(rd, LG_H_EXPECT), "");   /* present, empty */
	free(rd);
}
END_TEST

START_TEST(every_prefix_asks_for_more)
{
	static const char req[] = "POST /sse HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello";
	struct reading *rd = new_reading();

	for (size_t k = 1; k < sizeof req - 1; k++) {
		read_in_steps(rd, req, k, 0);
		ck_assert_msg(rd->st == LG_HTTP_MORE, "prefix of %zu bytes: %d", k, rd->st);
	}
	free(rd);
}
END_TEST

/* A feed that brings nothing new (a caller parsing again after a read
 * that added no byte) is not the end of the stream. */
START_TEST(a_feed_without_new_bytes_asks_for_more)
{
	static char buf[] = "GET / HTTP/1.1\r\nHo";
	struct lg_http_req r;

	lg_http_req_init(&r);
	ck_assert_int_eq(lg_http_req_feed(&r, buf, sizeof buf - 1), LG_HTTP_MORE);
	ck_assert_int_eq(lg_http_req_feed(&r, buf, sizeof buf - 1), LG_HTTP_MORE);
	lg_http_req_init(&r);
	ck_assert_int_eq(lg_http_req_feed(&r, buf, 0), LG_HTTP_MORE);
}
END_TEST

START_TEST(a_body_by_content_length)
{
	static const char req[] = "POST /sse HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\n"
	                          "Content-Length: 15\r\n\r\n{\"type\":\"ping\"}";
	struct reading *rd = READ(req);

	ck_assert_int_eq(rd->st, LG_HTTP_DONE);
	ck_assert_str_eq(body(rd), "{\"type\":\"ping\"}");
	ck_assert_uint_eq(rd->r.content_length, 15);
	ck_assert_uint_eq(rd->r.consumed, sizeof req - 1);
	free(rd);
}
END_TEST

START_TEST(a_chunked_body_is_compacted)
{
	static const char req[] = "POST /sse HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
	                          "5\r\nhello\r\n1;ext=\"x\"\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n";
	struct reading *rd = READ(req);

	ck_assert_int_eq(rd->st, LG_HTTP_DONE);
	ck_assert_str_eq(body(rd), "hello 0123456789");
	ck_assert_uint_eq(rd->r.body_len, 16);
	ck_assert_uint_eq(rd->r.content_length, UINT64_MAX);
	ck_assert_uint_eq(rd->r.consumed, sizeof req - 1);
	free(rd);
}
END_TEST

/* RFC 9112 7.1.2: trailer fields are not header fields; a trailer must not
 * supply an Origin the head did not have. */
START_TEST(trailers_are_not_headers)
{
	static const char req[] = "POST /sse HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
	                          "3\r\nabc\r\n0\r\nOrigin: https://evil.example\r\nHost: x\r\n\r\n";
	struct reading *rd = READ(req);

	ck_assert_int_eq(rd->st, LG_HTTP_DONE);
	ck_assert_str_eq(body(rd), "abc");
	ck_assert_str_eq(header(rd, LG_H_ORIGIN), "<none>");
	ck_assert_str_eq(header(rd, LG_H_HOST), "gw");
	ck_assert_uint_eq(rd->r.dup, 0);
	free(rd);
}
END_TEST

/* Two lengths could be read two ways by livegate and a proxy in front. */
START_TEST(a_length_said_two_ways_is_refused)
{
	struct reading *rd;

	rd = READ("POST /sse HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
	ck_assert_int_eq(rd->st, LG_HTTP_BAD);
	free(rd);
	rd = READ("POST /sse HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd");
	ck_assert_int_eq(rd->st, LG_HTTP_BAD);
	free(rd);
	rd = READ("POST /sse HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
	          "3\r\nabc\r\n0\r\n\r\n");
	ck_assert_int_eq(rd->st, LG_HTTP_BAD);
	free(rd);
	rd = READ("POST /sse HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip\r\n\r\nabc");
	ck_assert_int_eq(rd->st, LG_HTTP_BAD);
	free(rd);
	rd = READ("POST /sse HTTP/1.1\r\nHost: gw\r\nContent-Length: -1\r\n\r\n");
	ck_assert_int_eq(rd->st, LG_HTTP_BAD);
	free(rd);
	rd = READ("POST /sse HTTP/1.1\r\nHost: gw\r\nContent-Length: 99999999999999999999999\r\n\r\n");
	ck_assert_int_eq(rd->st, LG_HTTP_BAD);
	free(rd);
}
END_TEST

START_TEST(a_header_livegate_reads_twice_is_flagged)
{
	struct reading *rd;

	rd = READ("GET /ws HTTP/1.1\r\nHost: gw\r\nOrigin: https://a.example\r\n"
	          "origin: https://b.example\r\n\r\n");
	ck_assert_int_eq(rd->st, LG_HTTP_DONE);
	ck_assert_uint_eq(rd->r.dup, 1);
	free(rd);
	rd = READ("GET /ws HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
	ck_assert_uint_eq(rd->r.dup, 1);
	free(rd);
	rd = READ("GET /ws HTTP/1.1\r\nHost: a\r\nX-Any: 1\r\nX-Any: 2\r\nHosts: b\r\n\r\n");
	ck_assert_uint_eq(rd->r.dup, 0);   /* headers livegate does not read may repeat */
	ck_assert_str_eq(header(rd, LG_H_HOST), "a");
	free(rd);
}
END_TEST

START_TEST(malformed_requests)
{
	static const char *const bad[] = {
		"GET /ws HTTP/1.1\r\nHost gw\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHo st: gw\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost : gw\r\n\r\n",          /* RFC 9112 5.1: 400 */
		"POST /sse HTTP/1.1\r\nHost: gw\r\nContent-Length\t: 2\r\n\r\n{}",
		"FROB /ws HTTP/1.1\r\n\r\n",
		"GET /ws HTTP/x.1\r\n\r\n",
		"GET /w s HTTP/1.1\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",   /* TLS to the plain port */
	};
	struct reading *rd;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rd = read_every_way(bad[i], strlen(bad[i]));
		ck_assert_msg(rd->st == LG_HTTP_BAD, "request %zu: %d", i, rd->st);
		free(rd);
	}
}
END_TEST

/* A head of head_len bytes: request line, Host, one padding header. */
static size_t padded_head(char *buf, size_t head_len)
{
	static const char start[] = "GET /ws HTTP/1.1\r\nHost: gw\r\nX-Pad: ";
	size_t pad = head_len - (sizeof start - 1) - 4;

	memcpy(buf, start, sizeof start - 1);
	memset(buf + sizeof start - 1, 'p', pad);
	memcpy(buf + sizeof start - 1 + pad, "\r\n\r\n", 4);
	return head_len;
}

START_TEST(the_head_limit)
{
	static char req[LG_HTTP_HEAD_MAX + 64];
	struct reading *a = new_reading(), *b = new_reading();
	size_t n;

	/* At the limit: read, whatever the cuts. */
	n = padded_head(req, LG_HTTP_HEAD_MAX);
	read_in_steps(a, req, n, 0);
	ck_assert_int_eq(a->st, LG_HTTP_DONE);
	read_in_steps(b, req, n, 1);
	assert_same(a, b, "one byte at a time");
	read_in_steps(b, req, n, 4096);
	assert_same(a, b, "4 KiB reads");
	/* One byte over: 431, all at once or as it comes. */
	n = padded_head(req, LG_HTTP_HEAD_MAX + 1);
	read_in_steps(a, req, n, 0);
	ck_assert_int_eq(a->st, LG_HTTP_HEAD_TOO_BIG);
	read_in_steps(b, req, n, 1);
	ck_assert_int_eq(b->st, LG_HTTP_HEAD_TOO_BIG);
	read_in_steps(b, req, n, 4096);
	ck_assert_int_eq(b->st, LG_HTTP_HEAD_TOO_BIG);
	/* A head that never ends is refused once it is past the limit,
	 * before its end could come. */
	memset(req, 'x', sizeof req);
	memcpy(req, "GET /ws HTTP/1.1\r\nX: ", 21);
	read_in_steps(b, req, LG_HTTP_HEAD_MAX + 1, 4096);
	ck_assert_int_eq(b->st, LG_HTTP_HEAD_TOO_BIG);
	read_in_steps(b, req, LG_HTTP_HEAD_MAX, 4096);
	ck_assert_int_eq(b->st, LG_HTTP_MORE);
	free(a);
	free(b);
}
END_TEST

/* A head that is both over the limit and malformed: the answer is the
 * one its bytes reach first, whatever the reads. http-parser scans a long
 * value past its own limit in one go, so read at once it found the bad
 * byte at 16700 (400) where read in pieces it stopped at the limit (431). */
START_TEST(over_the_limit_and_malformed)
{
	static char req[LG_HTTP_HEAD_MAX + 1024];
	static const size_t steps[] = { 0, 1, 7, 97, 4096 };
	struct reading *rd = new_reading();
	size_t n = padded_head(req, LG_HTTP_HEAD_MAX + 600);

	req[LG_HTTP_HEAD_MAX + 300] = '\0';   /* past the limit */
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		read_in_steps(rd, req, n, steps[i]);
		ck_assert_msg(rd->st == LG_HTTP_HEAD_TOO_BIG, "steps of %zu: %d", steps[i], rd->st);
	}
	req[LG_HTTP_HEAD_MAX + 300] = 'p';
	req[LG_HTTP_HEAD_MAX] = '\0';         /* the first byte past it */
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		read_in_steps(rd, req, n, steps[i]);
		ck_assert_msg(rd->st == LG_HTTP_HEAD_TOO_BIG, "steps of %zu: %d", steps[i], rd->st);
	}
	req[LG_HTTP_HEAD_MAX] = 'p';
	req[LG_HTTP_HEAD_MAX - 1] = '\0';     /* the last byte within it */
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		read_in_steps(rd, req, n, steps[i]);
		ck_assert_msg(rd->st == LG_HTTP_BAD, "steps of %zu: %d", steps[i], rd->st);
	}
	req[LG_HTTP_HEAD_MAX - 1] = 'p';
	req[100] = '\0';                      /* early */
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		read_in_steps(rd, req, n, steps[i]);
		ck_assert_msg(rd->st == LG_HTTP_BAD, "steps of %zu: %d", steps[i], rd->st);
	}
	free(rd);
}
END_TEST

/* A name with a space, in a head that goes on past the limit: refused at
 * the name, however the reads cut it (read at once, the name was checked
 * only when its value ended, past the limit: 431). */
START_TEST(a_bad_name_is_refused_where_it_is)
{
	static char req[LG_HTTP_HEAD_MAX + 1024];
	static const size_t steps[] = { 0, 1, 7, 97, 4096 };
	struct reading *rd = new_reading();
	size_t n = padded_head(req, LG_HTTP_HEAD_MAX + 600);

	memcpy(strstr(req, "X-Pad"), "X-P d", 5);
	req[LG_HTTP_HEAD_MAX + 300] = '\0';
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		read_in_steps(rd, req, n, steps[i]);
		ck_assert_msg(rd->st == LG_HTTP_BAD, "steps of %zu: %d", steps[i], rd->st);
	}
	free(rd);
}
END_TEST

START_TEST(the_body_limit)
{
	static char req[CAP];
	struct reading *a = new_reading();
	size_t h;

	/* Content-Length at the limit: read whole. */
	h = (size_t)sprintf(req, "POST /sse HTTP/1.1\r\nHost: gw\r\nContent-Length: %d\r\n\r\n",
	                    LG_HTTP_BODY_MAX);
	memset(req + h, 'b', LG_HTTP_BODY_MAX);
	read_in_steps(a, req, h + LG_HTTP_BODY_MAX, 1000);
	ck_assert_int_eq(a->st, LG_HTTP_DONE);
	ck_assert_uint_eq(a->r.body_len, LG_HTTP_BODY_MAX);
	/* One byte over: 413 as soon as the head is in, before the body. */
	h = (size_t)sprintf(req, "POST /sse HTTP/1.1\r\nHost: gw\r\nContent-Length: %d\r\n\r\n",
	                    LG_HTTP_BODY_MAX + 1);
	read_in_steps(a, req, h, 0);
	ck_assert_int_eq(a->st, LG_HTTP_BODY_TOO_BIG);
	/* Chunked, where the length is not announced: 413 once the chunks
	 * pass the limit. */
	h = (size_t)sprintf(req, "POST /sse HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
	                    "%x\r\n", LG_HTTP_BODY_MAX);
	memset(req + h, 'c', LG_HTTP_BODY_MAX);
	h += LG_HTTP_BODY_MAX;
	h += (size_t)sprintf(req + h, "\r\n1\r\nc\r\n0\r\n\r\n");
	read_in_steps(a, req, h, 0);
	ck_assert_int_eq(a->st, LG_HTTP_BODY_TOO_BIG);
	read_in_steps(a, req, h, 777);
	ck_assert_int_eq(a->st, LG_HTTP_BODY_TOO_BIG);
	/* The same chunks one byte shorter are read, compacted. */
	h = (size_t)sprintf(req, "POST /sse HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
	                    "%x\r\n", LG_HTTP_BODY_MAX - 1);
	memset(req + h, 'c', LG_HTTP_BODY_MAX - 1);
	h += LG_HTTP_BODY_MAX - 1;
	h += (size_t)sprintf(req + h, "\r\n1\r\nd\r\n0\r\n\r\n");
	read_in_steps(a, req, h, 777);
	ck_assert_int_eq(a->st, LG_HTTP_DONE);
	ck_assert_uint_eq(a->r.body_len, LG_HTTP_BODY_MAX);
	ck_assert_int_eq(a->buf[a->r.body_off + LG_HTTP_BODY_MAX - 1], 'd');
	free(a);
}
END_TEST

START_TEST(pipelined_requests_one_after_the_other)
{
	static const char reqs[] = "GET /livegate.js HTTP/1.1\r\nHost: gw\r\n\r\n"
	                           "POST /sse HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\n{}"
	                           "HEAD /livegate.js HTTP/1.1\r\nHost: gw\r\n\r\nGET /x";
	static const char *const paths[] = { "/livegate.js", "/sse", "/livegate.js" };
	struct reading *rd = READ(reqs);
	struct lg_http_req r;
	static char buf[sizeof reqs];
	size_t off = 0;

	/* Read at once, the first request ends where the second starts. */
	ck_assert_int_eq(rd->st, LG_HTTP_DONE);
	ck_assert_uint_eq(rd->r.consumed, strlen("GET /livegate.js HTTP/1.1\r\nHost: gw\r\n\r\n"));
	free(rd);
	/* Then each is read from there on, as http_front.c does after a
	 * response; the last one waits for its end. */
	memcpy(buf, reqs, sizeof reqs);
	for (int i = 0; i < 3; i++) {
		size_t n = 0;
		const char *p;
		lg_http_req_init(&r);
		ck_assert_int_eq(lg_http_req_feed(&r, buf + off, sizeof reqs - 1 - off), LG_HTTP_DONE);
		p = lg_http_path(&r, buf + off, &n);
		ck_assert_uint_eq(n, strlen(paths[i]));
		ck_assert_int_eq(strncmp(p, paths[i], n), 0);
		/* Asked again, a finished request stays finished. */
		ck_assert_int_eq(lg_http_req_feed(&r, buf + off, sizeof reqs - 1 - off), LG_HTTP_DONE);
		off += r.consumed;
	}
	ck_assert_str_eq(buf + off, "GET /x");
	lg_http_req_init(&r);
	ck_assert_int_eq(lg_http_req_feed(&r, buf + off, sizeof reqs - 1 - off), LG_HTTP_MORE);
}
END_TEST

/* An upgrade's request ends with its head: what follows is the new
 * protocol (a client may send its first frame right behind it). */
START_TEST(an_upgrade_ends_at_its_head)
{
	char req[sizeof ws_upgrade + 8];
	struct reading *rd;

	memcpy(req, ws_upgrade, sizeof ws_upgrade - 1);
	memcpy(req + sizeof ws_upgrade - 1, "\x81\x85\x01\x02\x03\x04h", 7);
	rd = read_every_way(req, sizeof ws_upgrade - 1 + 7);
	ck_assert_int_eq(rd->st, LG_HTTP_DONE);
	ck_assert_uint_eq(rd->r.consumed, sizeof ws_upgrade - 1);
	ck_assert(rd->r.parser.upgrade);
	free(rd);
}
END_TEST

/* An upgrade offer on a request with a body (curl --http2 over plain
 * HTTP sends "Upgrade: h2c" with every request) is done once its body is
 * in: read in two reads, it was done at its head with half a body. */
START_TEST(an_upgrade_offer_with_a_body_waits_for_the_body)
{
	static const char req[] = "POST /sse HTTP/1.1\r\nHost: gw\r\nUpgrade: h2c\r\n"
	                          "Connection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
	                          "Content-Length: 15\r\n\r\n{\"type\":\"ping\"}";
	struct reading *rd = READ(req), *part = new_reading();

	ck_assert_int_eq(rd->st, LG_HTTP_DONE);
	ck_assert_str_eq(body(rd), "{\"type\":\"ping\"}");
	ck_assert_uint_eq(rd->r.consumed, sizeof req - 1);
	read_in_steps(part, req, sizeof req - 1 - 5, 0);
	ck_assert_int_eq(part->st, LG_HTTP_MORE);
	free(part);
	free(rd);
}
END_TEST

START_TEST(request_targets)
{
	static const struct { const char *req, *path; } cases[] = {
		{ "GET /ws HTTP/1.1\r\nHost: gw\r\n\r\n", "/ws" },
		{ "GET /ws?x=1&y=%20 HTTP/1.1\r\nHost: gw\r\n\r\n", "/ws" },
		{ "GET /ws#frag HTTP/1.1\r\nHost: gw\r\n\r\n", "/ws" },
		{ "GET http://gw.example:8080/ws?x=1 HTTP/1.1\r\nHost: gw.example:8080\r\n\r\n", "/ws" },
		{ "GET https://gw.example/livegate.js HTTP/1.1\r\nHost: gw.example\r\n\r\n", "/livegate.js" },
		{ "GET http://user@gw.example/sse HTTP/1.1\r\nHost: gw.example\r\n\r\n", "/sse" },
		{ "GET http://gw.example HTTP/1.1\r\nHost: gw.example\r\n\r\n", "<none>" },
		{ "OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n", "*" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct reading *rd = read_every_way(cases[i].req, strlen(cases[i].req));
		ck_assert_msg(rd->st == LG_HTTP_DONE, "case %zu: %d", i, rd->st);
		ck_assert_str_eq(path(rd), cases[i].path);
		free(rd);
	}
}
END_TEST

START_TEST(list_has)
{
	static const struct { const char *v, *token; int want; } cases[] = {
		{ "Upgrade", "upgrade", 1 },
		{ "keep-alive, Upgrade", "upgrade", 1 },
		{ "keep-alive,upgrade", "upgrade", 1 },
		{ " \tUPGRADE\t ", "upgrade", 1 },
		{ ",,upgrade,,", "upgrade", 1 },
		{ "h2c, websocket", "websocket", 1 },
		{ "upgrades", "upgrade", 0 },
		{ "up grade", "upgrade", 0 },
		{ "keep-alive", "upgrade", 0 },
		{ "", "upgrade", 0 },
		{ ",", "upgrade", 0 },
		{ "websocket/13", "websocket", 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(lg_http_list_has(cases[i].v, strlen(cases[i].v), cases[i].token) ==
		              cases[i].want, "\"%s\" has %s", cases[i].v, cases[i].token);
	/* Only n bytes are read: a match past them does not count. */
	ck_assert_int_eq(lg_http_list_has("close, upgrade", 6, "upgrade"), 0);
	ck_assert_int_eq(lg_http_list_has("upgradeXYZ", 7, "upgrade"), 1);
}
END_TEST

START_TEST(etag_matches)
{
	static const char tag[] = "\"0123abcd\"";
	static const struct { const char *v; int want; } cases[] = {
		{ "\"0123abcd\"", 1 },
		{ "W/\"0123abcd\"", 1 },              /* weak comparison (RFC 9110 13.1.2) */
		{ "\"x\", \"0123abcd\"", 1 },
		{ "\"x\",W/\"0123abcd\" , \"y\"", 1 },
		{ "*", 1 },
		{ "  *  ", 1 },
		{ "\"0123abce\"", 0 },
		{ "0123abcd", 0 },                    /* not quoted: malformed */
		{ "\"0123abcd", 0 },
		{ "\"0123abcd\"x", 0 },
		{ "w/\"0123abcd\"", 0 },              /* the weak prefix is case-sensitive */
		{ "\"x\", *", 0 },                    /* "*" only stands alone */
		{ "", 0 },
		{ ",,", 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(lg_http_etag_matches(cases[i].v, strlen(cases[i].v), tag) == cases[i].want,
		              "If-None-Match: %s", cases[i].v);
	ck_assert_int_eq(lg_http_etag_matches("\"0123abcd\"", 9, tag), 0);   /* only n bytes */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_req");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, a_get_is_read_whatever_the_cuts);
	tcase_add_test(tc, every_header_livegate_reads);
	tcase_add_test(tc, values_exclude_surrounding_whitespace);
	tcase_add_test(tc, every_prefix_asks_for_more);
	tcase_add_test(tc, a_feed_without_new_bytes_asks_for_more);
	tcase_add_test(tc, a_body_by_content_length);
	tcase_add_test(tc, a_chunked_body_is_compacted);
	tcase_add_test(tc, trailers_are_not_headers);
	tcase_add_test(tc, a_length_said_two_ways_is_refused);
	tcase_add_test(tc, a_header_livegate_reads_twice_is_flagged);
	tcase_add_test(tc, malformed_requests);
	tcase_add_test(tc, the_head_limit);
	tcase_add_test(tc, over_the_limit_and_malformed);
	tcase_add_test(tc, a_bad_name_is_refused_where_it_is);
	tcase_add_test(tc, the_body_limit);
	tcase_add_test(tc, pipelined_requests_one_after_the_other);
	tcase_add_test(tc, an_upgrade_ends_at_its_head);
	tcase_add_test(tc, an_upgrade_offer_with_a_body_waits_for_the_body);
	tcase_add_test(tc, request_targets);
	tcase_add_test(tc, list_has);
	tcase_add_test(tc, etag_matches);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
