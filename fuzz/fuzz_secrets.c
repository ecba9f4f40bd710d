/* fuzz/fuzz_secrets.c - libFuzzer target for the secrets file
 * (LIVEGATE_SECRETS_FILE): lg_keyring_parse_file_text, and on odd first
 * bytes the LIVEGATE_SECRETS list (lg_keyring_parse_list) with the rest.
 *
 * Parsing goes into a ring that already holds one key, so "all or
 * nothing" is observable. Invariants besides the sanitizers:
 *  - success adds exactly one key per line that is neither blank nor a
 *    comment, in order, each with the kid before the first ':' and the
 *    bytes after it (the line trimmed of "\r", spaces and tabs);
 *  - failure adds nothing, and its message is one of the fixed texts
 *    (naming the line by number): no byte of the input reaches it, so no
 *    key can leak into a log.
 */
#include <string.h>

#include "fuzz.h"
#include "keyring_int.h"
#include "token.h"

static const char pre_key[] = "fuzz-secrets-existing-key-0123456789";

/* The texts a refusal may carry after "line N: " or "entry N: ". */
static const char *const reasons[] = {
	"expected kid:key (no ':' found)", "key is shorter than 32 bytes",
	"key is longer than 1024 bytes", "key id is empty", "key id is longer than 64 bytes",
	"key id has a space or a byte that is not printable ASCII", "duplicate key id",
	"too many keys (at most 16)", "contains a NUL byte", "empty (stray ',')", "out of memory",
};

static int known_error(const char *err)
{
	const char *p = err;

	if (strcmp(err, "no keys found (expected kid:key lines)") == 0 ||
	    strcmp(err, "no keys given (expected kid1:key1,kid2:key2)") == 0)
		return 1;
	if (strncmp(p, "line ", 5) == 0)
		p += 5;
	else if (strncmp(p, "entry ", 6) == 0)
		p += 6;
	else
		return 0;
	if (*p < '1' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, ": ", 2) != 0)
		return 0;
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcmp(p + 2, reasons[i]) == 0)
			return 1;
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Checks that ring key 1.. are the file's "kid:key" lines, in order. */
static void check_file_keys(const struct lg_keyring *kr, const char *t, size_t len)
{
	size_t k = 1, off = 0;

	while (off < len) {
		const char *s = t + off, *nl = memchr(s, '\n', len - off), *colon;
		size_t n = nl ? (size_t)(nl - s) : len - off;
		const struct lg_key *key;

		off += n + (nl != NULL);
		if (n && s[n - 1] == '\r')
			n--;
		while (n && is_space(*s)) {
			s++;
			n--;
		}
		while (n && is_space(s[n - 1]))
			n--;
		if (!n || *s == '#')
			continue;
		key = lg_keyring_key_at(kr, k++);
		colon = memchr(s, ':', n);
		CHECK(key && colon && key->has_kid);
		CHECK(key->kid_len == (size_t)(colon - s) && memcmp(key->kid, s, key->kid_len) == 0);
		CHECK(key->key_len == n - key->kid_len - 1 && memcmp(key->key, colon + 1, key->key_len) == 0);
	}
	CHECK(k == lg_keyring_count(kr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lg_keyring *kr = lg_keyring_new();
	const char *text = (const char *)data + 1;
	char err[160], *spec;
	int rc;

	CHECK(kr && lg_keyring_add(kr, "pre", (const unsigned char *)pre_key, strlen(pre_key),
	                           NULL, 0) == 0);
	if (size < 1)
		goto out;
	err[0] = '\0';
	if (data[0] & 1) {
		spec = malloc(size);
		CHECK(spec);
		memcpy(spec, text, size - 1);
		spec[size - 1] = '\0';
		rc = lg_keyring_parse_list(kr, spec, err, sizeof err);
		free(spec);
	} else {
		rc = lg_keyring_parse_file_text(kr, text, size - 1, err, sizeof err);
		if (rc == 0)
			check_file_keys(kr, text, size - 1);
	}
	if (rc == 0) {
		CHECK(lg_keyring_count(kr) >= 2 && lg_keyring_count(kr) <= LG_KEYRING_MAX_KEYS);
	} else {
		CHECK(rc == -1 && lg_keyring_count(kr) == 1);
		if (!known_error(err)) {
			fprintf(stderr, "unexpected error text: %s\n", err);
			CHECK(0);
		}
	}
out:
	lg_keyring_free(kr);
	return 0;
}
