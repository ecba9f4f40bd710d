/* auth/auth_err.h - (internal) filling the caller's error buffer. */
#ifndef LG_AUTH_ERR_H
#define LG_AUTH_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Writes a printf-style message into err[0..errlen), truncating; a NULL
 * err or zero errlen is allowed and ignored. Callers never pass key bytes
 * (or text that could be a mistyped key) as arguments. */
__attribute__((format(printf, 3, 4)))
static inline void lg_auth_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif
