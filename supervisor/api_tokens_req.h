/* supervisor/api_tokens_req.h - the body of POST /v1/tokens read and
 * checked: what the handler signs, and what the fuzz target checks the
 * signing against, from one piece of code. Pure: the caller gives the
 * clock and the lifetime settings. */
#ifndef LG_SUPERVISOR_API_TOKENS_REQ_H
#define LG_SUPERVISOR_API_TOKENS_REQ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "token.h"

struct lg_tokens_req {
	const char *names[LG_TOKEN_MAX_CHANNELS];   /* point into the body */
	size_t      n;
	const char *sub;       /* NULL when absent */
	int64_t     ttl_s;     /* the body's, else ttl_default */
	int64_t     iat_ms;    /* the body's render time, else now_ms */
};

/* Reads the JSON object body into r: channels (1 to LG_TOKEN_MAX_CHANNELS
 * valid names), ttl (whole seconds, 1 to ttl_max), sub (a string of at
 * most LG_SUB_MAX_LEN bytes), iat (lg_token_given_iat of now_ms). Returns
 * NULL, or the API error code of the first member that is wrong
 * ("invalid_channels", "invalid_ttl", "invalid_sub", "invalid_iat") with
 * a one-line message in msg. */
const char *lg_tokens_req_read(const json_t *body, int64_t ttl_default, unsigned ttl_max,
                               int64_t now_ms, struct lg_tokens_req *r, char *msg, size_t n);

#endif
