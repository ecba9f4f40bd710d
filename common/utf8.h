/* common/utf8.h - UTF-8 as RFC 3629 defines it (no overlongs, no surrogates,
 * nothing past U+10FFFF): what a WebSocket text frame and a close reason
 * must be (RFC 6455 8.1), and what the JSON escaper passes through. */
#ifndef LG_COMMON_UTF8_H
#define LG_COMMON_UTF8_H

#include <stddef.h>

/* Returns the length of the valid UTF-8 sequence starting s[0..n), or 0. */
size_t lg_utf8_seq(const unsigned char *s, size_t n);

/* Returns 1 if s[0..n) is valid UTF-8. */
int lg_utf8_valid(const unsigned char *s, size_t n);

#endif
