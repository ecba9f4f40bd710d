/* supervisor/api_json.c - locating and compacting text of a validated JSON
 * body (see api_json.h). Every input has passed jansson, so the scanners
 * only tell strings from the rest; they never judge validity. */
#include "api_json.h"

#include <jansson.h>
#include <string.h>

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && is_ws(t[i]))
		i++;
	return i;
}

/* Returns the index just past the string starting at t[i] == '"'. */
static size_t skip_string(const char *t, size_t len, size_t i)
{
	for (i++; i < len && t[i] != '"'; i++)
		if (t[i] == '\\')
			i++;
	return i + 1;
}

/* Returns the index just past the value starting at t[i]. Nesting is
 * counted, not recursed into: the depth is whatever jansson accepted. */
static size_t skip_value(const char *t, size_t len, size_t i)
{
	size_t depth = 0;

	if (t[i] == '"')
		return skip_string(t, len, i);
	if (t[i] != '{' && t[i] != '[') {
		/* A number or literal: up to the next delimiter. */
		while (i < len && !is_ws(t[i]) && t[i] != ',' && t[i] != '}' && t[i] != ']')
			i++;
		return i;
	}
	while (i < len) {
		char c = t[i];
		if (c == '"') {
			i = skip_string(t, len, i);
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return i;
}

/* Returns 1 if the quoted JSON string t[0..n) (quotes included) decodes to
 * name, 0 if not, -1 when out of memory. */
static int key_is(const char *t, size_t n, const char *name)
{
	size_t nl = strlen(name);
	json_t *k;
	int same;

	if (!memchr(t, '\\', n))
		return n == nl + 2 && memcmp(t + 1, name, nl) == 0;
	k = json_loadb(t, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (!k)
		return -1;   /* valid text, so only memory can fail */
	same = json_string_length(k) == nl && memcmp(json_string_value(k), name, nl) == 0;
	json_decref(k);
	return same;
}

int lg_json_member(const char *text, size_t len, const char *name,
                   const char **v, size_t *vlen)
{
	size_t i = skip_ws(text, len, 0);

	if (i >= len || text[i] != '{')
		return 0;
	i = skip_ws(text, len, i + 1);
	while (i < len && text[i] == '"') {
		size_t k0 = i, k1 = skip_string(text, len, i), v0, v1;
		int match;

		i = skip_ws(text, len, k1);
		v0 = skip_ws(text, len, i + 1);   /* past the ':' */
		v1 = skip_value(text, len, v0);
		match = key_is(text + k0, k1 - k0, name);
		if (match < 0)
			return -1;
		if (match) {
			*v = text + v0;
			*vlen = v1 - v0;
			return 1;
		}
		i = skip_ws(text, len, v1);
		if (i < len && text[i] == ',')
			i = skip_ws(text, len, i + 1);
	}
	return 0;
}

size_t lg_json_compact(char *out, const char *in, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		if (in[i] == '"') {
			size_t end = skip_string(in, n, i);
			memcpy(out + o, in + i, end - i);
			o += end - i;
			i = end;
		} else if (is_ws(in[i])) {
			i++;
		} else {
			out[o++] = in[i++];
		}
	}
	return o;
}
