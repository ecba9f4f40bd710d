/* fuzz/fuzz_token.c - libFuzzer target for auth/: tokens, the key ring's
 * parsers and base64url. Built and run with the others by fuzz/run.sh
 * (meson -Dfuzz=true with clang, ASan and UBSan; see fuzz/meson.build).
 *
 * The first input byte picks what is exercised; the rest is the input:
 *   0  lg_token_verify on raw bytes (the attacker's view)
 *   1  "header\0claims" JSON texts, signed with a ring key, then verified:
 *      reaches the header and claim checks that raw bytes cannot (the
 *      fuzzer cannot forge an HMAC)
 *   2  lg_keyring_parse_file_text
 *   3  lg_keyring_parse_list
 *   4  base64url: decode, and a decoded input must re-encode to itself
 *   5  lg_token_sign with '\n'-separated channel names, then verify
 * Tokens are verified with LIVEGATE_MAX_TOKEN_LIFETIME's default cap, so
 * exp_too_far is reached too. Besides the sanitizers, invariants of
 * accepted results are checked with abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "hs256.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((int64_t)1700000000)
#define MAX_LIFETIME ((int64_t)604800)   /* LIVEGATE_MAX_TOKEN_LIFETIME's default */

static const char K1[] = "fuzz-key-one-0123456789abcdefghijklmnop";
static const char K2[] = "fuzz-key-two-0123456789abcdefghijklmnop";

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static struct lg_keyring *ring(void)
{
	static struct lg_keyring *kr; /* built once, only read afterwards */

	if (!kr) {
		kr = lg_keyring_new();
		CHECK(kr);
		CHECK(lg_keyring_add(kr, "k1", (const unsigned char *)K1, strlen(K1), NULL, 0) == 0);
		CHECK(lg_keyring_add(kr, NULL, (const unsigned char *)K2, strlen(K2), NULL, 0) == 0);
	}
	return kr;
}

/* Invariants of any accepted token's claims. */
static void check_claims(const struct lg_token_claims *c)
{
	size_t i, j;

	CHECK(c->n_channels >= 1 && c->n_channels <= LG_TOKEN_MAX_CHANNELS);
	for (i = 0; i < c->n_channels; i++) {
		CHECK(lg_channel_name_valid(c->channels[i], strlen(c->channels[i])));
		for (j = 0; j < i; j++)
			CHECK(strcmp(c->channels[i], c->channels[j]) != 0);
	}
	CHECK(c->exp > NOW && c->exp - NOW <= MAX_LIFETIME);
	CHECK(c->nbf <= NOW && c->nbf >= 0);
	CHECK(c->iat >= 0);
	CHECK(!c->sub || strlen(c->sub) <= LG_SUB_MAX_LEN);
}

static void verify(const char *tok, size_t len)
{
	struct lg_token_claims c;
	enum lg_token_status st = lg_token_verify(ring(), tok, len, NOW, MAX_LIFETIME, &c);

	CHECK((unsigned)st < LG_TOKEN_STATUS_COUNT);
	if (st == LG_TOKEN_OK)
		check_claims(&c);
	else
		CHECK(!c.channels && !c.sub && c.n_channels == 0);
	lg_token_claims_free(&c);
}

static char *b64(const void *p, size_t n)
{
	size_t cap = lg_b64url_encoded_len(n) + 1;
	char *s = malloc(cap);

	CHECK(s && lg_b64url_encode(p, n, s, cap, NULL) == 0);
	return s;
}

static void signed_json(const uint8_t *d, size_t n)
{
	const uint8_t *nul = memchr(d, 0, n);
	unsigned char mac[LG_HS256_LEN];
	char *h, *c, *s, *tok;
	size_t hl, cl, len;

	if (!nul)
		return;
	h = b64(d, (size_t)(nul - d));
	c = b64(nul + 1, n - (size_t)(nul - d) - 1);
	hl = strlen(h);
	cl = strlen(c);
	tok = malloc(hl + cl + 64);
	CHECK(tok);
	memcpy(tok, h, hl);
	tok[hl] = '.';
	memcpy(tok + hl + 1, c, cl);
	len = hl + 1 + cl;
	/* Signed with K1; header kids other than k1 or none test selection. */
	CHECK(lg_hs256((const unsigned char *)K1, strlen(K1), (unsigned char *)tok, len, mac) == 0);
	s = b64(mac, sizeof mac);
	tok[len++] = '.';
	memcpy(tok + len, s, strlen(s));
	len += strlen(s);
	verify(tok, len);
	free(h);
	free(c);
	free(s);
	free(tok);
}

static void b64_canonical(const uint8_t *d, size_t n)
{
	unsigned char *out = malloc(n + 1);
	size_t olen;

	CHECK(out);
	if (lg_b64url_decode((const char *)d, n, out, n + 1, &olen) == 0) {
		char *again = b64(out, olen);

		CHECK(strlen(again) == n && memcmp(again, d, n) == 0);
		free(again);
	}
	free(out);
}

static void sign_channels(const uint8_t *d, size_t n)
{
	const char *names[LG_TOKEN_MAX_CHANNELS + 1];
	char *copy = malloc(n + 1), *p, *tok = NULL, err[160];
	size_t k = 0;
	struct lg_token_claims c;

	CHECK(copy);
	memcpy(copy, d, n);
	copy[n] = '\0';
	for (p = copy; k <= LG_TOKEN_MAX_CHANNELS; ) {
		char *nl = strchr(p, '\n');

		names[k++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	if (lg_token_sign(ring(), names, k, NULL, NOW * 1000, NOW + 60, &tok, err, sizeof err) == 0) {
		CHECK(lg_token_verify(ring(), tok, strlen(tok), NOW, MAX_LIFETIME, &c) == LG_TOKEN_OK);
		check_claims(&c);
		CHECK(c.n_channels <= k && strcmp(c.channels[0], names[0]) == 0);
		lg_token_claims_free(&c);
		free(tok);
	} else {
		CHECK(tok == NULL && err[0] != '\0');
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lg_keyring *kr;
	char err[160], *s;

	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		verify((const char *)data + 1, size - 1);
		break;
	case 1:
		signed_json(data + 1, size - 1);
		break;
	case 2:
		kr = lg_keyring_new();
		CHECK(kr);
		if (lg_keyring_parse_file_text(kr, (const char *)data + 1, size - 1, err, sizeof err) == 0)
			CHECK(lg_keyring_count(kr) >= 1 && lg_keyring_count(kr) <= LG_KEYRING_MAX_KEYS);
		else
			CHECK(lg_keyring_count(kr) == 0);
		lg_keyring_free(kr);
		break;
	case 3:
		kr = lg_keyring_new();
		s = malloc(size);
		CHECK(kr && s);
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		if (lg_keyring_parse_list(kr, s, err, sizeof err) != 0)
			CHECK(lg_keyring_count(kr) == 0);
		lg_keyring_free(kr);
		free(s);
		break;
	case 4:
		b64_canonical(data + 1, size - 1);
		break;
	default:
		sign_channels(data + 1, size - 1);
		break;
	}
	return 0;
}
