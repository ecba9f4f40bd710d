/* pubsub/resp.h - RESP2 in and out for livegate's own Redis links.
 *
 * Parsing is hiredis's redisReader (hiredis/read.h, sound in 0.14.1) with
 * two bounds of ours: the bytes one reply may take before it is complete,
 * and the elements one array may declare (a 10-byte "*100000000" would
 * otherwise allocate 800 MB before any element arrived). Encoding is
 * hiredis's redisFormatCommandArgv.
 *
 * Classification tells pub/sub pushes (confirmations and messages) from
 * ordinary replies, and reads the errors a client must act on (MOVED, ASK,
 * an authentication refusal).
 */
#ifndef LG_PUBSUB_RESP_H
#define LG_PUBSUB_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

/* --- reading ----------------------------------------------------------------- */

struct ps_reader;

/* Returns a reader refusing a reply over max_reply bytes or an array over
 * max_elements elements, or NULL when out of memory. */
struct ps_reader *ps_reader_new(size_t max_reply, size_t max_elements);
void ps_reader_free(struct ps_reader *r);

/* Appends bytes read from the server. Returns 0 or -1 (out of memory). */
int ps_reader_feed(struct ps_reader *r, const char *buf, size_t len);

/* Takes the next complete reply: returns 1 with *reply set (the caller frees
 * it with freeReplyObject), 0 when more bytes are needed, -1 on a protocol
 * error or a bound exceeded, with the reason in ps_reader_error. */
int ps_reader_next(struct ps_reader *r, redisReply **reply);
const char *ps_reader_error(const struct ps_reader *r);

/* --- writing ----------------------------------------------------------------- */

/* Encodes argv as one RESP command into a malloc'ed buffer. Returns its
 * length, or -1 when out of memory. */
long ps_resp_format(char **out, int argc, const char **argv, const size_t *lens);

/* --- classification ---------------------------------------------------------- */

enum ps_push_kind {
	PS_PUSH_NONE = 0,       /* an ordinary reply to the oldest command         */
	PS_PUSH_MESSAGE,        /* ["message", channel, payload]                   */
	PS_PUSH_PMESSAGE,       /* ["pmessage", pattern, channel, payload]         */
	PS_PUSH_SMESSAGE,       /* ["smessage", channel, payload]                  */
	PS_PUSH_SUBSCRIBE,      /* confirmations: [kind, name, count]              */
	PS_PUSH_PSUBSCRIBE,
	PS_PUSH_SSUBSCRIBE,
	PS_PUSH_UNSUBSCRIBE,
	PS_PUSH_PUNSUBSCRIBE,
	PS_PUSH_SUNSUBSCRIBE,   /* also sent unasked when a slot leaves the node   */
};

struct ps_push {
	enum ps_push_kind kind;
	const char *name;       /* channel (messages, confirmations) or pattern     */
	size_t      name_len;   /* (p(un)subscribe confirmations)                   */
	const char *channel;    /* pmessage: the channel that matched               */
	size_t      channel_len;
	const char *payload;    /* messages                                         */
	size_t      payload_len;
	long long   count;      /* confirmations: subscriptions left on the link    */
};

/* Classifies reply. Returns its kind, filling *p for a push; PS_PUSH_NONE
 * for anything else (in subscribed mode a PING answers ["pong", ""], which
 * is an ordinary reply). A malformed push counts as an ordinary reply. */
enum ps_push_kind ps_resp_classify(const redisReply *reply, struct ps_push *p);

/* Returns 1 if kind is a (p|s)(un)subscribe confirmation. */
int ps_push_is_confirmation(enum ps_push_kind kind);

/* The command whose confirmations have kind, for matching replies to
 * commands: PS_PUSH_SSUBSCRIBE for "SSUBSCRIBE" (any case), ...;
 * PS_PUSH_NONE for other commands. */
enum ps_push_kind ps_resp_command_kind(const char *cmd, size_t len);

enum ps_err_kind {
	PS_ERR_OTHER = 0,
	PS_ERR_MOVED,           /* -MOVED <slot> <host>:<port>                      */
	PS_ERR_ASK,             /* -ASK <slot> <host>:<port>                        */
	PS_ERR_AUTH,            /* -NOAUTH, -WRONGPASS, invalid password            */
	PS_ERR_NOPASS,          /* AUTH sent to a server that has no password        */
	PS_ERR_LOADING,         /* -LOADING, -MASTERDOWN, -TRYAGAIN, -CLUSTERDOWN:   */
	                        /*  a transient state worth a retry                 */
};

struct ps_redirect {
	int  slot;
	char host[256];
	int  port;
};

/* Reads an error reply. For MOVED/ASK fills *rd (may be NULL). */
enum ps_err_kind ps_resp_error(const char *str, size_t len, struct ps_redirect *rd);

/* A 64-bit FNV-1a hash of s[0..len), to match confirmations to commands. */
uint64_t ps_hash64(const char *s, size_t len);

#endif
