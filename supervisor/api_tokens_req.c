/* supervisor/api_tokens_req.c - POST /v1/tokens' body checked (see
 * api_tokens_req.h). */
#include "api_tokens_req.h"

#include <stdio.h>

static const char *channels(const json_t *chs, struct lg_tokens_req *r, char *msg, size_t n)
{
	r->n = json_array_size(chs);
	if (!json_is_array(chs) || r->n == 0 || r->n > LG_TOKEN_MAX_CHANNELS) {
		snprintf(msg, n, "channels must be an array of 1 to %d channel names",
		         LG_TOKEN_MAX_CHANNELS);
		return "invalid_channels";
	}
	for (size_t i = 0; i < r->n; i++) {
		json_t *c = json_array_get(chs, i);
		if (!json_is_string(c) || !lg_channel_name_valid(json_string_value(c), json_string_length(c))) {
			snprintf(msg, n, "channels[%zu] must be 1 to %d bytes of printable ASCII "
			         "without spaces", i, LG_CHANNEL_MAX_LEN);
			return "invalid_channels";
		}
		r->names[i] = json_string_value(c);
	}
	return NULL;
}

const char *lg_tokens_req_read(const json_t *body, int64_t ttl_default, unsigned ttl_max,
                               int64_t now_ms, struct lg_tokens_req *r, char *msg, size_t n)
{
	const json_t *ttl = json_object_get(body, "ttl"), *sub = json_object_get(body, "sub");
	const json_t *iat = json_object_get(body, "iat");
	const char *code = channels(json_object_get(body, "channels"), r, msg, n);

	if (code)
		return code;
	r->ttl_s = ttl_default;
	if (ttl) {
		if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
		    json_integer_value(ttl) > ttl_max) {
			snprintf(msg, n, "ttl must be a whole number of seconds from 1 to %u", ttl_max);
			return "invalid_ttl";
		}
		r->ttl_s = json_integer_value(ttl);
	}
	if (sub && (!json_is_string(sub) || json_string_length(sub) > LG_SUB_MAX_LEN)) {
		snprintf(msg, n, "sub must be a string of at most %d bytes", LG_SUB_MAX_LEN);
		return "invalid_sub";
	}
	r->sub = sub ? json_string_value(sub) : NULL;
	/* A backend may name its render (when it read the page's data): a
	 * call that waited on a busy or restarting livegate must not date
	 * the page later than what it shows. */
	r->iat_ms = now_ms;
	if (iat && (!json_is_number(iat) ||
	            lg_token_given_iat(json_number_value(iat), now_ms, &r->iat_ms) != 0)) {
		snprintf(msg, n, "iat must be the render time in seconds since the epoch (a fraction "
		         "is kept to the millisecond), at most a day before livegate's clock and a "
		         "minute after it");
		return "invalid_iat";
	}
	return NULL;
}
