/* Unit tests of auth/claims (and the signer's iat): the lifetime cap
 * (LIVEGATE_MAX_TOKEN_LIFETIME, exp_too_far) and iat with milliseconds. */
#include <check.h>
#include "check_main.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claims.h"
#include "token.h"

#define NOW  ((int64_t)1700000000)
#define WEEK ((int64_t)604800)
#define K1   "claims-test-key-0123456789abcdefghij"

/* lg_claims_check on the claims text, with out filled. */
static enum lg_token_status check(const char *text, int64_t max_lifetime,
                                  struct lg_token_claims *out)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	enum lg_token_status st;

	ck_assert_msg(j != NULL, "%s: %s", text, e.text);
	st = lg_claims_check(j, NOW, max_lifetime, out);
	json_decref(j);
	return st;
}

static enum lg_token_status check_exp(int64_t exp, int64_t max_lifetime)
{
	char text[128];

	snprintf(text, sizeof text, "{\"channels\":[\"a\"],\"exp\":%lld}", (long long)exp);
	return check(text, max_lifetime, NULL);
}

START_TEST(exp_within_the_cap_passes)
{
	ck_assert_int_eq(check_exp(NOW + 1, WEEK), LG_TOKEN_OK);
	ck_assert_int_eq(check_exp(NOW + WEEK, WEEK), LG_TOKEN_OK);
	ck_assert_int_eq(check_exp(NOW + WEEK + 1, WEEK), LG_TOKEN_EXP_TOO_FAR);
}
END_TEST

/* Issue 14: an exp written in milliseconds passed as valid for 50,000
 * years. */
START_TEST(exp_in_milliseconds_is_too_far)
{
	ck_assert_int_eq(check_exp((NOW + 600) * 1000, WEEK), LG_TOKEN_EXP_TOO_FAR);
	ck_assert_str_eq(lg_token_status_name(LG_TOKEN_EXP_TOO_FAR), "exp_too_far");
	/* 0: no cap (the unit's other callers). */
	ck_assert_int_eq(check_exp((NOW + 600) * 1000, 0), LG_TOKEN_OK);
}
END_TEST

START_TEST(order_expired_then_too_far_then_nbf)
{
	char text[160];

	ck_assert_int_eq(check_exp(NOW, WEEK), LG_TOKEN_EXPIRED);
	snprintf(text, sizeof text, "{\"channels\":[\"a\"],\"exp\":%lld,\"nbf\":%lld}",
	         (long long)(NOW + 2 * WEEK), (long long)(NOW + 10));
	ck_assert_int_eq(check(text, WEEK, NULL), LG_TOKEN_EXP_TOO_FAR);
	ck_assert_int_eq(check(text, 0, NULL), LG_TOKEN_NOT_YET_VALID);
	/* A bad claim is reported before any time check. */
	snprintf(text, sizeof text, "{\"channels\":[],\"exp\":%lld}", (long long)(NOW + 2 * WEEK));
	ck_assert_int_eq(check(text, WEEK, NULL), LG_TOKEN_BAD_CLAIMS);
}
END_TEST

/* iat as written -> (iat, iat_ms) read; "" when absent. */
static const struct { const char *text; int64_t iat, iat_ms; } iats[] = {
	{ ",\"iat\":1764871234.567", 1764871234, 1764871234567 },
	{ ",\"iat\":1764871234", 1764871234, 1764871234000 },
	{ ",\"iat\":1764871234.5", 1764871234, 1764871234500 },
	{ ",\"iat\":1764871234.0004", 1764871234, 1764871234000 },
	{ "", 0, 0 },
};

START_TEST(fractional_iat_keeps_milliseconds)
{
	struct lg_token_claims c;
	char text[160];

	snprintf(text, sizeof text, "{\"channels\":[\"a\"],\"exp\":%lld%s}", (long long)(NOW + 60),
	         iats[_i].text);
	ck_assert_int_eq(check(text, WEEK, &c), LG_TOKEN_OK);
	ck_assert_int_eq(c.iat, iats[_i].iat);
	ck_assert_int_eq(c.iat_ms, iats[_i].iat_ms);
	lg_token_claims_free(&c);
}
END_TEST

