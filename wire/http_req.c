/* wire/http_req.c - HTTP/1.x request heads and bodies (http_req.h). */
#include "http_req.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *const hdr_names[LG_H_COUNT] = {
	[LG_H_HOST] = "host",
	[LG_H_ORIGIN] = "origin",
	[LG_H_UPGRADE] = "upgrade",
	[LG_H_WS_KEY] = "sec-websocket-key",
	[LG_H_WS_VERSION] = "sec-websocket-version",
	[LG_H_CONTENT_TYPE] = "content-type",
	[LG_H_IF_NONE_MATCH] = "if-none-match",
	[LG_H_EXPECT] = "expect",
};

static struct lg_http_req *req_of(http_parser *p)
{
	return p->data;
}

static uint32_t off_of(const struct lg_http_req *r, const char *at)
{
	return (uint32_t)(at - r->base);
}

/* Extends span s with at[0..n): pieces of one item arrive in order and,
 * the buffer being one, side by side. */
static void span_add(struct lg_http_req *r, struct lg_http_span *s, const char *at, size_t n)
{
	if (!s->len && !s->off)
		s->off = off_of(r, at);
	s->len = off_of(r, at) + (uint32_t)n - s->off;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct lg_http_req *r = req_of(p);

	span_add(r, &r->url, at, n);
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct lg_http_req *r = req_of(p);

	if (r->head_done)
		return 0;   /* a chunked body's trailer: not a header (RFC 9112 7.1.2) */
	/* "Host : x" could name Host to a proxy in front and nothing to
	 * http-parser, which lets spaces into names: RFC 9112 5.1 says refuse
	 * it. Checked on each piece as it comes, so the refusal comes at the
	 * same byte however the reads cut the name. */
	if (memchr(at, ' ', n) || memchr(at, '\t', n))
		return 1;
	if (r->in_value) {   /* a new header starts */
		r->in_value = 0;
		r->name = (struct lg_http_span){ 0, 0 };
	}
	span_add(r, &r->name, at, n);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct lg_http_req *r = req_of(p);

	if (r->head_done)
		return 0;
	if (!r->in_value) {
		r->in_value = 1;
		r->cur = -1;
		for (int h = 0; h < LG_H_COUNT; h++)
			if (r->name.len == strlen(hdr_names[h]) &&
			    strncasecmp(r->base + r->name.off, hdr_names[h], r->name.len) == 0) {
				r->cur = h;
				break;
			}
		if (r->cur >= 0 && (r->hdr[r->cur].off || r->hdr[r->cur].len))
			r->dup = 1;
		if (r->cur >= 0)
			r->hdr[r->cur] = (struct lg_http_span){ off_of(r, at), 0 };
	}
	if (r->cur >= 0)
		r->hdr[r->cur].len = off_of(r, at) + (uint32_t)n - r->hdr[r->cur].off;
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct lg_http_req *r = req_of(p);

	/* http-parser drops the whitespace before a value, not after it; a
	 * value excludes both (RFC 9110 5.5). */
	for (int h = 0; h < LG_H_COUNT; h++)
		while (r->hdr[h].len && (r->base[r->hdr[h].off + r->hdr[h].len - 1] == ' ' ||
		                         r->base[r->hdr[h].off + r->hdr[h].len - 1] == '\t'))
			r->hdr[h].len--;
	r->head_done = 1;
	r->content_length = (p->flags & F_CONTENTLENGTH) ? p->content_length : UINT64_MAX;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct lg_http_req *r = req_of(p);
	char *dst;

	if (r->body_len + n > LG_HTTP_BODY_MAX) {
		r->body_too_big = 1;
		return 1;   /* stops the parser */
	}
	/* Compact in place: chunk headers may sit between the pieces, and the
	 * body never overtakes the bytes it comes from. */
	if (!r->body_len)
		r->body_off = off_of(r, at);
	dst = (char *)r->base + r->body_off + r->body_len;
	if (dst != at)
		memmove(dst, at, n);
	r->body_len += (uint32_t)n;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	req_of(p)->done = 1;
	http_parser_pause(p, 1);   /* a pipelined request waits its turn */
	return 0;
}

