/* auth/keyring.c - the HMAC key ring and the parsers of LIVEGATE_SECRETS and
 * LIVEGATE_SECRETS_FILE text.
 *
 * Error texts name positions (entry/line numbers) and reasons only: never a
 * key, and never a kid either, because a malformed entry's "kid" may well be
 * a key pasted without its "kid:" prefix.
 */
#include "token.h"
#include "keyring_int.h"
#include "auth_err.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#define LG_STR_(x) #x
#define LG_STR(x)  LG_STR_(x)

struct lg_keyring {
	struct lg_key keys[LG_KEYRING_MAX_KEYS];
	size_t        n;
};

struct lg_keyring *lg_keyring_new(void)
{
	return calloc(1, sizeof(struct lg_keyring));
}

static void key_wipe(struct lg_key *k)
{
	if (k->key) {
		OPENSSL_cleanse(k->key, k->key_len);
		free(k->key);
	}
	OPENSSL_cleanse(k, sizeof *k);
}

/* Drops the keys past the first n: undoes a parse that failed midway so a
 * parser either adds every key of its input or none. */
static void keyring_truncate(struct lg_keyring *kr, size_t n)
{
	while (kr->n > n)
		key_wipe(&kr->keys[--kr->n]);
}

void lg_keyring_free(struct lg_keyring *kr)
{
	if (!kr)
		return;
	keyring_truncate(kr, 0);
	free(kr);
}

size_t lg_keyring_count(const struct lg_keyring *kr)
{
	return kr ? kr->n : 0;
}

const struct lg_key *lg_keyring_key_at(const struct lg_keyring *kr, size_t i)
{
	return kr && i < kr->n ? &kr->keys[i] : NULL;
}

const struct lg_key *lg_keyring_find(const struct lg_keyring *kr,
                                     const char *kid, size_t kid_len)
{
	size_t i;

	if (!kr || !kid)
		return NULL;
	/* Key ids are public: a plain compare is fine. */
	for (i = 0; i < kr->n; i++) {
		const struct lg_key *k = &kr->keys[i];

		if (k->has_kid && k->kid_len == kid_len && memcmp(k->kid, kid, kid_len) == 0)
			return k;
	}
	return NULL;
}

/* Checks a key id of kid_len bytes; returns NULL or the reason. */
static const char *kid_problem(const char *kid, size_t kid_len)
{
	size_t i;

	if (kid_len == 0)
		return "key id is empty";
	if (kid_len > LG_KID_MAX_LEN)
		return "key id is longer than " LG_STR(LG_KID_MAX_LEN) " bytes";
	for (i = 0; i < kid_len; i++) {
		unsigned char c = (unsigned char)kid[i];

		if (c < 0x21 || c > 0x7e)
			return "key id has a space or a byte that is not printable ASCII";
	}
	return NULL;
}

/* lg_keyring_add with the kid given by pointer and length. */
static int keyring_add_n(struct lg_keyring *kr, const char *kid, size_t kid_len,
                         const unsigned char *key, size_t key_len,
                         char *err, size_t errlen)
{
	struct lg_key *k;
	const char *why;

	if (!kr || (!key && key_len)) {
		lg_auth_seterr(err, errlen, "invalid arguments");
		return -1;
	}
	if (key_len < LG_KEY_MIN_LEN) {
		lg_auth_seterr(err, errlen, "key is shorter than %d bytes", LG_KEY_MIN_LEN);
		return -1;
	}
	if (key_len > LG_KEY_MAX_LEN) {
		lg_auth_seterr(err, errlen, "key is longer than %d bytes", LG_KEY_MAX_LEN);
		return -1;
	}
	if (kid) {
		why = kid_problem(kid, kid_len);
		if (why) {
			lg_auth_seterr(err, errlen, "%s", why);
			return -1;
		}
		if (lg_keyring_find(kr, kid, kid_len)) {
			lg_auth_seterr(err, errlen, "duplicate key id");
			return -1;
		}
	}
	if (kr->n >= LG_KEYRING_MAX_KEYS) {
		lg_auth_seterr(err, errlen, "too many keys (at most %d)", LG_KEYRING_MAX_KEYS);
		return -1;
	}
	k = &kr->keys[kr->n];
	memset(k, 0, sizeof *k);
	k->key = malloc(key_len);
	if (!k->key) {
		lg_auth_seterr(err, errlen, "out of memory");
		return -1;
	}
	memcpy(k->key, key, key_len);
	k->key_len = key_len;
	if (kid) {
		k->has_kid = 1;
		k->kid_len = kid_len;
		memcpy(k->kid, kid, kid_len);
		k->kid[kid_len] = '\0';
	}
	kr->n++;
	return 0;
}

