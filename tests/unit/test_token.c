/* tests/unit/test_token.c - unit tests of auth/token: signing and
 * verifying HS256 JWTs (structure, alg, kid, signature, the length limit,
 * key rotation, the order of checks), and interop with libjwt when built
 * with HAVE_LIBJWT. The claim rules are in test_claims.c. */
#include <check.h>
#include "check_main.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_fixture.h"
#include "b64url.h"

#ifdef HAVE_LIBJWT
#include <jwt.h>
#endif

START_TEST(status_names)
{
	ck_assert_str_eq(lg_token_status_name(LG_TOKEN_OK), "ok");
	ck_assert_str_eq(lg_token_status_name(LG_TOKEN_MALFORMED), "malformed");
	ck_assert_str_eq(lg_token_status_name(LG_TOKEN_BAD_ALG), "bad_alg");
	ck_assert_str_eq(lg_token_status_name(LG_TOKEN_UNKNOWN_KID), "unknown_kid");
	ck_assert_str_eq(lg_token_status_name(LG_TOKEN_BAD_SIGNATURE), "bad_signature");
	ck_assert_str_eq(lg_token_status_name(LG_TOKEN_BAD_CLAIMS), "bad_claims");
	ck_assert_str_eq(lg_token_status_name(LG_TOKEN_EXPIRED), "expired");
	ck_assert_str_eq(lg_token_status_name(LG_TOKEN_NOT_YET_VALID), "not_yet_valid");
	ck_assert_str_eq(lg_token_status_name(LG_TOKEN_STATUS_COUNT), "unknown");
	ck_assert_str_eq(lg_token_status_name((enum lg_token_status)-1), "unknown");
}
END_TEST

START_TEST(sign_verify_round_trip)
{
	struct lg_keyring *kr = ring_with("k1", K1, "k2", K2);
	const char *ch[] = { "todos", "user:42" };
	struct lg_token_claims c;
	char err[160], *tok, *claims;

	ck_assert_int_eq(lg_token_sign(kr, ch, 2, "u42", NOW * 1000, NOW + 600, &tok, err, sizeof err), 0);
	claims = unb64(strchr(tok, '.') + 1, (size_t)(strrchr(tok, '.') - strchr(tok, '.') - 1));
	ck_assert_str_eq(claims, "{\"channels\":[\"todos\",\"user:42\"],\"exp\":1700000600,"
	                 "\"sub\":\"u42\",\"iat\":1700000000.000}");
	free(claims);
	ck_assert_int_eq(lg_token_verify(kr, tok, strlen(tok), NOW, 0, &c), LG_TOKEN_OK);
	ck_assert_uint_eq(c.n_channels, 2);
	ck_assert_str_eq(c.channels[0], "todos");
	ck_assert_str_eq(c.channels[1], "user:42");
	ck_assert_int_eq(c.exp, NOW + 600);
	ck_assert_int_eq(c.iat, NOW);
	ck_assert_int_eq(c.nbf, 0);
	ck_assert_str_eq(c.sub, "u42");
	lg_token_claims_free(&c);
	ck_assert_ptr_null(c.channels);
	ck_assert_uint_eq(c.n_channels, 0);
	lg_token_claims_free(&c); /* twice is harmless */
	lg_token_claims_free(NULL);
	/* out may be NULL: status only. */
	ck_assert_int_eq(lg_token_verify(kr, tok, strlen(tok), NOW, 0, NULL), LG_TOKEN_OK);
	ck_assert_int_eq(lg_token_verify(kr, tok, strlen(tok), NOW + 600, 0, NULL), LG_TOKEN_EXPIRED);
	free(tok);

	/* Without sub; a ring whose first key has no kid gives no "kid". */
	lg_keyring_free(kr);
	kr = ring_with(NULL, K1, NULL, NULL);
	ck_assert_int_eq(lg_token_sign(kr, ch, 1, NULL, NOW * 1000, NOW + 1, &tok, err, sizeof err), 0);
	claims = unb64(tok, (size_t)(strchr(tok, '.') - tok));
	ck_assert_str_eq(claims, HDR);
	free(claims);
	ck_assert_int_eq(lg_token_verify(kr, tok, strlen(tok), NOW, 0, &c), LG_TOKEN_OK);
	ck_assert_ptr_null(c.sub);
	ck_assert_uint_eq(c.n_channels, 1);
	lg_token_claims_free(&c);
	free(tok);
	lg_keyring_free(kr);
}
END_TEST

