/* auth/token.h - livegate tokens: HS256 JWTs naming the channels a page may
 * follow, and the key ring that signs and verifies them.
 *
 * Pure code: no I/O, no clock (callers pass `now`), no global state.
 * Thread-safe for concurrent readers of one key ring.
 */
#ifndef LG_AUTH_TOKEN_H
#define LG_AUTH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

/* Limits, all enforced by lg_token_verify / lg_keyring_*. */
/* Bytes of compact JWS accepted: what fits in the client's one WebSocket
 * message of at most 16 KiB (16384 bytes, the contract's frame limit)
 * together with the subscribe envelope {"type":"subscribe","token":""}
 * (31 bytes compact; 64 are kept for one written with spaces, as Python's
 * json.dumps does), so every token the API mints can be sent. This, not
 * the channel count, is the limit that binds: 64 names of 200 bytes would
 * need 17,473 bytes (59 of them fit). */
#define LG_TOKEN_MAX_LEN      (16384 - 64)
#define LG_TOKEN_MAX_CHANNELS 64    /* channels one token may name          */
#define LG_CHANNEL_MAX_LEN    200   /* bytes of one channel name            */
#define LG_KEY_MIN_LEN        32    /* bytes of an HMAC key                 */
#define LG_KEY_MAX_LEN        1024  /* bytes of an HMAC key                 */
#define LG_KID_MAX_LEN        64    /* bytes of a key id                    */
#define LG_KEYRING_MAX_KEYS   16    /* keys in one ring                     */
#define LG_SUB_MAX_LEN        256   /* bytes of the optional `sub` claim    */

enum lg_token_status {
	LG_TOKEN_OK = 0,
	LG_TOKEN_MALFORMED,       /* not three base64url parts, bad JSON, too long */
	LG_TOKEN_BAD_ALG,         /* header alg is not "HS256" (none included)     */
	LG_TOKEN_UNKNOWN_KID,     /* header kid names no key of the ring           */
	LG_TOKEN_BAD_SIGNATURE,   /* no key of the ring verifies the signature     */
	LG_TOKEN_BAD_CLAIMS,      /* channels/exp/nbf/iat/sub missing or wrong type */
	LG_TOKEN_EXPIRED,         /* exp <= now                                    */
	LG_TOKEN_NOT_YET_VALID,   /* nbf > now                                     */
	LG_TOKEN_EXP_TOO_FAR,     /* exp - now > the caller's max_lifetime: usually
	                           * an exp written in milliseconds              */
	LG_TOKEN_STATUS_COUNT
};

/* Returns a short stable name for a status ("ok", "malformed", "bad_alg",
 * "unknown_kid", "bad_signature", "bad_claims", "expired", "not_yet_valid",
 * "exp_too_far"), used in close reasons, metrics labels and logs. */
const char *lg_token_status_name(enum lg_token_status st);

/* Verified claims. channels[i] are NUL-terminated copies; duplicates in the
 * token are removed (first occurrence kept, order preserved). */
struct lg_token_claims {
	char  **channels;
	size_t  n_channels;
	int64_t exp;
	int64_t iat;     /* seconds, rounded down; 0 when absent */
	int64_t iat_ms;  /* iat in milliseconds, its fraction kept (the render
	                  * time the missed catch-up compares with); 0 when absent */
	int64_t nbf;     /* 0 when absent */
	char   *sub;   /* NULL when absent */
	const char *bad_claim;   /* LG_TOKEN_BAD_CLAIMS: which one ("exp",
	                          * "channels"...), for the close reason; set
	                          * even though the rest owns nothing then */
};

/* Returns 1 if name[0..len) is a valid channel name: 1..LG_CHANNEL_MAX_LEN
 * bytes of printable ASCII (0x21..0x7e), else 0. */
int lg_channel_name_valid(const char *name, size_t len);

/* --- key ring ------------------------------------------------------------ */

struct lg_keyring; /* opaque; the first key added signs, every key verifies */

/* Returns a new empty ring, or NULL when out of memory. */
struct lg_keyring *lg_keyring_new(void);

/* Frees the ring and wipes its keys (OPENSSL_cleanse). NULL is a no-op. */
void lg_keyring_free(struct lg_keyring *kr);

/* Adds one key. kid may be NULL (a key without id: tokens it signs carry no
 * "kid"). Returns 0, or -1 with a one-line reason in err (never containing
 * the key): key shorter than LG_KEY_MIN_LEN or longer than LG_KEY_MAX_LEN,
 * kid empty/too long/not printable ASCII, duplicate kid, ring full.
 * Printable ASCII here means 0x21..0x7e: no spaces. Several keys without
 * kid may be added; duplicate kids are refused. err may be NULL. */
int lg_keyring_add(struct lg_keyring *kr, const char *kid,
                   const unsigned char *key, size_t key_len,
                   char *err, size_t errlen);

/* Parses "kid1:key1,kid2:key2" (LIVEGATE_SECRETS) into kr. The key is
 * everything after the first ':' up to the next ','. Returns 0 or -1 with
 * err set (naming the entry by position, never showing the key). Nothing
 * is trimmed: "k1:a, k2:b" fails on entry 2's kid " k2". An empty spec or
 * entry (stray ',') is an error. All or nothing: on failure no key of spec
 * has been added to kr. */
