/* auth/claims.h - (internal) checking the claims of a verified token. */
#ifndef LG_AUTH_CLAIMS_H
#define LG_AUTH_CLAIMS_H

#include <stdint.h>
#include <jansson.h>

#include "token.h"

/* Largest time value accepted in exp/nbf/iat (2^53: beyond it a JSON number
 * is no longer an exact integer in most JWT libraries). */
#define LG_CLAIM_TIME_MAX ((int64_t)1 << 53)

/* Checks the claims object of a token whose signature has been verified,
 * in the order: types and shapes (LG_TOKEN_BAD_CLAIMS), exp <= now
 * (LG_TOKEN_EXPIRED), exp > now + max_lifetime when max_lifetime > 0
 * (LG_TOKEN_EXP_TOO_FAR), nbf > now (LG_TOKEN_NOT_YET_VALID). On LG_TOKEN_OK
 * fills *out when out is non-NULL; otherwise *out owns nothing. Returns
 * LG_TOKEN_BAD_CLAIMS as well when memory runs out (the token is then not
 * accepted, which is the safe side). */
enum lg_token_status lg_claims_check(const json_t *claims, int64_t now,
                                     int64_t max_lifetime,
                                     struct lg_token_claims *out);

#endif
