/* pubsub/resp.c - bounded redisReader, command encoding, reply classes.
 *
 * The array bound wraps the reader's default createArray: the default
 * object functions are hiredis's own (taken once from a stock reader), so
 * replies stay ordinary redisReply trees freed with freeReplyObject.
 */
#include "resp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ps_reader {
	redisReader *r;
	size_t       max_reply;
	size_t       max_elements;
	size_t       partial;      /* bytes fed since the last complete reply */
	int          refused;      /* our createArray refused a declared size */
	char         err[160];
};

static redisReplyObjectFunctions default_fn, bounded_fn;
static pthread_once_t fn_once = PTHREAD_ONCE_INIT;
static int fn_ok;

static void *bounded_array(const redisReadTask *t, int elements)
{
	struct ps_reader *pr = t->privdata;

	if (elements < 0 || (size_t)elements > pr->max_elements) {
		pr->refused = 1;
		return NULL;
	}
	return default_fn.createArray(t, elements);
}

static void fn_init(void)
{
	redisReader *stock = redisReaderCreate();

	if (!stock || !stock->fn)
		return;
	default_fn = *stock->fn;
	redisReaderFree(stock);
	bounded_fn = default_fn;
	bounded_fn.createArray = bounded_array;
	fn_ok = 1;
}

struct ps_reader *ps_reader_new(size_t max_reply, size_t max_elements)
{
	struct ps_reader *pr;

	pthread_once(&fn_once, fn_init);
	if (!fn_ok)
		return NULL;
	pr = calloc(1, sizeof *pr);
	if (!pr)
		return NULL;
	pr->r = redisReaderCreateWithFunctions(&bounded_fn);
	if (!pr->r) {
		free(pr);
		return NULL;
	}
	redisReaderSetPrivdata(pr->r, pr);
	pr->max_reply = max_reply;
	pr->max_elements = max_elements;
	return pr;
}

void ps_reader_free(struct ps_reader *pr)
{
	if (!pr)
		return;
	redisReaderFree(pr->r);
	free(pr);
}

int ps_reader_feed(struct ps_reader *pr, const char *buf, size_t len)
{
	if (redisReaderFeed(pr->r, buf, len) != REDIS_OK)
		return -1;
	pr->partial += len;
	return 0;
}

int ps_reader_next(struct ps_reader *pr, redisReply **reply)
{
	void *obj = NULL;
	size_t left;

	*reply = NULL;
	if (pr->err[0])
		return -1;
	if (redisReaderGetReply(pr->r, &obj) != REDIS_OK) {
		if (pr->refused)
			snprintf(pr->err, sizeof pr->err, "reply array over %zu elements",
			         pr->max_elements);
		else
			snprintf(pr->err, sizeof pr->err, "protocol error: %s", pr->r->errstr);
		return -1;
	}
	/* The bytes of the reply under way: all fed since the last complete
	 * one, less what is left unread once this one is complete (it belongs
	 * to the next). One bound however the bytes came: a reply over it that
	 * arrived in one read is refused like one that arrived in pieces. */
	left = obj ? pr->r->len - pr->r->pos : 0;
	if (pr->partial - left > pr->max_reply) {
		if (obj)
			freeReplyObject(obj);
		snprintf(pr->err, sizeof pr->err, "reply over %zu bytes", pr->max_reply);
		return -1;
	}
	if (!obj)
		return 0;
	pr->partial = left;
	*reply = obj;
	return 1;
}

const char *ps_reader_error(const struct ps_reader *pr)
{
	return pr->err;
}

long ps_resp_format(char **out, int argc, const char **argv, const size_t *lens)
{
	char *cmd = NULL;
	int n = redisFormatCommandArgv(&cmd, argc, argv, lens);

	if (n < 0 || !cmd)
		return -1;
	*out = cmd;
	return n;
}

/* --- classification ------------------------------------------------------------ */

static const struct {
	const char       *name;
	enum ps_push_kind kind;
} kinds[] = {
	{ "message", PS_PUSH_MESSAGE },         { "pmessage", PS_PUSH_PMESSAGE },
	{ "smessage", PS_PUSH_SMESSAGE },       { "subscribe", PS_PUSH_SUBSCRIBE },
	{ "psubscribe", PS_PUSH_PSUBSCRIBE },   { "ssubscribe", PS_PUSH_SSUBSCRIBE },
	{ "unsubscribe", PS_PUSH_UNSUBSCRIBE }, { "punsubscribe", PS_PUSH_PUNSUBSCRIBE },
	{ "sunsubscribe", PS_PUSH_SUNSUBSCRIBE },
};

static int is_str(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING;
}

int ps_push_is_confirmation(enum ps_push_kind kind)
{
	return kind >= PS_PUSH_SUBSCRIBE && kind <= PS_PUSH_SUNSUBSCRIBE;
}

