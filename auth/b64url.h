/* auth/b64url.h - strict base64url (RFC 4648 section 5) without padding,
 * as JWS compact serialization uses it (RFC 7515 section 2).
 *
 * Strict means: only A-Z a-z 0-9 '-' '_' are accepted; '=' padding, '+',
 * '/', whitespace and any other byte are refused; a length of 4k+1 is
 * refused; and the unused low bits of the last character must be zero, so
 * every byte string has exactly one accepted encoding.
 */
#ifndef LG_AUTH_B64URL_H
#define LG_AUTH_B64URL_H

#include <stddef.h>

/* Characters that encode n bytes (no padding, no NUL). n < SIZE_MAX / 2. */
size_t lg_b64url_encoded_len(size_t n);

/* Encodes in[0..n) into out (cap bytes, including room for the NUL that is
 * always written). Returns 0 and sets *outlen (without the NUL), or -1 when
 * cap < lg_b64url_encoded_len(n) + 1. */
int lg_b64url_encode(const unsigned char *in, size_t n,
                     char *out, size_t cap, size_t *outlen);

/* Bytes that n characters decode to, or (size_t)-1 when no valid encoding
 * has n characters (n % 4 == 1). */
size_t lg_b64url_decoded_len(size_t n);

/* Decodes in[0..n) strictly into out (cap bytes). Returns 0 and sets
 * *outlen, or -1 on any invalid input or when cap is too small. out is
 * unspecified on failure. */
int lg_b64url_decode(const char *in, size_t n,
                     unsigned char *out, size_t cap, size_t *outlen);

#endif
