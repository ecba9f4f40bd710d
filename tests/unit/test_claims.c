/* tests/unit/test_claims.c - unit tests of auth/claims (and the signer's
 * iat): channel names, the rules for each claim (channels, exp, nbf, iat,
 * sub) as lg_token_verify applies them, the lifetime cap
 * (LIVEGATE_MAX_TOKEN_LIFETIME, exp_too_far) and iat with milliseconds. */
#include <check.h>
#include "check_main.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_fixture.h"
#include "claims.h"
#include "token.h"

#define WEEK ((int64_t)604800)

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
	const char *a = strchr(tok, '.') + 1;

	return unb64(a, (size_t)(strrchr(tok, '.') - a));
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

/* A render time a backend gives the API: kept to the millisecond within a
 * day behind and a minute ahead of the clock, refused beyond (and NaN). */
START_TEST(given_iat_bounds)
{
	const int64_t now = 1764871234567;
	int64_t ms = -7;

	ck_assert_int_eq(lg_token_given_iat(1764871229.123, now, &ms), 0);
	ck_assert_int_eq(ms, 1764871229123);
	ck_assert_int_eq(lg_token_given_iat((now - LG_GIVEN_IAT_BEHIND_MS) / 1000.0, now, &ms), 0);
	ck_assert_int_eq(ms, now - LG_GIVEN_IAT_BEHIND_MS);
	ck_assert_int_eq(lg_token_given_iat((now + LG_GIVEN_IAT_AHEAD_MS) / 1000.0, now, &ms), 0);
	ms = -7;
	ck_assert_int_eq(lg_token_given_iat((now - LG_GIVEN_IAT_BEHIND_MS - 2) / 1000.0, now, &ms), -1);
	ck_assert_int_eq(lg_token_given_iat((now + LG_GIVEN_IAT_AHEAD_MS + 2) / 1000.0, now, &ms), -1);
	ck_assert_int_eq(lg_token_given_iat(1764871234567.0, now, &ms), -1); /* milliseconds */
	ck_assert_int_eq(lg_token_given_iat(0.0 / 0.0, now, &ms), -1);
	ck_assert_int_eq(lg_token_given_iat(-1.0, now, &ms), -1);
	ck_assert_int_eq(ms, -7);
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
	tcase_add_test(tc, given_iat_bounds);
	tcase_add_test(tc, verify_applies_the_cap);
	tcase_add_test(tc, channel_names);
	tcase_add_test(tc, claims_channels);
	tcase_add_test(tc, claims_channels_dedupe);
	tcase_add_test(tc, claims_exp);
	tcase_add_test(tc, claims_nbf_iat);
	tcase_add_test(tc, claims_sub);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
