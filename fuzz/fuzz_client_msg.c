/* fuzz/fuzz_client_msg.c - libFuzzer target for wire/client_msg: the text
 * of a client's WebSocket message (or a POST /sse body), as worker/ws.c
 * reads it: UTF-8 checked first, then parsed, and a subscribe's token
 * verified.
 *
 * Invariants besides the sanitizers: the kind returned is m->kind; a
 * subscribe has a NUL-terminated token of token_len bytes; a refusal has a
 * reason short enough for a close frame; text that is not UTF-8 is never a
 * subscribe or a ping (jansson and common/utf8 agree on what UTF-8 is);
 * lg_client_msg_free leaves nothing behind (LeakSanitizer).
 */
#include <string.h>

#include "client_msg.h"
#include "fuzz.h"
#include "token.h"
#include "utf8.h"

#define NOW ((int64_t)1700000000)

static struct lg_keyring *ring(void)
{
	static const char key[] = "fuzz-client-msg-key-0123456789abcdef";
	static struct lg_keyring *kr;   /* built once, only read afterwards */

	if (!kr) {
		kr = lg_keyring_new();
		CHECK(kr && lg_keyring_add(kr, NULL, (const unsigned char *)key, strlen(key),
		                           NULL, 0) == 0);
	}
	return kr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lg_client_msg m;
	struct lg_token_claims c;
	enum lg_client_msg_kind k = lg_client_msg_parse((const char *)data, size, &m);
	enum lg_token_status st;

	CHECK(k == m.kind);
	if (!lg_utf8_valid(data, size))
		CHECK(k == LG_MSG_BAD);
	switch (k) {
	case LG_MSG_SUBSCRIBE:
		CHECK(m.token && m.token[m.token_len] == '\0' && !m.error);
		st = lg_token_verify(ring(), m.token, m.token_len, NOW, 604800, &c);
		CHECK((unsigned)st < LG_TOKEN_STATUS_COUNT);
		lg_token_claims_free(&c);
		break;
	case LG_MSG_PING:
		CHECK(!m.error && !m.token);
		break;
	case LG_MSG_BAD:
		/* The reason goes into a close frame: at most 123 bytes. */
		CHECK(m.error && m.error[0] && strlen(m.error) <= 123 && !m.token);
		break;
	default:
		CHECK(0);
	}
	lg_client_msg_free(&m);
	CHECK(!m.json && !m.token);
	return 0;
}
