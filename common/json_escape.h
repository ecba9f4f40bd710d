/* common/json_escape.h - text into a JSON string, for frames and log lines. */
#ifndef LG_COMMON_JSON_ESCAPE_H
#define LG_COMMON_JSON_ESCAPE_H

#include <stddef.h>

/* Appends s[0..n) to out as the body of a JSON string (no quotes): escapes
 * '"', '\\' and controls, replaces invalid UTF-8 with \ufffd. out must hold
 * 6 * n bytes. Returns the bytes written. */
size_t lg_json_escape(char *out, const char *s, size_t n);

#endif
