/* auth/token.c - verifying and signing livegate tokens (compact JWS, HS256).
 * See token.h for the rules; claims.c checks the claims themselves.
 */
#include "token.h"
#include "auth_err.h"
#include "b64url.h"
#include "claims.h"
#include "hs256.h"
#include "keyring_int.h"

#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/crypto.h>

static const char *const status_names[LG_TOKEN_STATUS_COUNT] = {
	[LG_TOKEN_OK]             = "ok",
	[LG_TOKEN_MALFORMED]      = "malformed",
	[LG_TOKEN_BAD_ALG]        = "bad_alg",
	[LG_TOKEN_UNKNOWN_KID]    = "unknown_kid",
	[LG_TOKEN_BAD_SIGNATURE]  = "bad_signature",
	[LG_TOKEN_BAD_CLAIMS]     = "bad_claims",
	[LG_TOKEN_EXPIRED]        = "expired",
	[LG_TOKEN_NOT_YET_VALID]  = "not_yet_valid",
	[LG_TOKEN_EXP_TOO_FAR]    = "exp_too_far",
};

const char *lg_token_status_name(enum lg_token_status st)
{
	if ((unsigned)st >= LG_TOKEN_STATUS_COUNT)
		return "unknown";
	return status_names[st];
}

/* --- verifying ----------------------------------------------------------- */

/* Decodes one base64url part into buf and parses it as a JSON object.
 * Returns the object or NULL. */
static json_t *decode_object(const char *s, size_t n, unsigned char *buf, size_t cap)
{
	json_error_t jerr;
	size_t dlen;
	json_t *j;

	if (n == 0 || lg_b64url_decode(s, n, buf, cap, &dlen) != 0)
		return NULL;
	/* Duplicate names are refused: two "exp" or two "alg" could be read
	 * differently by another JWT library than by us. */
	j = json_loadb((const char *)buf, dlen, JSON_REJECT_DUPLICATES, &jerr);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* "typ" is a media type, compared case-insensitively (RFC 7515 4.1.9). */
static int typ_is_jwt(const json_t *typ)
{
	const char *s = json_string_value(typ);
	const char *want = "JWT";
	size_t i;

	if (!s || json_string_length(typ) != 3)
		return 0;
	for (i = 0; i < 3; i++) {
		char c = s[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != want[i])
			return 0;
	}
	return 1;
}

/* Checks the header; on success *kid is its "kid" (NULL when absent). */
static enum lg_token_status check_header(const json_t *h, const json_t **kid)
{
	const json_t *typ = json_object_get(h, "typ");
	const json_t *alg = json_object_get(h, "alg");

	*kid = json_object_get(h, "kid");
	if (typ && !typ_is_jwt(typ))
		return LG_TOKEN_MALFORMED;
	if (*kid && !json_is_string(*kid))
		return LG_TOKEN_MALFORMED;
	/* We implement no extension, so any "crit" list names one we do not
	 * understand (RFC 7515 4.1.11): refuse. */
	if (json_object_get(h, "crit"))
		return LG_TOKEN_MALFORMED;
	if (!json_is_string(alg) || json_string_length(alg) != 5 ||
	    memcmp(json_string_value(alg), "HS256", 5) != 0)
		return LG_TOKEN_BAD_ALG;
	return LG_TOKEN_OK;
}

/* Returns 1 when sig verifies under `only`, or under any key of kr when
 * only is NULL. Every key is tried even after a match, so the time taken
 * does not depend on which key signed. */
static int signature_ok(const struct lg_keyring *kr, const struct lg_key *only,
                        const char *input, size_t input_len,
                        const unsigned char *sig, size_t sig_len)
{
	const unsigned char *msg = (const unsigned char *)input;
	const struct lg_key *k;
	size_t i;
	int ok = 0;

	if (only)
		return lg_hs256_check(only->key, only->key_len, msg, input_len, sig, sig_len);
	for (i = 0; (k = lg_keyring_key_at(kr, i)) != NULL; i++)
		ok |= lg_hs256_check(k->key, k->key_len, msg, input_len, sig, sig_len);
	return ok;
}

enum lg_token_status lg_token_verify(const struct lg_keyring *kr,
                                     const char *token, size_t len,
                                     int64_t now, int64_t max_lifetime,
                                     struct lg_token_claims *out)
{
	enum lg_token_status st = LG_TOKEN_MALFORMED;
	const char *dot1, *dot2, *end;
	json_t *header = NULL, *claims = NULL;
	const json_t *kid;
	const struct lg_key *key = NULL;
	unsigned char *buf = NULL;
	size_t sig_len;

	if (out)
		memset(out, 0, sizeof *out);
	/* Length first: nothing of an oversized token is decoded. */
	if (!token || len == 0 || len > LG_TOKEN_MAX_LEN)
		return LG_TOKEN_MALFORMED;
	end = token + len;
	dot1 = memchr(token, '.', len);
	if (!dot1)
		return LG_TOKEN_MALFORMED;
	dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1));
	if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
		return LG_TOKEN_MALFORMED;

	/* One buffer for the three decoded parts in turn: each decodes to
	 * fewer bytes than the whole token has. */
	buf = malloc(len);
	if (!buf)
		return LG_TOKEN_MALFORMED;
	header = decode_object(token, (size_t)(dot1 - token), buf, len);
	if (!header)
		goto done;
	claims = decode_object(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf, len);
	if (!claims)
		goto done;
	/* An empty signature is well-formed base64url; it fails below. This
	 * keeps "alg":"none" tokens (which end in '.') reported as bad_alg. */
	if (lg_b64url_decode(dot2 + 1, (size_t)(end - dot2 - 1), buf, len, &sig_len) != 0)
		goto done;

	st = check_header(header, &kid);
	if (st != LG_TOKEN_OK)
		goto done;
	if (kid) {
		key = lg_keyring_find(kr, json_string_value(kid), json_string_length(kid));
		if (!key) {
			st = LG_TOKEN_UNKNOWN_KID;
			goto done;
		}
	}
	if (!signature_ok(kr, key, token, (size_t)(dot2 - token), buf, sig_len)) {
		st = LG_TOKEN_BAD_SIGNATURE;
		goto done;
	}
	st = lg_claims_check(claims, now, max_lifetime, out);