START_TEST(sign_rejects_bad_input)
{
	struct lg_keyring *kr = ring_with("k1", K1, NULL, NULL), *empty = lg_keyring_new();
	const char *ok[] = { "a" }, *bad[] = { "a b" }, *nul[] = { NULL };
	const char *many[LG_TOKEN_MAX_CHANNELS + 1];
	char big[LG_TOKEN_MAX_CHANNELS][LG_CHANNEL_MAX_LEN + 1];
	char sub[LG_SUB_MAX_LEN + 2], err[160], sentinel = 0, *tok = &sentinel;
	size_t i;

	ck_assert_int_eq(lg_token_sign(empty, ok, 1, NULL, NOW * 1000, NOW + 1, &tok, err, sizeof err), -1);
	ck_assert_ptr_null(tok);
	ck_assert_int_eq(lg_token_sign(NULL, ok, 1, NULL, NOW * 1000, NOW + 1, &tok, err, sizeof err), -1);
	ck_assert_int_eq(lg_token_sign(kr, ok, 0, NULL, NOW * 1000, NOW + 1, &tok, err, sizeof err), -1);
	ck_assert_int_eq(lg_token_sign(kr, bad, 1, NULL, NOW * 1000, NOW + 1, &tok, err, sizeof err), -1);
	ck_assert_int_eq(lg_token_sign(kr, nul, 1, NULL, NOW * 1000, NOW + 1, &tok, err, sizeof err), -1);
	for (i = 0; i <= LG_TOKEN_MAX_CHANNELS; i++)
		many[i] = "c";
	ck_assert_int_eq(lg_token_sign(kr, many, LG_TOKEN_MAX_CHANNELS + 1, NULL, NOW * 1000, NOW + 1,
	                               &tok, err, sizeof err), -1);
	ck_assert_int_eq(lg_token_sign(kr, many, LG_TOKEN_MAX_CHANNELS, NULL, NOW * 1000, NOW + 1,
	                               &tok, err, sizeof err), 0);
	free(tok);
	memset(sub, 's', sizeof sub);
	sub[LG_SUB_MAX_LEN + 1] = '\0';
	ck_assert_int_eq(lg_token_sign(kr, ok, 1, sub, NOW * 1000, NOW + 1, &tok, err, sizeof err), -1);
	sub[LG_SUB_MAX_LEN] = '\0';
	ck_assert_int_eq(lg_token_sign(kr, ok, 1, sub, NOW * 1000, NOW + 1, &tok, err, sizeof err), 0);
	ck_assert_int_eq(verify_str(kr, tok), LG_TOKEN_OK);
	free(tok);
	ck_assert_int_eq(lg_token_sign(kr, ok, 1, "\xff", NOW * 1000, NOW + 1, &tok, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "UTF-8"));
	ck_assert_int_eq(lg_token_sign(kr, ok, 1, NULL, -1, NOW, &tok, err, sizeof err), -1);
	ck_assert_int_eq(lg_token_sign(kr, ok, 1, NULL, NOW * 1000, ((int64_t)1 << 53) + 1,
	                               &tok, err, sizeof err), -1);
	ck_assert_int_eq(lg_token_sign(kr, ok, 1, NULL, NOW * 1000, NOW, NULL, err, sizeof err), -1);

	/* 64 channels of 200 bytes would make a token over LG_TOKEN_MAX_LEN:
	 * refused rather than minting a token verify would refuse. */
	for (i = 0; i < LG_TOKEN_MAX_CHANNELS; i++) {
		memset(big[i], 'a', LG_CHANNEL_MAX_LEN);
		snprintf(big[i], 8, "%zu-", i);
		big[i][strlen(big[i])] = 'a';
		big[i][LG_CHANNEL_MAX_LEN] = '\0';
		many[i] = big[i];
	}
	ck_assert_int_eq(lg_token_sign(kr, many, LG_TOKEN_MAX_CHANNELS, NULL, NOW * 1000, NOW + 1,
	                               &tok, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "16 KiB WebSocket message"));
	ck_assert_ptr_null(tok);
	lg_keyring_free(kr);
	lg_keyring_free(empty);
}
END_TEST

