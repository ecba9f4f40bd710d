/* tests/unit/test_keyring.c - unit tests of auth/keyring: the rules for
 * adding keys, LIVEGATE_SECRETS lists and secrets files (all or nothing,
 * errors that name the entry and never show a key). */
#include <check.h>
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_fixture.h"

static void assert_no_key_in(const char *err)
{
	ck_assert_msg(strstr(err, MARK) == NULL, "error text leaks a key: %s", err);
	ck_assert_msg(strstr(err, "abcdefghij") == NULL, "error text leaks a key: %s", err);
	ck_assert_msg(err[0] != '\0', "empty error text");
}

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

static int parse_file(struct lg_keyring *kr, const char *text, char *err, size_t errlen)
{
	int rc;

	err[0] = '\0';
	rc = lg_keyring_parse_file_text(kr, text, strlen(text), err, errlen);
	if (rc != 0)
		assert_no_key_in(err);
	return rc;
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

int main(void)
{
	Suite *s = suite_create("keyring");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, keyring_add_rules);
	tcase_add_test(tc, keyring_parse_list_ok);
	tcase_add_test(tc, keyring_parse_list_key_with_colon);
	tcase_add_test(tc, keyring_parse_list_errors);
	tcase_add_test(tc, keyring_parse_file_ok);
	tcase_add_test(tc, keyring_parse_file_errors);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
