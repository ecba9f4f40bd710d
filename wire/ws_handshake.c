/* wire/ws_handshake.c - the opening handshake (ws_handshake.h). */
#include "ws_handshake.h"

#include <openssl/evp.h>
#include <string.h>

static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int lg_ws_accept_of(const char *key, size_t n, char accept[LG_WS_ACCEPT_LEN + 1])
{
	unsigned char in[64 + sizeof guid], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (n > 64)
		return -1;
	memcpy(in, key, n);
	memcpy(in + n, guid, sizeof guid - 1);
	if (!EVP_Digest(in, n + sizeof guid - 1, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return -1;
	EVP_EncodeBlock((unsigned char *)accept, md, 20);   /* 28 chars and a NUL */
	return 0;
}

/* Returns 1 if key[0..n) is base64 of 16 bytes (RFC 6455 4.1). */
static int key_valid(const char *key, size_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	if (n != 24 || key[22] != '=' || key[23] != '=')
		return 0;
	for (size_t i = 0; i < 22; i++)
		if (!key[i] || !strchr(b64, key[i]))
			return 0;
	return 1;
}

int lg_ws_handshake_check(const struct lg_http_req *r, const char *buf,
                          char accept[LG_WS_ACCEPT_LEN + 1])
{
	const char *v;
	size_t n;

	if (r->parser.method != HTTP_GET || r->parser.http_major != 1 || r->parser.http_minor < 1)
		return 400;
	if (!lg_http_header(r, buf, LG_H_HOST, &n))
		return 400;
	v = lg_http_header(r, buf, LG_H_UPGRADE, &n);
	if (!v || !lg_http_list_has(v, n, "websocket") || !(r->parser.flags & F_CONNECTION_UPGRADE))
		return 400;
	v = lg_http_header(r, buf, LG_H_WS_VERSION, &n);
	if (!v || n != 2 || memcmp(v, "13", 2) != 0)
		return 426;
	v = lg_http_header(r, buf, LG_H_WS_KEY, &n);
	if (!v || !key_valid(v, n) || lg_ws_accept_of(v, n, accept) < 0)
		return 400;
	return 0;
}