START_TEST(malformed_structure)
{
	struct lg_keyring *kr = ring_with("k1", K1, NULL, NULL);
	char *good = mk_token(HDR_K1, "{\"channels\":[\"a\"],\"exp\":1800000000}", K1);
	char *h = b64(HDR_K1, strlen(HDR_K1)), *t;
	static const char *const bad[] = {
		"", ".", "..", "...", "abc", "a.b", "a.b.c.d", ".e30.", "e30..", "e30.e30",
	};
	size_t i;

	ck_assert_int_eq(verify_str(kr, good), LG_TOKEN_OK);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(verify_str(kr, bad[i]) == LG_TOKEN_MALFORMED, "\"%s\"", bad[i]);
	ck_assert_int_eq(lg_token_verify(kr, NULL, 10, NOW, 0, NULL), LG_TOKEN_MALFORMED);
	/* Extra part, stray characters, padding, whitespace. */
	t = fmt("%s.x", good);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_MALFORMED);
	free(t);
	t = fmt("%s=", good);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_MALFORMED);
	free(t);
	t = fmt(" %s", good);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_MALFORMED);
	free(t);
	t = fmt("%s\n", good);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_MALFORMED);
	free(t);
	t = xstrdup(good);
	*strchr(t, '.') = '+';
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_MALFORMED);
	free(t);
	/* A NUL inside the given length. */
	t = xstrdup(good);
	t[5] = '\0';
	ck_assert_int_eq(lg_token_verify(kr, t, strlen(good), NOW, 0, NULL), LG_TOKEN_MALFORMED);
	free(t);
	/* Header or claims that are not JSON objects. */
	assert_token(kr, "[\"HS256\"]", "{\"channels\":[\"a\"],\"exp\":1800000000}", K1, LG_TOKEN_MALFORMED);
	assert_token(kr, HDR, "\"hello\"", K1, LG_TOKEN_MALFORMED);
	assert_token(kr, HDR, "{\"channels\":[\"a\"],\"exp\":1800000000", K1, LG_TOKEN_MALFORMED);
	assert_token(kr, HDR, "{\"channels\":[\"a\"],\"exp\":1800000000} x", K1, LG_TOKEN_MALFORMED);
	assert_token(kr, HDR "\xff", "{\"channels\":[\"a\"],\"exp\":1800000000}", K1, LG_TOKEN_MALFORMED);
	/* An integer JSON cannot hold. */
	assert_token(kr, HDR, "{\"channels\":[\"a\"],\"exp\":99999999999999999999999}", K1, LG_TOKEN_MALFORMED);
	/* Duplicate names, which other JWT libraries may read differently. */
	assert_token(kr, "{\"alg\":\"HS256\",\"alg\":\"none\"}", "{\"channels\":[\"a\"],\"exp\":1800000000}", K1, LG_TOKEN_MALFORMED);
	assert_token(kr, HDR, "{\"channels\":[\"a\"],\"exp\":1800000000,\"exp\":1}", K1, LG_TOKEN_MALFORMED);
	/* typ other than JWT, non-string kid, crit. */
	assert_token(kr, "{\"alg\":\"HS256\",\"typ\":\"JWS\"}", "{\"channels\":[\"a\"],\"exp\":1800000000}", K1, LG_TOKEN_MALFORMED);
	assert_token(kr, "{\"alg\":\"HS256\",\"typ\":1}", "{\"channels\":[\"a\"],\"exp\":1800000000}", K1, LG_TOKEN_MALFORMED);
	assert_token(kr, "{\"alg\":\"HS256\",\"kid\":1}", "{\"channels\":[\"a\"],\"exp\":1800000000}", K1, LG_TOKEN_MALFORMED);
	assert_token(kr, "{\"alg\":\"HS256\",\"kid\":null}", "{\"channels\":[\"a\"],\"exp\":1800000000}", K1, LG_TOKEN_MALFORMED);
	assert_token(kr, "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}",
	             "{\"channels\":[\"a\"],\"exp\":1800000000}", K1, LG_TOKEN_MALFORMED);
	/* typ is a media type: case-insensitive (RFC 7515 4.1.9); absent is fine. */
	assert_token(kr, "{\"alg\":\"HS256\",\"typ\":\"jwt\"}", "{\"channels\":[\"a\"],\"exp\":1800000000}", K1, LG_TOKEN_OK);
	assert_token(kr, "{\"alg\":\"HS256\"}", "{\"channels\":[\"a\"],\"exp\":1800000000}", K1, LG_TOKEN_OK);
	free(h);
	free(good);
	lg_keyring_free(kr);
}
END_TEST

