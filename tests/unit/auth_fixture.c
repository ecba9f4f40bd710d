/* tests/unit/auth_fixture.c - the helpers of auth_fixture.h. */
#include "auth_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "b64url.h"
#include "hs256.h"

const char K1[] = "k1-" MARK "-0123456789abcdefghijklmnopqrstuvwxyz";
const char K2[] = "k2-" MARK "-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210";
const char K3[] = "k3-" MARK "-not-in-any-ring-00000000000000000000";

char *b64(const void *data, size_t n)
{
	size_t cap = lg_b64url_encoded_len(n) + 1, len = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(lg_b64url_encode(data, n, s, cap, &len), 0);
	ck_assert_uint_eq(len, strlen(s));
	return s;
}

char *unb64(const char *s, size_t n)
{
	size_t len = 0;
	unsigned char *d = malloc(n + 1);

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(lg_b64url_decode(s, n, d, n + 1, &len), 0);
	d[len] = '\0';
	return (char *)d;
}

char *mk_token(const char *hdr, const char *claims, const char *key)
{
	char *h = b64(hdr, strlen(hdr)), *c = b64(claims, strlen(claims)), *s, *t;
	unsigned char mac[LG_HS256_LEN];
	size_t n = strlen(h) + strlen(c) + 64;

	t = malloc(n);
	ck_assert_ptr_nonnull(t);
	snprintf(t, n, "%s.%s", h, c);
	if (key) {
		ck_assert_int_eq(lg_hs256((const unsigned char *)key, strlen(key),
		                          (const unsigned char *)t, strlen(t), mac), 0);
		s = b64(mac, sizeof mac);
	} else {
		s = b64("", 0);
	}
	strcat(t, ".");
	strcat(t, s);
	free(h);
	free(c);
	free(s);
	return t;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	ck_assert_ptr_nonnull(d);
	memcpy(d, s, n);
	return d;
}

char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = malloc(16384);
	int n;

	ck_assert_ptr_nonnull(s);
	va_start(ap, f);
	n = vsnprintf(s, 16384, f, ap);
	va_end(ap);
	ck_assert(n > 0 && n < 16384);
	return s;
}

struct lg_keyring *ring_with(const char *kid1, const char *key1,
                             const char *kid2, const char *key2)
{
	struct lg_keyring *kr = lg_keyring_new();
	char err[128];

	ck_assert_ptr_nonnull(kr);
	if (key1)
		ck_assert_int_eq(lg_keyring_add(kr, kid1, (const unsigned char *)key1,
		                                strlen(key1), err, sizeof err), 0);
	if (key2)
		ck_assert_int_eq(lg_keyring_add(kr, kid2, (const unsigned char *)key2,
		                                strlen(key2), err, sizeof err), 0);
	return kr;
}

enum lg_token_status verify_str(const struct lg_keyring *kr, const char *tok)
{
	struct lg_token_claims c;
	enum lg_token_status st = lg_token_verify(kr, tok, strlen(tok), NOW, 0, &c);

	if (st != LG_TOKEN_OK) {
		/* The contract: nothing owned, all zero. */
		ck_assert_ptr_null(c.channels);
		ck_assert_ptr_null(c.sub);
		ck_assert_uint_eq(c.n_channels, 0);
	}
	lg_token_claims_free(&c);
	return st;
}

enum lg_token_status claims_status(const char *claims)
{
	struct lg_keyring *kr = ring_with("k1", K1, "k2", K2);
	char *t = mk_token(HDR, claims, K1);
	enum lg_token_status st = verify_str(kr, t);

	free(t);
	lg_keyring_free(kr);
	return st;
}