static const http_parser_settings settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void lg_http_req_init(struct lg_http_req *r)
{
	/* http-parser counts the head's bytes itself, wherever the reads cut
	 * it: its limit is ours (a process-wide setting; every parser of the
	 * process is for the public port). */
	http_parser_set_max_header_size(LG_HTTP_HEAD_MAX);
	memset(r, 0, sizeof *r);
	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
	r->cur = -1;
	r->content_length = UINT64_MAX;
}

enum lg_http_feed lg_http_req_feed(struct lg_http_req *r, char *buf, size_t len)
{
	size_t n;

	if (r->done)
		return LG_HTTP_DONE;
	if (len == r->consumed)
		return LG_HTTP_MORE;   /* http-parser would take no bytes for the end of the stream */
	r->base = buf;
	n = http_parser_execute(&r->parser, &settings, buf + r->consumed, len - r->consumed);
	r->consumed += (uint32_t)n;
	if (r->body_too_big)
		return LG_HTTP_BODY_TOO_BIG;
	if (HTTP_PARSER_ERRNO(&r->parser) == HPE_PAUSED) {
		http_parser_pause(&r->parser, 0);
		return LG_HTTP_DONE;
	}
	if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK) {
		/* http-parser scans a long value past its head limit in one go:
		 * a bad byte it finds there comes after the limit, so the answer
		 * is 431 as when the head arrives in pieces. */
		if (HTTP_PARSER_ERRNO(&r->parser) == HPE_HEADER_OVERFLOW ||
		    (!r->head_done && r->consumed >= LG_HTTP_HEAD_MAX))
			return LG_HTTP_HEAD_TOO_BIG;
		return LG_HTTP_BAD;
	}
	if (!r->head_done && len > LG_HTTP_HEAD_MAX)
		return LG_HTTP_HEAD_TOO_BIG;
	if (r->head_done && r->content_length != UINT64_MAX &&
	    r->content_length > LG_HTTP_BODY_MAX)
		return LG_HTTP_BODY_TOO_BIG;
	return r->done ? LG_HTTP_DONE : LG_HTTP_MORE;
}

const char *lg_http_header(const struct lg_http_req *r, const char *buf,
                           enum lg_http_hdr h, size_t *n)
{
	const struct lg_http_span *s = &r->hdr[h];

	if (!s->off && !s->len)
		return NULL;
	*n = s->len;
	return buf + s->off;
}

const char *lg_http_path(const struct lg_http_req *r, const char *buf, size_t *n)
{
	struct http_parser_url u;
	const char *url = buf + r->url.off;

	http_parser_url_init(&u);
	if (!r->url.len || http_parser_parse_url(url, r->url.len, 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_PATH)))
		return NULL;
	*n = u.field_data[UF_PATH].len;
	return url + u.field_data[UF_PATH].off;
}

/* Trims spaces and tabs around v[0..*n). */
static const char *trim(const char *v, size_t *n)
{
	while (*n && (*v == ' ' || *v == '\t')) {
		v++;
		(*n)--;
	}
	while (*n && (v[*n - 1] == ' ' || v[*n - 1] == '\t'))
		(*n)--;
	return v;
}

/* Takes the next comma-separated item of *v (*n bytes) and returns it
 * trimmed, its length in *il; NULL when the list is used up. */
static const char *next_item(const char **v, size_t *n, size_t *il)
{
	const char *comma, *item = *v;
	size_t len;

	if (*v == NULL)
		return NULL;
	comma = memchr(*v, ',', *n);
	len = comma ? (size_t)(comma - *v) : *n;
	if (comma) {
		*v += len + 1;
		*n -= len + 1;
	} else {
		*v = NULL;
		*n = 0;
	}
	*il = len;
	return trim(item, il);
}

int lg_http_list_has(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token), il;
	const char *t;

	while ((t = next_item(&v, &n, &il)) != NULL)
		if (il == tl && strncasecmp(t, token, tl) == 0)
			return 1;
	return 0;
}

int lg_http_etag_matches(const char *v, size_t n, const char *etag)
{
	size_t el = strlen(etag), tl = n, il;
	const char *e, *t = trim(v, &tl);

	if (tl == 1 && *t == '*')
		return 1;
	while ((e = next_item(&v, &n, &il)) != NULL) {
		if (il >= 2 && e[0] == 'W' && e[1] == '/') {
			e += 2;
			il -= 2;
		}
		/* Only a whole quoted tag counts: "<etag>"x is not one. */
		if (il == el && memcmp(e, etag, el) == 0)
			return 1;
	}
	return 0;
}