/* Builds a correctly signed token whose claims carry a padding claim of
 * pad bytes. */
static char *padded_token(size_t pad)
{
	char *p = malloc(pad + 1), *claims, *t;

	ck_assert_ptr_nonnull(p);
	memset(p, 'p', pad);
	p[pad] = '\0';
	claims = fmt("{\"channels\":[\"a\"],\"exp\":1800000000,\"pad\":\"%s\"}", p);
	t = mk_token(HDR, claims, K1);
	free(claims);
	free(p);
	return t;
}

START_TEST(token_length_limit)
{
	struct lg_keyring *kr = ring_with(NULL, K1, NULL, NULL);
	/* Start a little below the limit: base64url makes 3 claim bytes 4
	 * token bytes, and the header, signature and other claims take ~150. */
	size_t pad = LG_TOKEN_MAX_LEN * 3 / 4 - 200;
	char *t = padded_token(pad), *junk;

	/* Grow the padding to the largest token within the limit. */
	while (strlen(t) <= LG_TOKEN_MAX_LEN) {
		free(t);
		t = padded_token(++pad);
	}
	ck_assert_int_gt(strlen(t), LG_TOKEN_MAX_LEN);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_MALFORMED);
	free(t);
	t = padded_token(pad - 1);
	ck_assert_int_le(strlen(t), LG_TOKEN_MAX_LEN);
	ck_assert_int_ge(strlen(t), LG_TOKEN_MAX_LEN - 2);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_OK);
	free(t);
	junk = malloc(LG_TOKEN_MAX_LEN * 4);
	ck_assert_ptr_nonnull(junk);
	memset(junk, 'A', LG_TOKEN_MAX_LEN * 4);
	junk[10] = junk[20] = '.';
	ck_assert_int_eq(lg_token_verify(kr, junk, LG_TOKEN_MAX_LEN * 4, NOW, 0, NULL),
	                 LG_TOKEN_MALFORMED);
	free(junk);
	lg_keyring_free(kr);
}
END_TEST

START_TEST(bad_alg)
{
	struct lg_keyring *kr = ring_with(NULL, K1, NULL, NULL);
	static const char *const hdrs[] = {
		"{\"alg\":\"none\",\"typ\":\"JWT\"}",
		"{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
		"{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
		"{\"alg\":\"HS256 \"}",
		"{\"alg\":\"RS256\"}",
		"{\"alg\":256}",
		"{\"alg\":null}",
		"{\"alg\":[\"HS256\"]}",
		"{\"typ\":\"JWT\"}",
		"{}",
	};
	const char *claims = "{\"channels\":[\"a\"],\"exp\":1800000000}";
	size_t i;

	for (i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
		char *signed_tok = mk_token(hdrs[i], claims, K1);
		char *unsigned_tok = mk_token(hdrs[i], claims, NULL);

		ck_assert_msg(verify_str(kr, signed_tok) == LG_TOKEN_BAD_ALG, "%s", hdrs[i]);
		ck_assert_msg(verify_str(kr, unsigned_tok) == LG_TOKEN_BAD_ALG, "%s", hdrs[i]);
		free(signed_tok);
		free(unsigned_tok);
	}
	lg_keyring_free(kr);
}
END_TEST