int lg_keyring_add(struct lg_keyring *kr, const char *kid,
                   const unsigned char *key, size_t key_len,
                   char *err, size_t errlen)
{
	size_t kid_len = 0;

	if (kid) {
		/* Bounded: anything past LG_KID_MAX_LEN is refused anyway. */
		const char *nul = memchr(kid, '\0', LG_KID_MAX_LEN + 1);

		kid_len = nul ? (size_t)(nul - kid) : LG_KID_MAX_LEN + 1;
	}
	return keyring_add_n(kr, kid, kid_len, key, key_len, err, errlen);
}

/* Adds one "kid:key" entry s[0..len); `what` and `pos` name it in errors
 * ("entry 2", "line 7"). */
static int add_entry(struct lg_keyring *kr, const char *s, size_t len,
                     const char *what, size_t pos, char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', len);
	char why[128];

	if (!colon) {
		lg_auth_seterr(err, errlen, "%s %zu: expected kid:key (no ':' found)", what, pos);
		return -1;
	}
	if (keyring_add_n(kr, s, (size_t)(colon - s),
	                  (const unsigned char *)colon + 1, len - (size_t)(colon - s) - 1,
	                  why, sizeof why) != 0) {
		lg_auth_seterr(err, errlen, "%s %zu: %s", what, pos, why);
		return -1;
	}
	return 0;
}

int lg_keyring_parse_list(struct lg_keyring *kr, const char *spec,
                          char *err, size_t errlen)
{
	size_t start_n, pos = 0;
	const char *p;

	if (!kr || !spec) {
		lg_auth_seterr(err, errlen, "invalid arguments");
		return -1;
	}
	if (*spec == '\0') {
		lg_auth_seterr(err, errlen, "no keys given (expected kid1:key1,kid2:key2)");
		return -1;
	}
	start_n = kr->n;
	p = spec;
	/* Each pass consumes one entry; the ring's capacity bounds how many
	 * can succeed, so the loop ends on the string's end or an error. */
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		pos++;
		if (len == 0) {
			lg_auth_seterr(err, errlen, "entry %zu: empty (stray ',')", pos);
			goto fail;
		}
		if (add_entry(kr, p, len, "entry", pos, err, errlen) != 0)
			goto fail;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
fail:
	keyring_truncate(kr, start_n);
	return -1;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

int lg_keyring_parse_file_text(struct lg_keyring *kr, const char *text,
                               size_t len, char *err, size_t errlen)
{
	size_t start_n, off = 0, line = 0, added = 0;

	if (!kr || (!text && len)) {
		lg_auth_seterr(err, errlen, "invalid arguments");
		return -1;
	}
	start_n = kr->n;
	while (off < len) {
		const char *s = text + off;
		const char *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;

		off += n + (nl ? 1 : 0);
		line++;
		if (n && s[n - 1] == '\r')
			n--;
		while (n && is_space(*s)) {
			s++;
			n--;
		}
		while (n && is_space(s[n - 1]))
			n--;
		if (n == 0 || s[0] == '#')
			continue;
		if (memchr(s, '\0', n)) {
			lg_auth_seterr(err, errlen, "line %zu: contains a NUL byte", line);
			goto fail;
		}
		if (add_entry(kr, s, n, "line", line, err, errlen) != 0)
			goto fail;
		added++;
	}
	if (added == 0) {
		lg_auth_seterr(err, errlen, "no keys found (expected kid:key lines)");
		goto fail;
	}
	return 0;
fail:
	keyring_truncate(kr, start_n);
	return -1;
}