START_TEST(negative_iat_is_a_bad_claim)
{
	char text[160];

	snprintf(text, sizeof text, "{\"channels\":[\"a\"],\"exp\":%lld,\"iat\":-0.5}",
	         (long long)(NOW + 60));
	ck_assert_int_eq(check(text, WEEK, NULL), LG_TOKEN_BAD_CLAIMS);
}
END_TEST

/* The decoded claims part of a compact token, malloc'd. */
static char *claims_of(const char *tok)
{
	const char *a = strchr(tok, '.') + 1, *b = strrchr(tok, '.');
	size_t n = (size_t)(b - a), i, o = 0;
	char *in = malloc(n + 4), *out = malloc(n + 4);
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned v = 0;
	int bits = 0;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	memcpy(in, a, n);
	for (i = 0; i < n; i++) {
		v = (v << 6) | (unsigned)(strchr(al, in[i]) - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((v >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	free(in);
	return out;
}

/* The API writes iat with milliseconds; the verifier gives them back
 * exactly, for every millisecond of a second and at today's epochs. */
START_TEST(signed_iat_round_trips)
{
	struct lg_keyring *kr = lg_keyring_new();
	const char *ch[] = { "todos" };
	struct lg_token_claims c;
	char err[200], *tok, *claims;
	int64_t base[] = { 1764871234000, 1700000000000, 4102444800000 /* 2100 */, 0 };

	ck_assert_int_eq(lg_keyring_add(kr, NULL, (const unsigned char *)K1, strlen(K1), err,
	                                sizeof err), 0);
	ck_assert_int_eq(lg_token_sign(kr, ch, 1, NULL, 1764871234567, NOW + 60, &tok, err,
	                               sizeof err), 0);
	claims = claims_of(tok);
	ck_assert_msg(strstr(claims, "\"iat\":1764871234.567") != NULL, "%s", claims);
	free(claims);
	free(tok);
	for (size_t b = 0; b < sizeof base / sizeof base[0]; b++)
		for (int64_t ms = 0; ms < 1000; ms++) {
			int64_t iat_ms = base[b] + ms;
			ck_assert_int_eq(lg_token_sign(kr, ch, 1, NULL, iat_ms, NOW + 60, &tok, err,
			                               sizeof err), 0);
			ck_assert_int_eq(lg_token_verify(kr, tok, strlen(tok), NOW, WEEK, &c), LG_TOKEN_OK);
			ck_assert_int_eq(c.iat_ms, iat_ms);
			ck_assert_int_eq(c.iat, iat_ms / 1000);
			lg_token_claims_free(&c);
			free(tok);
		}
	lg_keyring_free(kr);
}
END_TEST

START_TEST(verify_applies_the_cap)
{
	struct lg_keyring *kr = lg_keyring_new();
	const char *ch[] = { "todos" };
	char err[200], *tok;

	ck_assert_int_eq(lg_keyring_add(kr, NULL, (const unsigned char *)K1, strlen(K1), err,
	                                sizeof err), 0);
	ck_assert_int_eq(lg_token_sign(kr, ch, 1, NULL, NOW * 1000, (NOW + 3600) * 1000, &tok, err,
	                               sizeof err), 0);
	ck_assert_int_eq(lg_token_verify(kr, tok, strlen(tok), NOW, WEEK, NULL), LG_TOKEN_EXP_TOO_FAR);
	ck_assert_int_eq(lg_token_verify(kr, tok, strlen(tok), NOW, 0, NULL), LG_TOKEN_OK);
	free(tok);
	lg_keyring_free(kr);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("claims");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, exp_within_the_cap_passes);
	tcase_add_test(tc, exp_in_milliseconds_is_too_far);
	tcase_add_test(tc, order_expired_then_too_far_then_nbf);
	tcase_add_loop_test(tc, fractional_iat_keeps_milliseconds, 0, (int)(sizeof iats / sizeof iats[0]));
	tcase_add_test(tc, negative_iat_is_a_bad_claim);
	tcase_add_test(tc, signed_iat_round_trips);
	tcase_add_test(tc, verify_applies_the_cap);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