START_TEST(tampering)
{
	struct lg_keyring *kr = ring_with("k1", K1, NULL, NULL);
	const char *claims = "{\"channels\":[\"a\"],\"exp\":1800000000}";
	char *good = mk_token(HDR_K1, claims, K1), *other, *t;
	const char *sig = strrchr(good, '.') + 1;
	size_t siglen = strlen(sig);
	unsigned char raw[64];
	size_t n;

	ck_assert_int_eq(verify_str(kr, good), LG_TOKEN_OK);
	/* Header swapped for another valid one, signature kept. */
	other = mk_token("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\",\"x\":1}", claims, K1);
	t = fmt("%.*s%s", (int)(strchr(other, '.') - other), other, strchr(good, '.'));
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_BAD_SIGNATURE);
	free(t);
	free(other);
	/* Claims swapped (more channels), signature kept. */
	other = mk_token(HDR_K1, "{\"channels\":[\"a\",\"admin\"],\"exp\":1800000000}", K1);
	t = fmt("%.*s%s", (int)(strrchr(other, '.') - other), other, strrchr(good, '.'));
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_BAD_SIGNATURE);
	free(t);
	free(other);
	/* One signature bit flipped. */
	t = xstrdup(good);
	ck_assert_int_eq(lg_b64url_decode(sig, siglen, raw, sizeof raw, &n), 0);
	raw[5] ^= 0x10;
	other = b64(raw, n);
	strcpy(strrchr(t, '.') + 1, other);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_BAD_SIGNATURE);
	free(other);
	free(t);
	/* Signature cut to 31 bytes or extended to 33 (valid base64url). */
	ck_assert_int_eq(lg_b64url_decode(sig, siglen, raw, sizeof raw, &n), 0);
	other = b64(raw, 31);
	t = fmt("%.*s%s", (int)(sig - good), good, other);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_BAD_SIGNATURE);
	free(other);
	free(t);
	raw[32] = 0;
	other = b64(raw, 33);
	t = fmt("%.*s%s", (int)(sig - good), good, other);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_BAD_SIGNATURE);
	free(other);
	free(t);
	/* Characters appended: 45 chars (4k+1), trailing bits set, or a valid
	 * but 34-byte signature. */
	t = fmt("%sAA", good);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_MALFORMED);
	free(t);
	t = fmt("%sAAB", good);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_MALFORMED);
	free(t);
	t = fmt("%sAAA", good);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_BAD_SIGNATURE);
	free(t);
	/* Empty signature. */
	t = fmt("%.*s", (int)(strlen(good) - siglen), good);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_BAD_SIGNATURE);
	free(t);
	/* Same signature bytes, non-canonical last character: refused, so a
	 * token has exactly one accepted spelling. */
	t = xstrdup(good);
	{
		char *last = t + strlen(t) - 1;
		static const char alpha[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		int v = (int)(strchr(alpha, *last) - alpha);

		ck_assert_int_eq(v & 3, 0);
		*last = alpha[v | 1];
	}
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_MALFORMED);
	free(t);
	/* The right structure signed with the wrong key. */
	assert_token(kr, HDR_K1, claims, K2, LG_TOKEN_BAD_SIGNATURE);
	free(good);
	lg_keyring_free(kr);
}
END_TEST

