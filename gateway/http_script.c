/* gateway/http_script.c - plain HTTP on the public port: GET /livegate.js
 * (the browser script, embedded at build time, with an ETag so browsers
 * revalidate with a 304) and 404 for anything else. */
#include "worker.h"
#include "livegate_js.h"

#include <stdlib.h>
#include <string.h>

#define ETAG "\"" LIVEGATE_JS_HASH "\""
#define CACHE_CONTROL "public, max-age=600"

int lg_http_script_init(struct lg_worker *w)
{
	/* lws_write wants LWS_PRE writable bytes in front of what it sends */
	w->script = malloc(LWS_PRE + livegate_js_len);
	if (!w->script)
		return -1;
	memcpy(w->script + LWS_PRE, livegate_js, livegate_js_len);
	w->script_len = livegate_js_len;
	return 0;
}

/* Answers with status and no body. Returns what the callback returns. */
static int reply_empty(struct lws *wsi, unsigned status, int with_etag)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
	              *end = buf + sizeof buf;

	if (lws_add_http_header_status(wsi, status, &p, end) ||
	    (with_etag && (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ETAG,
	                       (const unsigned char *)ETAG, (int)strlen(ETAG), &p, end) ||
	                   lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	                       (const unsigned char *)CACHE_CONTROL, (int)strlen(CACHE_CONTROL), &p, end))) ||
	    (!with_etag && lws_add_http_header_content_length(wsi, 0, &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int serve_script(struct lws *wsi, int head_only)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
	              *end = buf + sizeof buf;
	char inm[64];
	int n = lws_hdr_copy(wsi, inm, sizeof inm, WSI_TOKEN_HTTP_IF_NONE_MATCH);

	if (n > 0 && strstr(inm, ETAG))
		return reply_empty(wsi, HTTP_STATUS_NOT_MODIFIED, 1);
	if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/javascript; charset=utf-8",
	                                livegate_js_len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ETAG, (const unsigned char *)ETAG,
	                                 (int)strlen(ETAG), &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	                                 (const unsigned char *)CACHE_CONTROL,
	                                 (int)strlen(CACHE_CONTROL), &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (head_only)
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	lws_callback_on_writable(wsi);
	return 0;
}

int lg_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
                     void *user, void *in, size_t len)
{
	struct lg_worker *w = lg_worker_of(wsi);

	(void)user;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_WSI_DESTROY:
		lg_worker_handshake_done(wsi);   /* closed before its first request */
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	case LWS_CALLBACK_HTTP:
		lg_worker_handshake_done(wsi);
		if (strcmp((const char *)in, "/livegate.js") == 0 &&
		    (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 ||
		     lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0))
			return serve_script(wsi, lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0);
		return reply_empty(wsi, HTTP_STATUS_NOT_FOUND, 0);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		/* lws keeps what the socket does not take and sends it first */
		if (lws_write(wsi, w->script + LWS_PRE, w->script_len, LWS_WRITE_HTTP_FINAL) <
		    (int)w->script_len)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}
