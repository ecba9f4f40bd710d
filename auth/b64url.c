/* auth/b64url.c - strict base64url without padding. See b64url.h. */
#include "b64url.h"

#include <stdint.h>

static const char enc_tab[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of one base64url character, or -1. Range tests instead of a table
 * keep the accepted alphabet readable. */
static int dec_char(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

size_t lg_b64url_encoded_len(size_t n)
{
	size_t rem = n % 3;

	return n / 3 * 4 + (rem ? rem + 1 : 0);
}

int lg_b64url_encode(const unsigned char *in, size_t n,
                     char *out, size_t cap, size_t *outlen)
{
	size_t need = lg_b64url_encoded_len(n);
	size_t i = 0, o = 0;

	if (!out || cap < need + 1 || (n && !in))
		return -1;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = enc_tab[v >> 18 & 63];
		out[o++] = enc_tab[v >> 12 & 63];
		out[o++] = enc_tab[v >> 6 & 63];
		out[o++] = enc_tab[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = enc_tab[v >> 18 & 63];
		out[o++] = enc_tab[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = enc_tab[v >> 18 & 63];
		out[o++] = enc_tab[v >> 12 & 63];
		out[o++] = enc_tab[v >> 6 & 63];
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return 0;
}

size_t lg_b64url_decoded_len(size_t n)
{
	switch (n % 4) {
	case 0: return n / 4 * 3;
	case 2: return n / 4 * 3 + 1;
	case 3: return n / 4 * 3 + 2;
	default: return (size_t)-1;
	}
}

int lg_b64url_decode(const char *in, size_t n,
                     unsigned char *out, size_t cap, size_t *outlen)
{
	size_t need = lg_b64url_decoded_len(n);
	size_t i = 0, o = 0;
	uint32_t v = 0;
	int bits = 0;

	if (need == (size_t)-1 || cap < need || (n && (!in || !out)))
		return -1;
	for (i = 0; i < n; i++) {
		int d = dec_char((unsigned char)in[i]);

		if (d < 0)
			return -1;
		v = (v << 6 | (uint32_t)d) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	/* Leftover bits (2 or 4) must be zero: otherwise two encodings would
	 * decode to the same bytes, and a token could be altered without
	 * touching its signature. */
	if (bits && (v & ((1u << bits) - 1)))
		return -1;
	if (outlen)
		*outlen = o;
	return 0;
}