START_TEST(kid_selection)
{
	struct lg_keyring *kr = ring_with("k1", K1, "k2", K2), *empty = lg_keyring_new();
	const char *claims = "{\"channels\":[\"a\"],\"exp\":1800000000}";
	char *t;

	t = mk_token(HDR_K2, claims, K2);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_OK);
	ck_assert_int_eq(verify_str(empty, t), LG_TOKEN_UNKNOWN_KID);
	ck_assert_int_eq(verify_str(NULL, t), LG_TOKEN_UNKNOWN_KID);
	free(t);
	/* The kid picks the key: no fallback to the other keys. */
	assert_token(kr, HDR_K1, claims, K2, LG_TOKEN_BAD_SIGNATURE);
	assert_token(kr, "{\"alg\":\"HS256\",\"kid\":\"k3\"}", claims, K3, LG_TOKEN_UNKNOWN_KID);
	assert_token(kr, "{\"alg\":\"HS256\",\"kid\":\"\"}", claims, K1, LG_TOKEN_UNKNOWN_KID);
	assert_token(kr, "{\"alg\":\"HS256\",\"kid\":\"K1\"}", claims, K1, LG_TOKEN_UNKNOWN_KID);
	/* Without kid every key is tried. */
	assert_token(kr, HDR, claims, K1, LG_TOKEN_OK);
	t = mk_token(HDR, claims, K2);
	ck_assert_int_eq(verify_str(kr, t), LG_TOKEN_OK);
	ck_assert_int_eq(verify_str(empty, t), LG_TOKEN_BAD_SIGNATURE);
	ck_assert_int_eq(verify_str(NULL, t), LG_TOKEN_BAD_SIGNATURE);
	free(t);
	assert_token(kr, HDR, claims, K3, LG_TOKEN_BAD_SIGNATURE);
	/* Order of checks: alg before kid, kid before signature. */
	assert_token(kr, "{\"alg\":\"HS512\",\"kid\":\"k3\"}", claims, K3, LG_TOKEN_BAD_ALG);
	lg_keyring_free(kr);
	lg_keyring_free(empty);
}
END_TEST

static char *sign1(const struct lg_keyring *kr)
{
	const char *ch[] = { "todos" };
	char err[160], *tok = NULL;

	ck_assert_int_eq(lg_token_sign(kr, ch, 1, NULL, NOW * 1000, NOW + 3600, &tok, err, sizeof err), 0);
	return tok;
}

START_TEST(key_rotation_with_kids)
{
	struct lg_keyring *before = ring_with("k1", K1, NULL, NULL);
	struct lg_keyring *during = ring_with("k2", K2, "k1", K1);
	struct lg_keyring *after = ring_with("k2", K2, NULL, NULL);
	char *t1 = sign1(before), *t2 = sign1(during), *hdr;

	hdr = unb64(t2, (size_t)(strchr(t2, '.') - t2));
	ck_assert_str_eq(hdr, HDR_K2); /* the new first key signs */
	free(hdr);
	ck_assert_int_eq(verify_str(before, t1), LG_TOKEN_OK);
	ck_assert_int_eq(verify_str(during, t1), LG_TOKEN_OK);
	ck_assert_int_eq(verify_str(during, t2), LG_TOKEN_OK);
	ck_assert_int_eq(verify_str(after, t2), LG_TOKEN_OK);
	ck_assert_int_eq(verify_str(after, t1), LG_TOKEN_UNKNOWN_KID);
	ck_assert_int_eq(verify_str(before, t2), LG_TOKEN_UNKNOWN_KID);
	free(t1);
	free(t2);
	lg_keyring_free(before);
	lg_keyring_free(during);
	lg_keyring_free(after);
}
END_TEST

START_TEST(key_rotation_without_kids)
{
	struct lg_keyring *before = ring_with(NULL, K1, NULL, NULL);
	struct lg_keyring *during = ring_with(NULL, K2, NULL, K1);
	struct lg_keyring *after = ring_with(NULL, K2, NULL, NULL);
	char *t1 = sign1(before), *t2 = sign1(during);

	ck_assert_int_eq(verify_str(during, t1), LG_TOKEN_OK);
	ck_assert_int_eq(verify_str(during, t2), LG_TOKEN_OK);
	ck_assert_int_eq(verify_str(after, t2), LG_TOKEN_OK);
	ck_assert_int_eq(verify_str(after, t1), LG_TOKEN_BAD_SIGNATURE);
	ck_assert_int_eq(verify_str(before, t2), LG_TOKEN_BAD_SIGNATURE);
	free(t1);
	free(t2);
	lg_keyring_free(before);
	lg_keyring_free(during);
	lg_keyring_free(after);
}
END_TEST

