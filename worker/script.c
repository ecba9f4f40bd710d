/* worker/script.c - the browser script's responses, built once per worker
 * (see script.h): six variants (200, HEAD, 304; kept alive or closing),
 * shared by every request. */
#include "script.h"
#include "http_req.h"
#include "livegate_js.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETAG "\"" LIVEGATE_JS_HASH "\""
/* Both a 200 and a 304 carry the validator and the freshness. */
#define CACHING "etag: " ETAG "\r\ncache-control: public, max-age=600\r\n"

enum { V_GET, V_HEAD, V_304, V_COUNT };

static struct lg_frame *resp[V_COUNT][2];

/* Builds one variant: the head, then the body when it is a GET. */
static struct lg_frame *build(int variant, int close)
{
	char head[512], *buf;
	int n;
	size_t body = variant == V_GET ? livegate_js_len : 0;
	struct lg_frame *f;

	if (variant == V_304)
		n = snprintf(head, sizeof head, "HTTP/1.1 304 Not Modified\r\n" CACHING "%s\r\n",
		             close ? "connection: close\r\n" : "");
	else
		n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n"
		             "content-type: application/javascript; charset=utf-8\r\n"
		             "content-length: %zu\r\n" CACHING "%s\r\n",
		             (size_t)livegate_js_len, close ? "connection: close\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof head)
		return NULL;
	buf = malloc((size_t)n + body);
	if (!buf)
		return NULL;
	memcpy(buf, head, (size_t)n);
	memcpy(buf + n, livegate_js, body);
	f = lg_frame_raw(buf, (size_t)n + body);
	free(buf);
	return f;
}

int script_init(void)
{
	for (int v = 0; v < V_COUNT; v++)
		for (int close = 0; close < 2; close++)
			if (!resp[v][close] && !(resp[v][close] = build(v, close)))
				return -1;
	return 0;
}

struct lg_frame *script_response(int head, const char *inm, size_t inm_len, int close)
{
	int v = inm && lg_http_etag_matches(inm, inm_len, ETAG) ? V_304 : head ? V_HEAD : V_GET;

	return lg_frame_ref(resp[v][close ? 1 : 0]);
}

void script_free(void)
{
	for (int v = 0; v < V_COUNT; v++)
		for (int close = 0; close < 2; close++) {
			lg_frame_unref(resp[v][close]);
			resp[v][close] = NULL;
		}
}
