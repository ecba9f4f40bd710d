/* tests/unit/test_hs256.c - unit tests of auth/hs256: HMAC-SHA-256 against
 * RFC 7515 appendix A.1, byte for byte and as a whole token. */
#include <check.h>
#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include "auth_fixture.h"
#include "b64url.h"
#include "hs256.h"

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

int main(void)
{
	Suite *s = suite_create("hs256");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, hs256_rfc7515_a1_bytes);
	tcase_add_test(tc, hs256_rfc7515_a1_token);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