START_TEST(check_order)
{
	struct lg_keyring *kr = ring_with(NULL, K1, NULL, NULL);

	/* bad claims before expired; expired before not-yet-valid. */
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[],\"exp\":1}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"],\"exp\":1,\"sub\":1}");
	CLAIMS_STATUS(LG_TOKEN_EXPIRED, "{\"channels\":[\"a\"],\"exp\":1,\"nbf\":%lld}",
	              (long long)NOW + 100);
	/* signature before claims. */
	assert_token(kr, HDR, "{\"channels\":[]}", K2, LG_TOKEN_BAD_SIGNATURE);
	/* malformed before alg. */
	assert_token(kr, "{\"alg\":\"none\",\"typ\":\"JWS\"}", "{}", NULL, LG_TOKEN_MALFORMED);
	lg_keyring_free(kr);
}
END_TEST

START_TEST(verify_zeroes_out_on_failure)
{
	struct lg_keyring *kr = ring_with(NULL, K1, NULL, NULL);
	struct lg_token_claims c;
	char *t = mk_token(HDR, "{\"channels\":[\"a\",\"b\"],\"exp\":1,\"sub\":\"x\"}", K1);

	memset(&c, 0xa5, sizeof c);
	ck_assert_int_eq(lg_token_verify(kr, t, strlen(t), NOW, 0, &c), LG_TOKEN_EXPIRED);
	ck_assert_ptr_null(c.channels);
	ck_assert_ptr_null(c.sub);
	ck_assert_uint_eq(c.n_channels, 0);
	ck_assert_int_eq(c.exp, 0);
	memset(&c, 0xa5, sizeof c);
	ck_assert_int_eq(lg_token_verify(kr, "x", 1, NOW, 0, &c), LG_TOKEN_MALFORMED);
	ck_assert_ptr_null(c.channels);
	ck_assert_uint_eq(c.n_channels, 0);
	free(t);
	lg_keyring_free(kr);
}
END_TEST

/* --- interop with libjwt ------------------------------------------------- */

#ifdef HAVE_LIBJWT
START_TEST(libjwt_signs_we_verify)
{
	struct lg_keyring *kr = ring_with(NULL, K1, NULL, NULL);
	struct lg_keyring *kidring = ring_with("k7", K2, NULL, NULL);
	struct lg_token_claims c;
	char *grants = fmt("{\"channels\":[\"todos\",\"user:42\"],\"exp\":%lld,\"sub\":\"u42\"}",
	                   (long long)NOW + 600);
	jwt_t *jwt = NULL;
	char *tok;

	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)K1, (int)strlen(K1)), 0);
	ck_assert_int_eq(jwt_add_grants_json(jwt, grants), 0);
	tok = jwt_encode_str(jwt);
	ck_assert_ptr_nonnull(tok);
	ck_assert_int_eq(lg_token_verify(kr, tok, strlen(tok), NOW, 0, &c), LG_TOKEN_OK);
	ck_assert_uint_eq(c.n_channels, 2);
	ck_assert_str_eq(c.channels[0], "todos");
	ck_assert_str_eq(c.channels[1], "user:42");
	ck_assert_int_eq(c.exp, NOW + 600);
	ck_assert_str_eq(c.sub, "u42");
	lg_token_claims_free(&c);
	ck_assert_int_eq(verify_str(kidring, tok), LG_TOKEN_BAD_SIGNATURE);
	free(tok);
	jwt_free(jwt);

	/* With a kid header, against a ring of LIVEGATE_SECRETS style. */
	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)K2, (int)strlen(K2)), 0);
	ck_assert_int_eq(jwt_add_header(jwt, "kid", "k7"), 0);
	ck_assert_int_eq(jwt_add_grants_json(jwt, grants), 0);
	tok = jwt_encode_str(jwt);
	ck_assert_ptr_nonnull(tok);
	ck_assert_int_eq(verify_str(kidring, tok), LG_TOKEN_OK);
	ck_assert_int_eq(verify_str(kr, tok), LG_TOKEN_UNKNOWN_KID);
	free(tok);
	jwt_free(jwt);

	/* libjwt with HS512: refused by alg. */
	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_set_alg(jwt, JWT_ALG_HS512, (const unsigned char *)K1, (int)strlen(K1)), 0);
	ck_assert_int_eq(jwt_add_grants_json(jwt, grants), 0);
	tok = jwt_encode_str(jwt);
	ck_assert_ptr_nonnull(tok);
	ck_assert_int_eq(verify_str(kr, tok), LG_TOKEN_BAD_ALG);
	free(tok);
	jwt_free(jwt);
	free(grants);
	lg_keyring_free(kr);
	lg_keyring_free(kidring);
}
END_TEST

