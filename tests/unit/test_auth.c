/* tests/unit/test_auth.c - unit tests of auth/: base64url, HS256, the key
 * ring and its parsers, token verification and signing, and interop with
 * libjwt (when built with HAVE_LIBJWT).
 */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "hs256.h"
#include "token.h"

#ifdef HAVE_LIBJWT
#include <jwt.h>
#endif

#define NOW ((int64_t)1700000000)

/* Keys carry a marker so tests can assert that no error text leaks them. */
#define MARK "SeCrEt"
static const char K1[] = "k1-" MARK "-0123456789abcdefghijklmnopqrstuvwxyz";
static const char K2[] = "k2-" MARK "-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210";
static const char K3[] = "k3-" MARK "-not-in-any-ring-00000000000000000000";

#define HDR     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define HDR_K1  "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}"
#define HDR_K2  "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k2\"}"

/* RFC 7515 appendix A.1 */
static const char A1_KEY_B64[] =
	"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
static const char A1_TOKEN[] =
	"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const unsigned char A1_SIG[32] = {
	116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
	22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121 };

/* --- helpers ------------------------------------------------------------- */

static char *b64(const void *data, size_t n)
{
	size_t cap = lg_b64url_encoded_len(n) + 1, len = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(lg_b64url_encode(data, n, s, cap, &len), 0);
	ck_assert_uint_eq(len, strlen(s));
	return s;
}

/* Decodes a base64url part of a token into a NUL-terminated string. */
static char *unb64(const char *s, size_t n)
{
	size_t len = 0;
	unsigned char *d = malloc(n + 1);

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(lg_b64url_decode(s, n, d, n + 1, &len), 0);
	d[len] = '\0';
	return (char *)d;
}

/* Builds header.claims.signature from JSON texts, signed with key (or with
 * an empty signature when key is NULL). */
static char *mk_token(const char *hdr, const char *claims, const char *key)
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

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	ck_assert_ptr_nonnull(d);
	memcpy(d, s, n);
	return d;
}

/* Claims text from a printf format (NOW-relative values are computed by
 * the caller). */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
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

static struct lg_keyring *ring_with(const char *kid1, const char *key1,
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

static enum lg_token_status verify_str(const struct lg_keyring *kr, const char *tok)
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

/* Status of a token with the given claims (signed with K1, no kid) against
 * the ring {k1:K1, k2:K2}. */
static enum lg_token_status claims_status(const char *claims)
{
	struct lg_keyring *kr = ring_with("k1", K1, "k2", K2);
	char *t = mk_token(HDR, claims, K1);
	enum lg_token_status st = verify_str(kr, t);

	free(t);
	lg_keyring_free(kr);
	return st;
}

#define CLAIMS_STATUS(expect, ...) do { \
		char *c_ = fmt(__VA_ARGS__); \
		ck_assert_msg(claims_status(c_) == (expect), "claims %s: got %s, want %s", \
		              c_, lg_token_status_name(claims_status(c_)), \
		              lg_token_status_name(expect)); \
		free(c_); \
	} while (0)

/* --- base64url ----------------------------------------------------------- */

/* Mints a token from hdr, claims and key and checks what kr says of it (a
 * macro so a failure names the test's own line). */
#define assert_token(kr, hdr, claims, key, want) do {                   \
		char *t_ = mk_token(hdr, claims, key);                  \
		ck_assert_int_eq(verify_str(kr, t_), want);             \
		free(t_);                                               \
	} while (0)

START_TEST(b64_rfc4648_vectors)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	size_t i;

	for (i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		char *e = b64(plain[i], strlen(plain[i]));
		unsigned char out[16];
		size_t n = 99;

		ck_assert_str_eq(e, enc[i]);
		ck_assert_int_eq(lg_b64url_decode(enc[i], strlen(enc[i]), out, sizeof out, &n), 0);
		ck_assert_uint_eq(n, strlen(plain[i]));
		ck_assert_mem_eq(out, plain[i], n);
		free(e);
	}
}
END_TEST

