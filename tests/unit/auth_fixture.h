/* tests/unit/auth_fixture.h - what the unit tests of auth/ share: test keys,
 * headers, and helpers that mint tokens from JSON texts and check what a
 * key ring says of them (auth_fixture.c). Every helper asserts its own
 * steps, so a failure inside one fails the calling test. */
#ifndef LG_TESTS_AUTH_FIXTURE_H
#define LG_TESTS_AUTH_FIXTURE_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "token.h"

#define NOW ((int64_t)1700000000)

/* Keys carry a marker so tests can assert that no error text leaks them. */
#define MARK "SeCrEt"
extern const char K1[], K2[], K3[];

#define HDR     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define HDR_K1  "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}"
#define HDR_K2  "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k2\"}"

/* base64url of data[0..n), malloc'd. */
char *b64(const void *data, size_t n);

/* Decodes a base64url part of a token into a NUL-terminated string. */
char *unb64(const char *s, size_t n);

/* Builds header.claims.signature from JSON texts, signed with key (or with
 * an empty signature when key is NULL). */
char *mk_token(const char *hdr, const char *claims, const char *key);

char *xstrdup(const char *s);

/* Claims text from a printf format, malloc'd. */
char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* A ring of up to two keys (key NULL: not added). */
struct lg_keyring *ring_with(const char *kid1, const char *key1,
                             const char *kid2, const char *key2);

/* lg_token_verify at NOW; a refusal must leave the claims zeroed. */
enum lg_token_status verify_str(const struct lg_keyring *kr, const char *tok);

/* Status of a token with the given claims (signed with K1, no kid) against
 * the ring {k1:K1, k2:K2}. */
enum lg_token_status claims_status(const char *claims);

#define CLAIMS_STATUS(expect, ...) do { \
		char *c_ = fmt(__VA_ARGS__); \
		ck_assert_msg(claims_status(c_) == (expect), "claims %s: got %s, want %s", \
		              c_, lg_token_status_name(claims_status(c_)), \
		              lg_token_status_name(expect)); \
		free(c_); \
	} while (0)

/* Mints a token from hdr, claims and key and checks what kr says of it (a
 * macro so a failure names the test's own line). */
#define assert_token(kr, hdr, claims, key, want) do {                   \
		char *t_ = mk_token(hdr, claims, key);                  \
		ck_assert_int_eq(verify_str(kr, t_), want);             \
		free(t_);                                               \
	} while (0)

#endif
