/* wire/http_req.h - one HTTP/1.x request on the public port, read with the
 * nodejs http-parser (Debian's libhttp-parser 2.9: the request line, the
 * headers, Content-Length and chunked bodies, and the RFC 9112 rules a
 * proxy-facing server needs, such as refusing two Content-Length headers).
 *
 * The caller keeps every byte of the request in one buffer and feeds what
 * arrived; this module remembers where the few headers livegate reads sit
 * in it (spans, not copies), compacts a chunked body in place, and says
 * when the head or the whole request is in. Limits: LG_HTTP_HEAD_MAX bytes
 * of head (431 past it), LG_HTTP_BODY_MAX bytes of body (413). Pure: no
 * I/O; fuzzed by fuzz/fuzz_http_req.c.
 */
#ifndef LG_WIRE_HTTP_REQ_H
#define LG_WIRE_HTTP_REQ_H

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>

#define LG_HTTP_HEAD_MAX 16384   /* request line and headers (nginx's and
                                    browsers' practical limit is 16 KiB) */
#define LG_HTTP_BODY_MAX 16384   /* a request body (the /sse subscribe) */

/* The headers livegate reads. */
enum lg_http_hdr {
	LG_H_HOST, LG_H_ORIGIN, LG_H_UPGRADE, LG_H_WS_KEY, LG_H_WS_VERSION,
	LG_H_CONTENT_TYPE, LG_H_IF_NONE_MATCH, LG_H_EXPECT, LG_H_COUNT
};

struct lg_http_span {
	uint32_t off, len;
};

struct lg_http_req {
	http_parser         parser;
	const char         *base;      /* the buffer of the current feed */
	struct lg_http_span url;
	struct lg_http_span hdr[LG_H_COUNT];
	struct lg_http_span name;      /* the header name being read */
	int                 cur;       /* its enum lg_http_hdr, or -1 */
	uint8_t             in_value;
	uint8_t             dup;       /* a header of interest came twice */
	uint8_t             head_done;
	uint8_t             done;
	uint8_t             body_too_big;
	uint32_t            body_off;  /* where the body's bytes start */
	uint32_t            body_len;  /* body bytes, compacted from body_off on */
	uint32_t            consumed;  /* bytes of the buffer the parser took */
	uint64_t            content_length;   /* as announced; UINT64_MAX: none */
};

enum lg_http_feed {
	LG_HTTP_MORE,          /* need more bytes */
	LG_HTTP_DONE,          /* the request is in (for an upgrade: its head) */
	LG_HTTP_BAD,           /* malformed: answer 400 */
	LG_HTTP_HEAD_TOO_BIG,  /* answer 431 */
	LG_HTTP_BODY_TOO_BIG,  /* answer 413 */
};

void lg_http_req_init(struct lg_http_req *r);

/* buf[0..len) holds every byte of this request read so far (and maybe the
 * start of what follows it); the parser has taken r->consumed of them.
 * Parses the rest. At LG_HTTP_DONE, r->consumed is where the request ends
 * (an upgrade's new protocol, or a pipelined request, starts there). */
enum lg_http_feed lg_http_req_feed(struct lg_http_req *r, char *buf, size_t len);

/* Returns the body (compacted: chunk headers removed) in buf, its length in
 * *n. */
static inline const char *lg_http_body(const struct lg_http_req *r, const char *buf, size_t *n)
{
	*n = r->body_len;
	return buf + r->body_off;
}

/* Returns header h's value in buf (NULL when absent), its length in *n. */
const char *lg_http_header(const struct lg_http_req *r, const char *buf,
                           enum lg_http_hdr h, size_t *n);

/* Returns the request target's path (origin-form or absolute-form, query
 * left out) in buf, its length in *n, or NULL when it has none. */
const char *lg_http_path(const struct lg_http_req *r, const char *buf, size_t *n);

/* Returns 1 if the comma-separated list v[0..n) holds token (any case). */
int lg_http_list_has(const char *v, size_t n, const char *token);

/* Returns 1 if an If-None-Match value v[0..n) matches etag (a quoted
 * strong entity tag): "*", or the tag itself (weakly compared: W/ ignored)
 * among comma-separated ones. A malformed value matches nothing. */
int lg_http_etag_matches(const char *v, size_t n, const char *etag);

#endif
