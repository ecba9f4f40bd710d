/* auth/hs256.h - HMAC-SHA-256 (JWS "HS256") over OpenSSL. */
#ifndef LG_AUTH_HS256_H
#define LG_AUTH_HS256_H

#include <stddef.h>

#define LG_HS256_LEN 32 /* bytes of an HS256 signature */

/* Computes HMAC-SHA-256 of msg[0..msg_len) under key into mac.
 * Returns 0, or -1 when OpenSSL fails or key_len does not fit an int. */
int lg_hs256(const unsigned char *key, size_t key_len,
             const unsigned char *msg, size_t msg_len,
             unsigned char mac[LG_HS256_LEN]);

/* Returns 1 when sig[0..sig_len) is the HS256 of msg under key, compared in
 * constant time (CRYPTO_memcmp), else 0. */
int lg_hs256_check(const unsigned char *key, size_t key_len,
                   const unsigned char *msg, size_t msg_len,
                   const unsigned char *sig, size_t sig_len);

#endif
