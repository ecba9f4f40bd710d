/* auth/claims.c - checking and copying the claims of a token. */
#include "claims.h"

#include <stdlib.h>
#include <string.h>

int lg_channel_name_valid(const char *name, size_t len)
{
	size_t i;

	if (!name || len == 0 || len > LG_CHANNEL_MAX_LEN)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x21 || c > 0x7e)
			return 0;
	}
	return 1;
}

void lg_token_claims_free(struct lg_token_claims *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_channels; i++)
		free(c->channels[i]);
	free(c->channels);
	free(c->sub);
	memset(c, 0, sizeof *c);
}

/* Reads a NumericDate claim (RFC 7519 section 2): an integer, or a real
 * rounded down, into *v; when ms is non-NULL also the value in
 * milliseconds, rounded to the nearest (1764871234.567 is the double
 * 1764871234.5669999..., which must give ...567). Returns 0, or -1 for
 * another type or a value outside 0..LG_CLAIM_TIME_MAX. */
static int numeric_date(const json_t *j, int64_t *v, int64_t *ms)
{
	if (json_is_integer(j)) {
		json_int_t i = json_integer_value(j);

		if (i < 0 || i > LG_CLAIM_TIME_MAX)
			return -1;
		*v = (int64_t)i;
		if (ms)
			*ms = (int64_t)i * 1000;
		return 0;
	}
	if (json_is_real(j)) {
		double d = json_real_value(j);

		/* The comparison is false for NaN too. With d >= 0, truncation
		 * is the floor. 2^53 * 1000 + 0.5 still fits an int64_t. */
		if (!(d >= 0.0 && d <= (double)LG_CLAIM_TIME_MAX))
			return -1;
		*v = (int64_t)d;
		if (ms)
			*ms = (int64_t)(d * 1000.0 + 0.5);
		return 0;
	}
	return -1;
}

/* Reads an optional NumericDate claim: absent leaves *v (and *ms) at 0. */
static int optional_date(const json_t *claims, const char *name, int64_t *v, int64_t *ms)
{
	const json_t *j = json_object_get(claims, name);

	*v = 0;
	if (ms)
		*ms = 0;
	return j ? numeric_date(j, v, ms) : 0;
}

static int seen_before(char *const *list, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return 1;
	return 0;
}

static char *dup_n(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* Validates the "channels" claim and copies it (deduplicated, order kept)
 * into c. Returns 0 or -1 (c may then own a partial copy). The size limit applies to the
 * array as sent, so the work done for a token is bounded before copying. */
static int channels_claim(const json_t *arr, struct lg_token_claims *c)
{
	size_t n, i;

	if (!json_is_array(arr))
		return -1;
	n = json_array_size(arr);
	if (n == 0 || n > LG_TOKEN_MAX_CHANNELS)
		return -1;
	for (i = 0; i < n; i++) {
		const json_t *s = json_array_get(arr, i);

		if (!json_is_string(s) ||
		    !lg_channel_name_valid(json_string_value(s), json_string_length(s)))
			return -1;
	}
	c->channels = calloc(n, sizeof *c->channels);
	if (!c->channels)
		return -1;
	for (i = 0; i < n; i++) {
		const json_t *s = json_array_get(arr, i);
		const char *v = json_string_value(s);
		size_t len = json_string_length(s);

		if (seen_before(c->channels, c->n_channels, v, len))
			continue;
		c->channels[c->n_channels] = dup_n(v, len);
		if (!c->channels[c->n_channels])
			return -1;
		c->n_channels++;
	}
	return 0;
}

enum lg_token_status lg_claims_check(const json_t *claims, int64_t now,
                                     int64_t max_lifetime,
                                     struct lg_token_claims *out)
{
	struct lg_token_claims c;
	const json_t *exp, *sub;
	const char *which = "payload";

	memset(&c, 0, sizeof c);
	if (out)
		memset(out, 0, sizeof *out);
	if (!json_is_object(claims))
		goto bad;

	exp = json_object_get(claims, "exp");
	which = "exp";
	if (!exp || numeric_date(exp, &c.exp, NULL) != 0)
		goto bad;
	which = "nbf";
	if (optional_date(claims, "nbf", &c.nbf, NULL) != 0)
		goto bad;
	which = "iat";
	if (optional_date(claims, "iat", &c.iat, &c.iat_ms) != 0)
		goto bad;
	which = "sub";
	sub = json_object_get(claims, "sub");
	if (sub && (!json_is_string(sub) || json_string_length(sub) > LG_SUB_MAX_LEN))
		goto bad;
	/* Channels last: only they allocate. */
	which = "channels";
	if (channels_claim(json_object_get(claims, "channels"), &c) != 0)
		goto bad;
	if (sub) {
		which = "sub";
		c.sub = dup_n(json_string_value(sub), json_string_length(sub));
		if (!c.sub)
			goto bad;
	}

	if (c.exp <= now) {
		lg_token_claims_free(&c);
		return LG_TOKEN_EXPIRED;
	}
	/* exp - now cannot overflow: exp <= 2^53 and now < exp here. */
	if (max_lifetime > 0 && c.exp - now > max_lifetime) {
		lg_token_claims_free(&c);
		return LG_TOKEN_EXP_TOO_FAR;
	}
	if (c.nbf > now) {
		lg_token_claims_free(&c);
		return LG_TOKEN_NOT_YET_VALID;
	}
	if (out)
		*out = c;
	else
		lg_token_claims_free(&c);
	return LG_TOKEN_OK;
bad:
	lg_token_claims_free(&c);
	if (out)
		out->bad_claim = which;
	return LG_TOKEN_BAD_CLAIMS;
}