START_TEST(we_sign_libjwt_verifies)
{
	struct lg_keyring *kr = ring_with("k1", K1, NULL, NULL);
	const char *ch[] = { "todos", "user:42" };
	char err[160], *tok, *chjson;
	json_t *got, *want;
	jwt_t *jwt = NULL;

	ck_assert_int_eq(lg_token_sign(kr, ch, 2, "u42", NOW * 1000 + 250, NOW + 600, &tok, err,
	                               sizeof err), 0);
	ck_assert_int_eq(jwt_decode(&jwt, tok, (const unsigned char *)K1, (int)strlen(K1)), 0);
	ck_assert_int_eq(jwt_get_alg(jwt), JWT_ALG_HS256);
	ck_assert_str_eq(jwt_get_header(jwt, "kid"), "k1");
	ck_assert_str_eq(jwt_get_header(jwt, "typ"), "JWT");
	ck_assert_int_eq(jwt_get_grant_int(jwt, "exp"), NOW + 600);
	/* iat carries milliseconds: a real, read as one by libjwt too. */
	chjson = jwt_get_grants_json(jwt, "iat");
	ck_assert_ptr_nonnull(chjson);
	got = json_loads(chjson, JSON_DECODE_ANY, NULL);
	ck_assert_ptr_nonnull(got);
	ck_assert(json_is_real(got));
	ck_assert(json_real_value(got) == 1700000000.25);
	json_decref(got);
	free(chjson);
	ck_assert_str_eq(jwt_get_grant(jwt, "sub"), "u42");
	chjson = jwt_get_grants_json(jwt, "channels");
	ck_assert_ptr_nonnull(chjson);
	got = json_loads(chjson, 0, NULL);
	want = json_pack("[ss]", "todos", "user:42");
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(json_equal(got, want), 1);
	json_decref(got);
	json_decref(want);
	free(chjson);
	jwt_free(jwt);
	jwt = NULL;
	/* The wrong key fails in libjwt too. */
	ck_assert_int_ne(jwt_decode(&jwt, tok, (const unsigned char *)K2, (int)strlen(K2)), 0);
	jwt_free(jwt);
	free(tok);
	lg_keyring_free(kr);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("token");
	TCase *tc;

	tc = tcase_create("token");
	tcase_add_test(tc, status_names);
	tcase_add_test(tc, sign_verify_round_trip);
	tcase_add_test(tc, sign_rejects_bad_input);
	tcase_add_test(tc, malformed_structure);
	tcase_add_test(tc, token_length_limit);
	tcase_add_test(tc, bad_alg);
	tcase_add_test(tc, tampering);
	tcase_add_test(tc, kid_selection);
	tcase_add_test(tc, key_rotation_with_kids);
	tcase_add_test(tc, key_rotation_without_kids);
	tcase_add_test(tc, check_order);
	tcase_add_test(tc, verify_zeroes_out_on_failure);
	suite_add_tcase(s, tc);
#ifdef HAVE_LIBJWT
	tc = tcase_create("libjwt");
	tcase_add_test(tc, libjwt_signs_we_verify);
	tcase_add_test(tc, we_sign_libjwt_verifies);
	suite_add_tcase(s, tc);
#endif
	return lg_run_suite(s);
}