int lg_keyring_parse_list(struct lg_keyring *kr, const char *spec,
                          char *err, size_t errlen);

/* Parses the text of a secrets file (LIVEGATE_SECRETS_FILE): one "kid:key"
 * per line; blank lines and lines starting with '#' are skipped; trailing
 * "\r" and surrounding spaces are trimmed. Returns 0 or -1 with err set
 * (naming the line number). At least one key is required. Spaces and tabs
 * are trimmed around the whole line, not around the ':'. A NUL byte in a
 * non-comment line is an error. All or nothing, as lg_keyring_parse_list. */
int lg_keyring_parse_file_text(struct lg_keyring *kr, const char *text,
                               size_t len, char *err, size_t errlen);

/* Returns the number of keys in the ring. */
size_t lg_keyring_count(const struct lg_keyring *kr);

/* --- tokens ---------------------------------------------------------------- */

/* Verifies a compact JWS token[0..len) against kr at time `now` (seconds
 * since the epoch). max_lifetime > 0 refuses a token whose exp lies more
 * than max_lifetime seconds after now (LG_TOKEN_EXP_TOO_FAR, checked right
 * after expiry); 0 sets no bound. Rules: header {"alg":"HS256"} (typ optional but must be
 * "JWT" when present; any other alg refused), optional "kid" picks the key
 * (unknown kid -> LG_TOKEN_UNKNOWN_KID), without kid each key is tried;
 * signature compared in constant time; strict base64url (no padding, no
 * stray characters); claims: "channels" a non-empty array of at most
 * LG_TOKEN_MAX_CHANNELS valid names, "exp" a number (required), "nbf" and
 * "iat" numbers when present, "sub" a string of at most LG_SUB_MAX_LEN when
 * present. Order of checks: malformed, alg, kid, signature, claims, exp,
 * exp too far, nbf.
 * On LG_TOKEN_OK fills *out (free with lg_token_claims_free); on any other
 * status *out is zeroed and owns nothing.
 * Details: out may be NULL (status only); kr NULL acts as an empty ring.
 * malformed also covers: a JSON text with duplicate names, a header or
 * claims part that is not a JSON object, "typ" other than "JWT" (compared
 * case-insensitively, RFC 7515 4.1.9), "kid" not a string, any "crit", a
 * non-canonical base64url spelling. A signature of the wrong length is
 * bad_signature. exp/nbf/iat are JSON integers or reals (reals rounded
 * down; iat_ms rounds iat to the nearest millisecond) in 0..2^53; "iat" is
 * not compared with now. The channel limit
 * applies to the array as sent, before duplicates are removed. */
enum lg_token_status lg_token_verify(const struct lg_keyring *kr,
                                     const char *token, size_t len,
                                     int64_t now, int64_t max_lifetime,
                                     struct lg_token_claims *out);

/* Frees what lg_token_verify put in c and zeroes it. NULL is a no-op. */
void lg_token_claims_free(struct lg_token_claims *c);

/* How far a render time a signer is given may lie from its own clock:
 * behind by a day (the longest API ttl: an older render's page has
 * expired), ahead by a minute (clock skew; a later iat would only shorten
 * the catch-up). */
#define LG_GIVEN_IAT_BEHIND_MS (86400 * 1000LL)
#define LG_GIVEN_IAT_AHEAD_MS  (60 * 1000LL)

/* A render time given in seconds since the epoch (s, a fraction kept to
 * the millisecond) as iat milliseconds in *ms, when it lies within the
 * bounds above of now_ms. Returns 0, or -1 (out of bounds, not finite). */
int lg_token_given_iat(double s, int64_t now_ms, int64_t *ms);

/* Signs a token with the ring's first key: header {"alg":"HS256","typ":"JWT"}
 * plus "kid" when that key has one; claims channels, exp, sub when non-NULL,
 * and iat from iat_ms (milliseconds) written with its fraction, always three
 * decimals: 1764871234567 gives "iat":1764871234.567 (RFC 7519 NumericDate
 * may carry one; lg_token_verify reads it back as iat_ms exactly). Channel names must be valid (lg_channel_name_valid), 1 to
 * LG_TOKEN_MAX_CHANNELS of them. Returns a malloc'd NUL-terminated token in
 * *out, 0 on success; -1 with err set on bad input or allocation failure.
 * Also refused: iat (seconds) or exp outside 0..2^53, sub longer than
 * LG_SUB_MAX_LEN or not UTF-8, and a result longer than LG_TOKEN_MAX_LEN
 * (which 64 channel names of 200 bytes would give; the error says how long
 * it would be), so every signed token verifies and can be sent. Channels
 * are written as given (duplicates are dropped by lg_token_verify). */
int lg_token_sign(const struct lg_keyring *kr,
                  const char *const *channels, size_t n_channels,
                  const char *sub, int64_t iat_ms, int64_t exp,
                  char **out, char *err, size_t errlen);

#endif