START_TEST(b64_url_alphabet)
{
	static const unsigned char in[] = { 0xfb, 0xff, 0xbf };
	unsigned char out[3];
	char *e = b64(in, sizeof in);
	size_t n;

	/* The standard alphabet would give "+/+/". */
	ck_assert_str_eq(e, "-_-_");
	ck_assert_int_eq(lg_b64url_decode(e, 4, out, sizeof out, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(out, in, 3);
	free(e);
}
END_TEST

START_TEST(b64_round_trip_all_lengths)
{
	unsigned char in[300], out[300];
	size_t len, i, n;

	for (i = 0; i < sizeof in; i++)
		in[i] = (unsigned char)(i * 151 + 7);
	for (len = 0; len <= sizeof in; len++) {
		char *e = b64(in, len);

		ck_assert_uint_eq(strlen(e), lg_b64url_encoded_len(len));
		ck_assert_uint_eq(lg_b64url_decoded_len(strlen(e)), len);
		ck_assert_int_eq(lg_b64url_decode(e, strlen(e), out, sizeof out, &n), 0);
		ck_assert_uint_eq(n, len);
		ck_assert_mem_eq(out, in, len);
		free(e);
	}
}
END_TEST

START_TEST(b64_rejects)
{
	static const char *const bad[] = {
		"Zg==", "Zm8=", "Zg=", "Zm9v+A", "Zm9v/A", "Zm 9v", "Zm9v\n", " Zm9v",
		"Zm9\t", "Z", "Zm9vY", "Zm9v.g", "Zm9v%g",
		"Zh",   /* 'h' leaves non-zero trailing bits: canonical is "Zg" */
		"Zm9",  /* canonical is "Zm8" */
		"Zm_",
	};
	unsigned char out[16];
	size_t i, n;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(lg_b64url_decode(bad[i], strlen(bad[i]), out, sizeof out, &n) == -1,
		              "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(lg_b64url_decode("Zm\0v", 4, out, sizeof out, &n), -1);
	ck_assert_int_eq(lg_b64url_decode("Zm\x80v", 4, out, sizeof out, &n), -1);
	ck_assert_uint_eq(lg_b64url_decoded_len(5), (size_t)-1);
}
END_TEST

START_TEST(b64_capacity)
{
	unsigned char out[3];
	char e[5];
	size_t n;

	ck_assert_int_eq(lg_b64url_encode((const unsigned char *)"foo", 3, e, 4, &n), -1);
	ck_assert_int_eq(lg_b64url_encode((const unsigned char *)"foo", 3, e, 5, &n), 0);
	ck_assert_str_eq(e, "Zm9v");
	ck_assert_int_eq(lg_b64url_decode("Zm9vYg", 6, out, 3, &n), -1);
	ck_assert_int_eq(lg_b64url_decode("Zm9v", 4, out, 3, &n), 0);
}
END_TEST

/* --- HS256 --------------------------------------------------------------- */

static unsigned char *a1_key(size_t *len)
{
	unsigned char *k = malloc(64);

	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(lg_b64url_decode(A1_KEY_B64, strlen(A1_KEY_B64), k, 64, len), 0);
	ck_assert_uint_eq(*len, 64);
	return k;
}

START_TEST(hs256_rfc7515_a1_bytes)
{
	size_t klen, input_len = (size_t)(strrchr(A1_TOKEN, '.') - A1_TOKEN);
	unsigned char *key = a1_key(&klen), mac[LG_HS256_LEN], bad[LG_HS256_LEN];
	char *e;

	ck_assert_int_eq(lg_hs256(key, klen, (const unsigned char *)A1_TOKEN, input_len, mac), 0);
	ck_assert_mem_eq(mac, A1_SIG, sizeof A1_SIG);
	e = b64(mac, sizeof mac);
	ck_assert_str_eq(e, strrchr(A1_TOKEN, '.') + 1);
	free(e);

	ck_assert_int_eq(lg_hs256_check(key, klen, (const unsigned char *)A1_TOKEN, input_len,
	                                A1_SIG, sizeof A1_SIG), 1);
	memcpy(bad, A1_SIG, sizeof bad);
	bad[31] ^= 1;
	ck_assert_int_eq(lg_hs256_check(key, klen, (const unsigned char *)A1_TOKEN, input_len,
	                                bad, sizeof bad), 0);
	ck_assert_int_eq(lg_hs256_check(key, klen, (const unsigned char *)A1_TOKEN, input_len,
	                                A1_SIG, 31), 0);
	ck_assert_int_eq(lg_hs256_check(key, klen, (const unsigned char *)A1_TOKEN, input_len - 1,
	                                A1_SIG, sizeof A1_SIG), 0);
	free(key);
}
END_TEST

START_TEST(hs256_rfc7515_a1_token)
{
	struct lg_keyring *kr = lg_keyring_new(), *other;
	size_t klen;
	unsigned char *key = a1_key(&klen);
	char err[128];

	ck_assert_int_eq(lg_keyring_add(kr, NULL, key, klen, err, sizeof err), 0);
	/* The signature verifies; the claims have no "channels", so the
	 * answer is bad_claims, which comes after the signature check (and
	 * before the check of the long-past exp). */
	ck_assert_int_eq(verify_str(kr, A1_TOKEN), LG_TOKEN_BAD_CLAIMS);

	/* Same ring with a kid: the token has no kid, so every key is tried. */
	other = lg_keyring_new();
	ck_assert_int_eq(lg_keyring_add(other, "x", (const unsigned char *)K1, strlen(K1),
	                                err, sizeof err), 0);
	ck_assert_int_eq(verify_str(other, A1_TOKEN), LG_TOKEN_BAD_SIGNATURE);
	ck_assert_int_eq(lg_keyring_add(other, "a1", key, klen, err, sizeof err), 0);
	ck_assert_int_eq(verify_str(other, A1_TOKEN), LG_TOKEN_BAD_CLAIMS);
	lg_keyring_free(other);
	lg_keyring_free(kr);
	free(key);
}
END_TEST

/* --- names and channel names --------------------------------------------- */

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

START_TEST(channel_names)
{
	char big[LG_CHANNEL_MAX_LEN + 2];

	memset(big, 'x', sizeof big);
	ck_assert_int_eq(lg_channel_name_valid("todos", 5), 1);
	ck_assert_int_eq(lg_channel_name_valid("user:42", 7), 1);
	ck_assert_int_eq(lg_channel_name_valid("!~", 2), 1);
	ck_assert_int_eq(lg_channel_name_valid(big, LG_CHANNEL_MAX_LEN), 1);
	ck_assert_int_eq(lg_channel_name_valid(big, LG_CHANNEL_MAX_LEN + 1), 0);
	ck_assert_int_eq(lg_channel_name_valid("", 0), 0);
	ck_assert_int_eq(lg_channel_name_valid(NULL, 3), 0);
	ck_assert_int_eq(lg_channel_name_valid("a b", 3), 0);
	ck_assert_int_eq(lg_channel_name_valid(" a", 2), 0);
	ck_assert_int_eq(lg_channel_name_valid("a\tb", 3), 0);
	ck_assert_int_eq(lg_channel_name_valid("a\x7f", 2), 0);
	ck_assert_int_eq(lg_channel_name_valid("caf\xc3\xa9", 5), 0);
	ck_assert_int_eq(lg_channel_name_valid("a\0b", 3), 0);
}
END_TEST

/* --- key ring ------------------------------------------------------------ */

static void assert_no_key_in(const char *err)
{
	ck_assert_msg(strstr(err, MARK) == NULL, "error text leaks a key: %s", err);
	ck_assert_msg(strstr(err, "abcdefghij") == NULL, "error text leaks a key: %s", err);
	ck_assert_msg(err[0] != '\0', "empty error text");
}

START_TEST(keyring_add_rules)
{
	struct lg_keyring *kr = lg_keyring_new();
	unsigned char key[LG_KEY_MAX_LEN + 1];
	char kid[LG_KID_MAX_LEN + 2], err[128];
	int i;

	memset(key, 'k', sizeof key);
	memcpy(key, MARK, strlen(MARK));
	ck_assert_int_eq(lg_keyring_count(kr), 0);
	ck_assert_int_eq(lg_keyring_add(kr, "a", key, LG_KEY_MIN_LEN - 1, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "shorter"));
	assert_no_key_in(err);
	ck_assert_int_eq(lg_keyring_add(kr, "a", key, LG_KEY_MAX_LEN + 1, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer"));
	assert_no_key_in(err);
	ck_assert_int_eq(lg_keyring_add(kr, "", key, 32, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	memset(kid, 'i', sizeof kid);
	kid[LG_KID_MAX_LEN + 1] = '\0';
	ck_assert_int_eq(lg_keyring_add(kr, kid, key, 32, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than 64"));
	ck_assert_int_eq(lg_keyring_add(kr, "a b", key, 32, err, sizeof err), -1);
	ck_assert_int_eq(lg_keyring_add(kr, "a\x01", key, 32, err, sizeof err), -1);
	ck_assert_int_eq(lg_keyring_add(kr, "caf\xc3\xa9", key, 32, err, sizeof err), -1);
	ck_assert_int_eq(lg_keyring_count(kr), 0);

	kid[LG_KID_MAX_LEN] = '\0';
	ck_assert_int_eq(lg_keyring_add(kr, kid, key, LG_KEY_MIN_LEN, err, sizeof err), 0);
	ck_assert_int_eq(lg_keyring_add(kr, "b", key, LG_KEY_MAX_LEN, err, sizeof err), 0);
	ck_assert_int_eq(lg_keyring_add(kr, "b", key, 40, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "duplicate"));
	/* Keys without id may repeat (LIVEGATE_SECRET style). */
	ck_assert_int_eq(lg_keyring_add(kr, NULL, key, 40, err, sizeof err), 0);
	ck_assert_int_eq(lg_keyring_add(kr, NULL, key, 41, err, sizeof err), 0);
	ck_assert_int_eq(lg_keyring_count(kr), 4);
	for (i = 4; i < LG_KEYRING_MAX_KEYS; i++)
		ck_assert_int_eq(lg_keyring_add(kr, NULL, key, 32, err, sizeof err), 0);
	ck_assert_int_eq(lg_keyring_add(kr, "z", key, 32, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "too many"));
	ck_assert_int_eq(lg_keyring_count(kr), LG_KEYRING_MAX_KEYS);
	/* A NULL or zero-sized error buffer is allowed. */
	ck_assert_int_eq(lg_keyring_add(kr, "z", key, 32, NULL, 0), -1);
	lg_keyring_free(kr);
	lg_keyring_free(NULL);
}
END_TEST

/* Parses a LIVEGATE_SECRETS value; returns the rc and leaves err set. */
static int parse_list(struct lg_keyring *kr, const char *spec, char *err, size_t errlen)
{
	int rc;

	err[0] = '\0';
	rc = lg_keyring_parse_list(kr, spec, err, errlen);
	if (rc != 0)
		assert_no_key_in(err);
	return rc;
}

START_TEST(keyring_parse_list_ok)
{
	struct lg_keyring *kr = lg_keyring_new(), *just_k2;
	char *spec = fmt("k1:%s,k2:%s", K1, K2), *tok, *hdr;
	const char *ch[] = { "todos" };
	char err[160];

	ck_assert_int_eq(parse_list(kr, spec, err, sizeof err), 0);
	ck_assert_int_eq(lg_keyring_count(kr), 2);
	/* The first key signs, with its kid. */
	ck_assert_int_eq(lg_token_sign(kr, ch, 1, NULL, NOW * 1000, NOW + 60, &tok, err, sizeof err), 0);
	hdr = unb64(tok, (size_t)(strchr(tok, '.') - tok));
	ck_assert_str_eq(hdr, HDR_K1);
	ck_assert_int_eq(verify_str(kr, tok), LG_TOKEN_OK);
	just_k2 = ring_with("k1", K2, NULL, NULL);
	ck_assert_int_eq(verify_str(just_k2, tok), LG_TOKEN_BAD_SIGNATURE);
	lg_keyring_free(just_k2);
	free(hdr);
	free(tok);
	free(spec);
	lg_keyring_free(kr);
}
END_TEST

START_TEST(keyring_parse_list_key_with_colon)
{
	/* The key is everything after the first ':'. */
	static const char key[] = "a:b:c-" MARK "-0123456789012345678901234567";
	struct lg_keyring *kr = lg_keyring_new(), *ref = ring_with("k", key, NULL, NULL);
	const char *ch[] = { "c" };
	char *spec = fmt("k:%s", key), *tok, err[160];

	ck_assert_int_eq(parse_list(kr, spec, err, sizeof err), 0);
	ck_assert_int_eq(lg_token_sign(kr, ch, 1, NULL, NOW * 1000, NOW + 60, &tok, err, sizeof err), 0);
	ck_assert_int_eq(verify_str(ref, tok), LG_TOKEN_OK);
	free(tok);
	free(spec);
	lg_keyring_free(kr);
	lg_keyring_free(ref);
}
END_TEST

START_TEST(keyring_parse_list_errors)
{
	struct lg_keyring *kr = ring_with("k0", K3, NULL, NULL);
	char err[160], *s;

	ck_assert_int_eq(parse_list(kr, "", err, sizeof err), -1);
	ck_assert_int_eq(parse_list(kr, "k1:short-" MARK, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "entry 1"));
	ck_assert_ptr_nonnull(strstr(err, "shorter"));

	s = fmt("k1:%s,%s", K1, K2); /* second entry lacks "kid:" */
	ck_assert_int_eq(parse_list(kr, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "entry 2"));
	free(s);
	s = fmt("k1:%s,,k2:%s", K1, K2);
	ck_assert_int_eq(parse_list(kr, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "entry 2"));
	free(s);
	s = fmt("k1:%s,", K1);
	ck_assert_int_eq(parse_list(kr, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "entry 2"));
	free(s);
	s = fmt("k1:%s,k1:%s", K1, K2);
	ck_assert_int_eq(parse_list(kr, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "duplicate"));
	free(s);
	s = fmt("k0:%s", K1); /* duplicate of a kid already in the ring */
	ck_assert_int_eq(parse_list(kr, s, err, sizeof err), -1);
	free(s);
	s = fmt(":%s", K1);
	ck_assert_int_eq(parse_list(kr, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	free(s);
	s = fmt("k1:%s, k2:%s", K1, K2); /* " k2" is not a valid kid */
	ck_assert_int_eq(parse_list(kr, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "entry 2"));
	free(s);
	/* A failed parse adds nothing, even the entries before the bad one. */
	ck_assert_int_eq(lg_keyring_count(kr), 1);
	lg_keyring_free(kr);
}
END_TEST

static int parse_file(struct lg_keyring *kr, const char *text, char *err, size_t errlen)
{
	int rc;

	err[0] = '\0';
	rc = lg_keyring_parse_file_text(kr, text, strlen(text), err, errlen);
	if (rc != 0)
		assert_no_key_in(err);
	return rc;
}

START_TEST(keyring_parse_file_ok)
{
	struct lg_keyring *kr = lg_keyring_new(), *ref = ring_with("k1", K1, "k2", K2);
	char *text = fmt("# livegate keys\r\n\r\n   \n  k1:%s  \r\n\t# old key below\n"
	                 "k2:%s", K1, K2);
	const char *ch[] = { "c" };
	char err[160], *tok;

	ck_assert_int_eq(parse_file(kr, text, err, sizeof err), 0);
	ck_assert_int_eq(lg_keyring_count(kr), 2);
	/* Trimming kept the keys intact: tokens agree with a reference ring. */
	ck_assert_int_eq(lg_token_sign(kr, ch, 1, NULL, NOW * 1000, NOW + 60, &tok, err, sizeof err), 0);
	ck_assert_int_eq(verify_str(ref, tok), LG_TOKEN_OK);
	free(tok);
	lg_keyring_free(ref);
	/* And the last line (no newline) kept its key too. */
	ref = ring_with("k2", K2, NULL, NULL);
	ck_assert_int_eq(lg_token_sign(ref, ch, 1, NULL, NOW * 1000, NOW + 60, &tok, err, sizeof err), 0);
	ck_assert_int_eq(verify_str(kr, tok), LG_TOKEN_OK);
	free(tok);
	lg_keyring_free(kr);
	lg_keyring_free(ref);
	free(text);
}
END_TEST

START_TEST(keyring_parse_file_errors)
{
	struct lg_keyring *kr = lg_keyring_new();
	char err[160], *s;
	size_t i;

	ck_assert_int_eq(parse_file(kr, "", err, sizeof err), -1);
	ck_assert_int_eq(parse_file(kr, "# only a comment\n\n  \r\n", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no keys"));
	s = fmt("# keys\nk1:%s\n\nk2:short-" MARK "\n", K1);
	ck_assert_int_eq(parse_file(kr, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "line 4"));
	free(s);
	s = fmt("k1:%s\r\n%s\r\n", K1, K2); /* a key pasted without its kid */
	ck_assert_int_eq(parse_file(kr, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	free(s);
	s = fmt("k1:%s\nk1:%s\n", K1, K2);
	ck_assert_int_eq(parse_file(kr, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	ck_assert_ptr_nonnull(strstr(err, "duplicate"));
	free(s);
	s = fmt("bad kid:%s\n", K1);
	ck_assert_int_eq(parse_file(kr, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "line 1"));
	free(s);
	/* A NUL byte inside the text (binary file given by mistake). */
	ck_assert_int_eq(lg_keyring_parse_file_text(kr, "k1:0123456789\0abcdefghijklmnopqrstuvwxyz", 40,
	                                            err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
	ck_assert_int_eq(lg_keyring_count(kr), 0);

	/* One key more than the ring holds. */
	s = malloc(8192);
	ck_assert_ptr_nonnull(s);
	s[0] = '\0';
	for (i = 0; i <= LG_KEYRING_MAX_KEYS; i++)
		sprintf(s + strlen(s), "kid%zu:%s\n", i, K1);
	ck_assert_int_eq(parse_file(kr, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "too many"));
	ck_assert_int_eq(lg_keyring_count(kr), 0);
	free(s);
	lg_keyring_free(kr);
}
END_TEST

/* --- tokens: structure, alg, kid, signature ------------------------------ */

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

/* --- tokens: claims ------------------------------------------------------ */

#define EXP "\"exp\":1800000000"

START_TEST(claims_channels)
{
	char name200[LG_CHANNEL_MAX_LEN + 1], name201[LG_CHANNEL_MAX_LEN + 2];
	char *list64, *list65;
	size_t i;

	memset(name200, 'n', sizeof name200);
	name200[LG_CHANNEL_MAX_LEN] = '\0';
	memset(name201, 'n', sizeof name201);
	name201[LG_CHANNEL_MAX_LEN + 1] = '\0';

	CLAIMS_STATUS(LG_TOKEN_OK, "{\"channels\":[\"a\"]," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{" EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[]," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":\"todos\"," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":{\"a\":1}," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":null," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\",1]," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[null]," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[[\"a\"]]," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"\"]," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a b\"]," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\\tb\"]," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"caf\\u00e9\"]," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_MALFORMED, "{\"channels\":[\"a\\u0000b\"]," EXP "}");
	CLAIMS_STATUS(LG_TOKEN_OK, "{\"channels\":[\"%s\"]," EXP "}", name200);
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"%s\"]," EXP "}", name201);

	list64 = malloc(1024);
	list65 = malloc(1024);
	ck_assert_ptr_nonnull(list64);
	ck_assert_ptr_nonnull(list65);
	list64[0] = '\0';
	for (i = 0; i < LG_TOKEN_MAX_CHANNELS; i++)
		sprintf(list64 + strlen(list64), "%s\"c%zu\"", i ? "," : "", i);
	sprintf(list65, "%s,\"c64\"", list64);
	CLAIMS_STATUS(LG_TOKEN_OK, "{\"channels\":[%s]," EXP "}", list64);
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[%s]," EXP "}", list65);
	free(list64);
	free(list65);
}
END_TEST

START_TEST(claims_channels_dedupe)
{
	struct lg_keyring *kr = ring_with(NULL, K1, NULL, NULL);
	char *t = mk_token(HDR, "{\"channels\":[\"b\",\"a\",\"b\",\"c\",\"a\",\"ab\"]," EXP "}", K1);
	struct lg_token_claims c;

	ck_assert_int_eq(lg_token_verify(kr, t, strlen(t), NOW, 0, &c), LG_TOKEN_OK);
	ck_assert_uint_eq(c.n_channels, 4);
	ck_assert_str_eq(c.channels[0], "b");
	ck_assert_str_eq(c.channels[1], "a");
	ck_assert_str_eq(c.channels[2], "c");
	ck_assert_str_eq(c.channels[3], "ab");
	lg_token_claims_free(&c);
	free(t);
	lg_keyring_free(kr);
}
END_TEST

START_TEST(claims_exp)
{
	struct lg_keyring *kr = ring_with(NULL, K1, NULL, NULL);
	struct lg_token_claims c;
	char *claims, *t;

	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"],\"exp\":\"1800000000\"}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"],\"exp\":true}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"],\"exp\":null}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"],\"exp\":[1800000000]}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"],\"exp\":-1}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"],\"exp\":-0.5}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"],\"exp\":9007199254740993}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"],\"exp\":1e300}");
	CLAIMS_STATUS(LG_TOKEN_OK, "{\"channels\":[\"a\"],\"exp\":9007199254740992}");
	CLAIMS_STATUS(LG_TOKEN_OK, "{\"channels\":[\"a\"],\"exp\":1.8e9}");
	/* Boundaries: valid while now < exp. */
	CLAIMS_STATUS(LG_TOKEN_EXPIRED, "{\"channels\":[\"a\"],\"exp\":%lld}", (long long)NOW);
	CLAIMS_STATUS(LG_TOKEN_EXPIRED, "{\"channels\":[\"a\"],\"exp\":%lld}", (long long)NOW - 1);
	CLAIMS_STATUS(LG_TOKEN_EXPIRED, "{\"channels\":[\"a\"],\"exp\":0}");
	CLAIMS_STATUS(LG_TOKEN_OK, "{\"channels\":[\"a\"],\"exp\":%lld}", (long long)NOW + 1);
	/* Reals are floored: NOW + 0.9 is NOW, hence expired. */
	CLAIMS_STATUS(LG_TOKEN_EXPIRED, "{\"channels\":[\"a\"],\"exp\":%lld.9}", (long long)NOW);

	claims = fmt("{\"channels\":[\"a\"],\"exp\":%lld.75}", (long long)NOW + 1);
	t = mk_token(HDR, claims, K1);
	ck_assert_int_eq(lg_token_verify(kr, t, strlen(t), NOW, 0, &c), LG_TOKEN_OK);
	ck_assert_int_eq(c.exp, NOW + 1);
	lg_token_claims_free(&c);
	free(t);
	free(claims);
	lg_keyring_free(kr);
}
END_TEST

START_TEST(claims_nbf_iat)
{
	struct lg_keyring *kr = ring_with(NULL, K1, NULL, NULL);
	struct lg_token_claims c;
	char *claims, *t;

	CLAIMS_STATUS(LG_TOKEN_NOT_YET_VALID, "{\"channels\":[\"a\"]," EXP ",\"nbf\":%lld}",
	              (long long)NOW + 1);
	CLAIMS_STATUS(LG_TOKEN_OK, "{\"channels\":[\"a\"]," EXP ",\"nbf\":%lld}", (long long)NOW);
	CLAIMS_STATUS(LG_TOKEN_OK, "{\"channels\":[\"a\"]," EXP ",\"nbf\":%lld.5}", (long long)NOW);
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]," EXP ",\"nbf\":\"now\"}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]," EXP ",\"nbf\":-5}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]," EXP ",\"nbf\":null}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]," EXP ",\"iat\":\"1700000000\"}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]," EXP ",\"iat\":false}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]," EXP ",\"iat\":{}}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]," EXP ",\"iat\":1e17}");
	/* iat is informational: a future iat is accepted. */
	CLAIMS_STATUS(LG_TOKEN_OK, "{\"channels\":[\"a\"]," EXP ",\"iat\":%lld}", (long long)NOW + 100);

	claims = fmt("{\"channels\":[\"a\"]," EXP ",\"iat\":%lld.2,\"nbf\":%lld}",
	             (long long)NOW - 10, (long long)NOW - 5);
	t = mk_token(HDR, claims, K1);
	ck_assert_int_eq(lg_token_verify(kr, t, strlen(t), NOW, 0, &c), LG_TOKEN_OK);
	ck_assert_int_eq(c.iat, NOW - 10);
	ck_assert_int_eq(c.nbf, NOW - 5);
	ck_assert_int_eq(c.exp, 1800000000);
	lg_token_claims_free(&c);
	free(t);
	free(claims);
	lg_keyring_free(kr);
}
END_TEST

START_TEST(claims_sub)
{
	struct lg_keyring *kr = ring_with(NULL, K1, NULL, NULL);
	char sub256[LG_SUB_MAX_LEN + 1], sub257[LG_SUB_MAX_LEN + 2], *claims, *t;
	struct lg_token_claims c;

	memset(sub256, 'u', sizeof sub256);
	sub256[LG_SUB_MAX_LEN] = '\0';
	memset(sub257, 'u', sizeof sub257);
	sub257[LG_SUB_MAX_LEN + 1] = '\0';
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]," EXP ",\"sub\":42}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]," EXP ",\"sub\":null}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]," EXP ",\"sub\":[\"u\"]}");
	CLAIMS_STATUS(LG_TOKEN_BAD_CLAIMS, "{\"channels\":[\"a\"]," EXP ",\"sub\":\"%s\"}", sub257);
	CLAIMS_STATUS(LG_TOKEN_OK, "{\"channels\":[\"a\"]," EXP ",\"sub\":\"%s\"}", sub256);
	CLAIMS_STATUS(LG_TOKEN_OK, "{\"channels\":[\"a\"]," EXP ",\"sub\":\"\"}");

	claims = fmt("{\"channels\":[\"a\"]," EXP ",\"sub\":\"u\\u00e9\",\"aud\":\"x\",\"extra\":{}}");
	t = mk_token(HDR, claims, K1);
	ck_assert_int_eq(lg_token_verify(kr, t, strlen(t), NOW, 0, &c), LG_TOKEN_OK);
	ck_assert_str_eq(c.sub, "u\xc3\xa9");
	lg_token_claims_free(&c);
	free(t);
	free(claims);
	lg_keyring_free(kr);
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

/* --- runner -------------------------------------------------------------- */

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc;

	tc = tcase_create("b64url");
	tcase_add_test(tc, b64_rfc4648_vectors);
	tcase_add_test(tc, b64_url_alphabet);
	tcase_add_test(tc, b64_round_trip_all_lengths);
	tcase_add_test(tc, b64_rejects);
	tcase_add_test(tc, b64_capacity);
	suite_add_tcase(s, tc);

	tc = tcase_create("hs256");
	tcase_add_test(tc, hs256_rfc7515_a1_bytes);
	tcase_add_test(tc, hs256_rfc7515_a1_token);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, status_names);
	tcase_add_test(tc, channel_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("keyring");
	tcase_add_test(tc, keyring_add_rules);
	tcase_add_test(tc, keyring_parse_list_ok);
	tcase_add_test(tc, keyring_parse_list_key_with_colon);
	tcase_add_test(tc, keyring_parse_list_errors);
	tcase_add_test(tc, keyring_parse_file_ok);
	tcase_add_test(tc, keyring_parse_file_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("token");
	tcase_add_test(tc, sign_verify_round_trip);
	tcase_add_test(tc, sign_rejects_bad_input);
	tcase_add_test(tc, malformed_structure);
	tcase_add_test(tc, token_length_limit);
	tcase_add_test(tc, bad_alg);
	tcase_add_test(tc, tampering);
	tcase_add_test(tc, kid_selection);
	tcase_add_test(tc, key_rotation_with_kids);
	tcase_add_test(tc, key_rotation_without_kids);
	suite_add_tcase(s, tc);

	tc = tcase_create("claims");
	tcase_add_test(tc, claims_channels);
	tcase_add_test(tc, claims_channels_dedupe);
	tcase_add_test(tc, claims_exp);
	tcase_add_test(tc, claims_nbf_iat);
	tcase_add_test(tc, claims_sub);
	tcase_add_test(tc, check_order);
	tcase_add_test(tc, verify_zeroes_out_on_failure);
	suite_add_tcase(s, tc);

#ifdef HAVE_LIBJWT
	tc = tcase_create("libjwt");
	tcase_add_test(tc, libjwt_signs_we_verify);
	tcase_add_test(tc, we_sign_libjwt_verifies);
	suite_add_tcase(s, tc);
#endif
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(auth_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
