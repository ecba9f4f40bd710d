/* fuzz/fuzz_ws_handshake.c - libFuzzer target for wire/ws_handshake: which
 * upgrade requests are accepted, and Sec-WebSocket-Accept.
 *
 * The input is a request head written as lines ('\n' ends a line, CRLF is
 * added): the first line is the request line, the others header lines, so
 * the fuzzer works on header names and values rather than on framing
 * (fuzz_http_req does the framing). A head that parses is checked.
 *
 * Invariants besides the sanitizers: the answer is 0, 400 or 426; an
 * accepted request is a GET of HTTP/1.1 or later with a Host, an Upgrade
 * naming websocket, Connection: upgrade, version "13" and a key of 24
 * base64 characters ending "=="; its accept is SHA-1/base64 of the key as
 * lg_ws_accept_of computes it; 426 means the version is not "13".
 */
#include <string.h>

#include "fuzz.h"
#include "http_req.h"
#include "ws_handshake.h"

static char buf[LG_HTTP_HEAD_MAX + 4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lg_http_req r;
	char accept[LG_WS_ACCEPT_LEN + 1], again[LG_WS_ACCEPT_LEN + 1];
	const char *v;
	size_t n = 0, vn;
	int rc;

	/* Every line grows by one byte ('\r'), and the head ends "\r\n". */
	if (2 * size + 2 > sizeof buf)
		return 0;
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n')
			buf[n++] = '\r';
		buf[n++] = (char)data[i];
	}
	if (!size || data[size - 1] != '\n') {
		buf[n++] = '\r';
		buf[n++] = '\n';
	}
	buf[n++] = '\r';
	buf[n++] = '\n';
	lg_http_req_init(&r);
	if (lg_http_req_feed(&r, buf, n) != LG_HTTP_DONE)
		return 0;
	memset(accept, 0, sizeof accept);
	rc = lg_ws_handshake_check(&r, buf, accept);
	CHECK(rc == 0 || rc == 400 || rc == 426);
	v = lg_http_header(&r, buf, LG_H_WS_VERSION, &vn);
	if (rc == 426)
		CHECK(!v || vn != 2 || memcmp(v, "13", 2) != 0);
	if (rc != 0)
		return 0;
	CHECK(r.parser.method == HTTP_GET && r.parser.http_major == 1 && r.parser.http_minor >= 1);
	CHECK(v && vn == 2 && memcmp(v, "13", 2) == 0);
	CHECK(lg_http_header(&r, buf, LG_H_HOST, &vn));
	v = lg_http_header(&r, buf, LG_H_UPGRADE, &vn);
	CHECK(v && lg_http_list_has(v, vn, "websocket"));
	v = lg_http_header(&r, buf, LG_H_WS_KEY, &vn);
	CHECK(v && vn == 24 && v[22] == '=' && v[23] == '=');
	CHECK(strlen(accept) == LG_WS_ACCEPT_LEN && accept[LG_WS_ACCEPT_LEN - 1] == '=');
	CHECK(lg_ws_accept_of(v, vn, again) == 0 && memcmp(accept, again, sizeof again) == 0);
	return 0;
}
