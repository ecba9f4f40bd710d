/* common/utf8.c - UTF-8 validation (see utf8.h). */
#include "utf8.h"

size_t lg_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c;
	size_t len;
	unsigned cp;

	if (n == 0)
		return 0;   /* s[0] may lie past the caller's buffer */
	c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

int lg_utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l;

		if (s[i] < 0x80) {   /* the common case: ASCII, no call */
			i++;
			continue;
		}
		l = lg_utf8_seq(s + i, n - i);
		if (!l)
			return 0;
		i += l;
	}
	return 1;
}
