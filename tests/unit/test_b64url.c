/* tests/unit/test_b64url.c - unit tests of auth/b64url: strict base64url
 * without padding (RFC 4648 section 5), one accepted spelling per byte
 * string. */
#include <check.h>
#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include "auth_fixture.h"
#include "b64url.h"

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

int main(void)
{
	Suite *s = suite_create("b64url");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, b64_rfc4648_vectors);
	tcase_add_test(tc, b64_url_alphabet);
	tcase_add_test(tc, b64_round_trip_all_lengths);
	tcase_add_test(tc, b64_rejects);
	tcase_add_test(tc, b64_capacity);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