done:
	json_decref(header);
	json_decref(claims);
	free(buf);
	return st;
}

/* --- signing ------------------------------------------------------------- */

/* Length of s if it is at most max bytes, else max + 1; reads at most
 * max + 1 bytes. */
static size_t bounded_len(const char *s, size_t max)
{
	const char *nul = memchr(s, '\0', max + 1);

	return nul ? (size_t)(nul - s) : max + 1;
}

static int check_sign_args(const struct lg_keyring *kr,
                           const char *const *channels, size_t n_channels,
                           const char *sub, int64_t iat_ms, int64_t exp,
                           char *err, size_t errlen)
{
	size_t i;

	if (lg_keyring_count(kr) == 0) {
		lg_auth_seterr(err, errlen, "key ring is empty");
		return -1;
	}
	if (!channels || n_channels == 0 || n_channels > LG_TOKEN_MAX_CHANNELS) {
		lg_auth_seterr(err, errlen, "need 1 to %d channels", LG_TOKEN_MAX_CHANNELS);
		return -1;
	}
	for (i = 0; i < n_channels; i++) {
		if (!channels[i] ||
		    !lg_channel_name_valid(channels[i], bounded_len(channels[i], LG_CHANNEL_MAX_LEN))) {
			lg_auth_seterr(err, errlen, "channel %zu is not a valid name "
			               "(1 to %d bytes of printable ASCII, no spaces)",
			               i + 1, LG_CHANNEL_MAX_LEN);
			return -1;
		}
	}
	if (sub && bounded_len(sub, LG_SUB_MAX_LEN) > LG_SUB_MAX_LEN) {
		lg_auth_seterr(err, errlen, "sub is longer than %d bytes", LG_SUB_MAX_LEN);
		return -1;
	}
	if (iat_ms < 0 || iat_ms / 1000 > LG_CLAIM_TIME_MAX || exp < 0 || exp > LG_CLAIM_TIME_MAX) {
		lg_auth_seterr(err, errlen, "iat/exp out of range");
		return -1;
	}
	return 0;
}

int lg_token_given_iat(double s, int64_t now_ms, int64_t *ms)
{
	double v = s * 1000.0;

	/* Written so that NaN fails every comparison. */
	if (!(v >= (double)(now_ms - LG_GIVEN_IAT_BEHIND_MS)) ||
	    !(v <= (double)(now_ms + LG_GIVEN_IAT_AHEAD_MS)))
		return -1;
	*ms = (int64_t)(v + 0.5);
	return 0;
}

/* The claims without iat, which jansson cannot write with an exact
 * fraction (a double prints as 1764871234.5669999); claims_text adds it. */
