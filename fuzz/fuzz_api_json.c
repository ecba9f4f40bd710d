/* fuzz/fuzz_api_json.c - libFuzzer target for the private API's request
 * bodies as far as they are pure: supervisor/api_json (the `data` of
 * POST /v1/publish found and compacted as written) and the checks of
 * POST /v1/tokens (supervisor/api_tokens_req, which the handler calls)
 * followed by signing and verifying the token.
 *
 * The first input byte picks the endpoint (even: publish, odd: tokens);
 * the rest is the body.
 *
 * Publish invariants: jansson (with the API's flags) and lg_json_member
 * agree on whether "data" is there; the compacted text is no longer than
 * the value, has no whitespace outside strings (compacting it again
 * changes nothing), parses with the worker's flags and equals the value
 * jansson read; the worker embeds it in an invalidation that is valid JSON
 * carrying the same value.
 * Tokens invariants: a body that passes the API's checks signs, unless the
 * token would not fit one WebSocket message; a signed token verifies with
 * the same channels (duplicates dropped, order kept), sub and iat (a given
 * one within its bounds of the clock, to the millisecond).
 */
#include <jansson.h>
#include <string.h>

#include "api_json.h"
#include "api_tokens_req.h"
#include "frame.h"
#include "fuzz.h"
#include "limits.h"
#include "token.h"

#define NOW     ((int64_t)1700000000)
#define TTL_MAX 86400   /* LG_TOKEN_TTL_MAX */

static const size_t worker_flags = JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL;

static void publish(const char *body, size_t len)
{
	json_error_t e;
	json_t *b = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL |
	                       JSON_ALLOW_NUL, &e);
	json_t *want, *got, *frame;
	const char *v;
	size_t vlen, clen, clen2;
	char *out, *out2;
	int found, big;
	struct lg_frame *f;

	if (!json_is_object(b)) {
		json_decref(b);
		return;
	}
	want = json_object_get(b, "data");
	found = lg_json_member(body, len, "data", &v, &vlen);
	CHECK(found >= 0);
	CHECK(found == (want != NULL));
	if (!found) {
		json_decref(b);
		return;
	}
	CHECK(v >= body && v + vlen <= body + len && vlen > 0);
	out = malloc(vlen);
	out2 = malloc(vlen);
	CHECK(out && out2);
	clen = lg_json_compact(out, v, vlen);
	CHECK(clen <= vlen && clen > 0);
	clen2 = lg_json_compact(out2, out, clen);
	CHECK(clen2 == clen && memcmp(out, out2, clen) == 0);
	got = json_loadb(out, clen, worker_flags, &e);
	CHECK(got && json_equal(got, want));
	json_decref(got);
	if (clen <= LG_MAX_PAYLOAD) {
		f = lg_frame_invalidate("c", 1, out, clen, 0, &big);
		CHECK(f && !big);
		frame = json_loadb((const char *)lg_frame_data(f), f->len, JSON_ALLOW_NUL |
		                   JSON_DECODE_INT_AS_REAL, &e);
		CHECK(frame && json_equal(json_object_get(frame, "data"), want));
		json_decref(frame);
		lg_frame_unref(f);
	}
	free(out);
	free(out2);
	json_decref(b);
}

static struct lg_keyring *ring(void)
{
	static const char key[] = "fuzz-api-json-key-0123456789abcdefgh";
	static struct lg_keyring *kr;   /* built once, only read afterwards */

	if (!kr) {
		kr = lg_keyring_new();
		CHECK(kr && lg_keyring_add(kr, "k1", (const unsigned char *)key, strlen(key),
		                           NULL, 0) == 0);
	}
	return kr;
}

/* Returns 1 if names[0..i) holds name. */
static int seen(const char *const *names, size_t i, const char *name)
{
	while (i--)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

static void tokens(const char *body, size_t len)
{
	json_t *b = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	struct lg_tokens_req r;
	struct lg_token_claims c;
	int64_t exp;
	char err[240], *tok = NULL;
	size_t k = 0;

	if (!json_is_object(b))
		goto out;
	if (lg_tokens_req_read(b, 3600, TTL_MAX, NOW * 1000, &r, err, sizeof err)) {
		CHECK(strlen(err) > 0);
		goto out;
	}
	CHECK(r.n >= 1 && r.n <= LG_TOKEN_MAX_CHANNELS && r.ttl_s >= 1 && r.ttl_s <= TTL_MAX);
	CHECK(r.iat_ms >= NOW * 1000 - LG_GIVEN_IAT_BEHIND_MS - 1 &&
	      r.iat_ms <= NOW * 1000 + LG_GIVEN_IAT_AHEAD_MS + 1);
	exp = NOW + r.ttl_s;
	if (lg_token_sign(ring(), r.names, r.n, r.sub, r.iat_ms, exp, &tok, err, sizeof err) != 0) {
		CHECK(!tok && strstr(err, "16 KiB WebSocket message"));
		goto out;
	}
	CHECK(strlen(tok) <= LG_TOKEN_MAX_LEN);
	CHECK(lg_token_verify(ring(), tok, strlen(tok), NOW, 0, &c) == LG_TOKEN_OK);
	CHECK(c.exp == exp && c.iat_ms == r.iat_ms);
	for (size_t i = 0; i < r.n; i++)
		if (!seen(r.names, i, r.names[i])) {
			CHECK(k < c.n_channels && strcmp(c.channels[k], r.names[i]) == 0);
			k++;
		}
	CHECK(k == c.n_channels);
	CHECK(r.sub ? c.sub && strcmp(c.sub, r.sub) == 0 : !c.sub);
	lg_token_claims_free(&c);
out:
	free(tok);
	json_decref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		tokens((const char *)data + 1, size - 1);
	else
		publish((const char *)data + 1, size - 1);
	return 0;
}
