/* supervisor/api_json.h - the text of a member of a JSON request body, exactly
 * as the client wrote it.
 *
 * POST /v1/publish forwards `data` as written rather than parsed and
 * re-serialized: a parser would turn 12345678901234567890 into an error or
 * a rounded double, 0.1 into 0.10000000000000001 and -0 into 0. The body is
 * validated first (jansson); these functions only locate and compact text
 * already known to be valid JSON.
 */
#ifndef LG_SUPERVISOR_API_JSON_H
#define LG_SUPERVISOR_API_JSON_H

#include <stddef.h>

/* Finds member `name` of the JSON object text[0..len), which must be valid
 * JSON without duplicate names (jansson's JSON_REJECT_DUPLICATES), and sets
 * *v, *vlen to its value's text (first to last byte, nothing around it).
 * Names written with escapes ("\u0064ata") match. Returns 1 when found, 0
 * when absent, -1 when out of memory. */
int lg_json_member(const char *text, size_t len, const char *name,
                   const char **v, size_t *vlen);

/* Copies the valid JSON text in[0..n) to out without the whitespace
 * between tokens: every string, number and literal byte for byte as
 * written, member order kept. out holds n bytes. Returns the bytes
 * written. */
size_t lg_json_compact(char *out, const char *in, size_t n);

#endif