static json_t *build_claims(const char *const *channels, size_t n_channels,
                            const char *sub, int64_t exp,
                            char *err, size_t errlen)
{
	json_t *arr = json_array(), *claims = NULL, *s;
	size_t i;

	if (!arr)
		goto oom;
	for (i = 0; i < n_channels; i++)
		if (json_array_append_new(arr, json_string(channels[i])) != 0)
			goto oom;
	claims = json_pack("{s:O,s:I}", "channels", arr, "exp", (json_int_t)exp);
	if (!claims)
		goto oom;
	if (sub) {
		s = json_string(sub);
		if (!s) {
			lg_auth_seterr(err, errlen, "sub is not valid UTF-8");
			goto fail;
		}
		if (json_object_set_new(claims, "sub", s) != 0)
			goto oom;
	}
	json_decref(arr);
	return claims;
oom:
	lg_auth_seterr(err, errlen, "out of memory");
fail:
	json_decref(arr);
	json_decref(claims);
	return NULL;
}

/* Returns the compact claims text: claims (not empty) with
 * "iat":<seconds>.<milliseconds> added last, malloc'd; NULL when out of
 * memory. */
static char *claims_text(const json_t *claims, int64_t iat_ms)
{
	char *base = json_dumps(claims, JSON_COMPACT), *text;
	char iat[48];
	size_t bl, il;

	if (!base)
		return NULL;
	il = (size_t)snprintf(iat, sizeof iat, ",\"iat\":%lld.%03lld}", (long long)(iat_ms / 1000),
	                      (long long)(iat_ms % 1000));
	bl = strlen(base);
	text = malloc(bl - 1 + il + 1);   /* base without its closing '}' */
	if (text) {
		memcpy(text, base, bl - 1);
		memcpy(text + bl - 1, iat, il + 1);
	}
	free(base);
	return text;
}

int lg_token_sign(const struct lg_keyring *kr,
                  const char *const *channels, size_t n_channels,
                  const char *sub, int64_t iat_ms, int64_t exp,
                  char **out, char *err, size_t errlen)
{
	const struct lg_key *key;
	json_t *header = NULL, *claims = NULL;
	char *hjson = NULL, *cjson = NULL, *tok = NULL;
	unsigned char mac[LG_HS256_LEN];
	size_t hlen, clen, total, pos, n;
	int rc = -1;

	if (!out) {
		lg_auth_seterr(err, errlen, "invalid arguments");
		return -1;
	}
	*out = NULL;
	if (check_sign_args(kr, channels, n_channels, sub, iat_ms, exp, err, errlen) != 0)
		return -1;
	key = lg_keyring_key_at(kr, 0);

	if (key->has_kid)
		header = json_pack("{s:s,s:s,s:s}", "alg", "HS256", "typ", "JWT", "kid", key->kid);
	else
		header = json_pack("{s:s,s:s}", "alg", "HS256", "typ", "JWT");
	if (!header) {
		lg_auth_seterr(err, errlen, "out of memory");
		goto done;
	}
	claims = build_claims(channels, n_channels, sub, exp, err, errlen);
	if (!claims)
		goto done;
	hjson = json_dumps(header, JSON_COMPACT);
	cjson = claims_text(claims, iat_ms);
	if (!hjson || !cjson) {
		lg_auth_seterr(err, errlen, "out of memory");
		goto done;
	}
	hlen = strlen(hjson);
	clen = strlen(cjson);
	total = lg_b64url_encoded_len(hlen) + 1 + lg_b64url_encoded_len(clen) + 1 +
	        lg_b64url_encoded_len(LG_HS256_LEN);
	/* Never mint a token that lg_token_verify would refuse. */
	if (total > LG_TOKEN_MAX_LEN) {
		lg_auth_seterr(err, errlen, "the token would be %zu bytes, over the %d that fit in "
		               "one 16 KiB WebSocket message: name fewer or shorter channels",
		               total, LG_TOKEN_MAX_LEN);
		goto done;
	}
	tok = malloc(total + 1);
	if (!tok) {
		lg_auth_seterr(err, errlen, "out of memory");
		goto done;
	}
	/* The capacities below follow from `total`; the calls cannot fail. */
	lg_b64url_encode((const unsigned char *)hjson, hlen, tok, total + 1, &n);
	pos = n;
	tok[pos++] = '.';
	lg_b64url_encode((const unsigned char *)cjson, clen, tok + pos, total + 1 - pos, &n);
	pos += n;
	if (lg_hs256(key->key, key->key_len, (const unsigned char *)tok, pos, mac) != 0) {
		lg_auth_seterr(err, errlen, "HMAC computation failed");
		goto done;
	}
	tok[pos++] = '.';
	lg_b64url_encode(mac, sizeof mac, tok + pos, total + 1 - pos, &n);
	*out = tok;
	tok = NULL;
	rc = 0;
done:
	OPENSSL_cleanse(mac, sizeof mac);
	free(tok);
	free(hjson);
	free(cjson);
	json_decref(header);
	json_decref(claims);
	return rc;
}