enum ps_push_kind ps_resp_command_kind(const char *cmd, size_t len)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (ps_push_is_confirmation(kinds[i].kind) && strlen(kinds[i].name) == len &&
		    strncasecmp(kinds[i].name, cmd, len) == 0)
			return kinds[i].kind;
	return PS_PUSH_NONE;
}

/* Fills p for a well-formed push of kind k. Returns 1, or 0 if malformed. */
static int fill_push(const redisReply *r, enum ps_push_kind k, struct ps_push *p)
{
	redisReply *const *e = r->element;

	memset(p, 0, sizeof *p);
	p->kind = k;
	switch (k) {
	case PS_PUSH_MESSAGE:
	case PS_PUSH_SMESSAGE:
		if (r->elements != 3 || !is_str(e[1]) || !is_str(e[2]))
			return 0;
		p->name = p->channel = e[1]->str;
		p->name_len = p->channel_len = e[1]->len;
		p->payload = e[2]->str;
		p->payload_len = e[2]->len;
		return 1;
	case PS_PUSH_PMESSAGE:
		if (r->elements != 4 || !is_str(e[1]) || !is_str(e[2]) || !is_str(e[3]))
			return 0;
		p->name = e[1]->str;
		p->name_len = e[1]->len;
		p->channel = e[2]->str;
		p->channel_len = e[2]->len;
		p->payload = e[3]->str;
		p->payload_len = e[3]->len;
		return 1;
	default:
		/* An UNSUBSCRIBE with nothing subscribed answers a nil name. */
		if (r->elements != 3 || e[2]->type != REDIS_REPLY_INTEGER ||
		    (!is_str(e[1]) && e[1]->type != REDIS_REPLY_NIL))
			return 0;
		if (is_str(e[1])) {
			p->name = p->channel = e[1]->str;
			p->name_len = p->channel_len = e[1]->len;
		} else {
			p->name = p->channel = "";
		}
		p->count = e[2]->integer;
		return 1;
	}
}

enum ps_push_kind ps_resp_classify(const redisReply *r, struct ps_push *p)
{
	const redisReply *k;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
		return PS_PUSH_NONE;
	k = r->element[0];
	if (!is_str(k))
		return PS_PUSH_NONE;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (k->len == strlen(kinds[i].name) && memcmp(k->str, kinds[i].name, k->len) == 0)
			return fill_push(r, kinds[i].kind, p) ? kinds[i].kind : PS_PUSH_NONE;
	return PS_PUSH_NONE;
}

static int starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(s, prefix, n) == 0;
}

/* Parses "<slot> <host>:<port>" (host may be an IPv6 literal or empty). */
static int parse_redirect(const char *s, size_t len, struct ps_redirect *rd)
{
	char buf[300], *sp, *colon, *end;
	long slot, port;

	if (len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	slot = strtol(buf, &end, 10);
	if (end == buf || *end != ' ' || slot < 0 || slot > 16383)
		return -1;
	sp = end + 1;
	colon = strrchr(sp, ':');
	if (!colon || (size_t)(colon - sp) >= sizeof rd->host)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 1 || port > 65535)
		return -1;
	memcpy(rd->host, sp, (size_t)(colon - sp));
	rd->host[colon - sp] = '\0';
	rd->slot = (int)slot;
	rd->port = (int)port;
	return 0;
}

enum ps_err_kind ps_resp_error(const char *s, size_t len, struct ps_redirect *rd)
{
	struct ps_redirect tmp;

	if (!rd)
		rd = &tmp;
	if (starts(s, len, "MOVED "))
		return parse_redirect(s + 6, len - 6, rd) == 0 ? PS_ERR_MOVED : PS_ERR_OTHER;
	if (starts(s, len, "ASK "))
		return parse_redirect(s + 4, len - 4, rd) == 0 ? PS_ERR_ASK : PS_ERR_OTHER;
	if (starts(s, len, "NOAUTH") || starts(s, len, "WRONGPASS") ||
	    starts(s, len, "ERR invalid password") ||
	    starts(s, len, "ERR invalid username-password pair"))
		return PS_ERR_AUTH;
	/* Redis 6+ and older wordings of "AUTH to a server without a password". */
	if (starts(s, len, "ERR AUTH <password> called without any password configured") ||
	    starts(s, len, "ERR Client sent AUTH, but no password is set"))
		return PS_ERR_NOPASS;
	if (starts(s, len, "LOADING") || starts(s, len, "MASTERDOWN") ||
	    starts(s, len, "TRYAGAIN") || starts(s, len, "CLUSTERDOWN"))
		return PS_ERR_LOADING;
	return PS_ERR_OTHER;
}

uint64_t ps_hash64(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
