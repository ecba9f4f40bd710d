/* fuzz/fuzz_resp.c - libFuzzer target for what a Redis server (or anything
 * that answers on its port) sends a livegate link: pubsub/resp (hiredis's
 * redisReader under livegate's two bounds, push classification, error
 * reading) and pubsub/cluster_map (a CLUSTER SHARDS / SLOTS reply).
 *
 * The first input byte seeds the cuts the bytes arrive in (0: one byte at
 * a time) and picks the map's form (bit 0: SHARDS, bit 1: TLS); the rest is
 * the server's bytes. Every complete reply is classified as pubsub/conn.c
 * does; an error reply is read for MOVED/ASK; an array is offered to the
 * cluster map parser.
 *
 * Invariants besides the sanitizers: the replies (their shape, summed into
 * a fingerprint) and the outcome are the same fed in cuts as fed at once;
 * no reply passes the reply bound; a push's name, channel and payload lie
 * inside the reply's own strings; a confirmation's count is the reply's
 * integer; a redirect names a slot below 16384, a port in 1..65535 and a
 * NUL-terminated host; a parsed map has every slot owned by a node it
 * lists, at most PS_CLUSTER_NODES_MAX of them, each with a port in range.
 */
#include <string.h>

#include "cluster_map.h"
#include "fuzz.h"
#include "resp.h"

#define MAX_REPLY    (64 * 1024)
#define MAX_ELEMENTS 1024

struct run {
	uint64_t fp;      /* the replies' shapes, summed */
	int      replies;
	int      outcome; /* 0: more needed at the end; -1: refused */
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ull;
}

/* Returns 1 if [p, p+n) lies inside one of r's strings (walking arrays). */
static int inside(const redisReply *r, const char *p, size_t n)
{
	if (r->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < r->elements; i++)
			if (inside(r->element[i], p, n))
				return 1;
		return 0;
	}
	if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS &&
	    r->type != REDIS_REPLY_ERROR)
		return 0;
	return p >= r->str && p + n <= r->str + r->len;
}

static uint64_t shape(const redisReply *r, int depth)
{
	uint64_t h = mix(0xcbf29ce484222325ull, (uint64_t)r->type);

	switch (r->type) {
	case REDIS_REPLY_INTEGER:
		return mix(h, (uint64_t)r->integer);
	case REDIS_REPLY_ARRAY:
		h = mix(h, r->elements);
		for (size_t i = 0; i < r->elements && depth < 8; i++)
			h = mix(h, shape(r->element[i], depth + 1));
		return h;
	case REDIS_REPLY_NIL:
		return h;
	default:
		h = mix(h, r->len);
		return r->len ? mix(h, ps_hash64(r->str, r->len)) : h;
	}
}

static void check_push(const redisReply *r)
{
	struct ps_push p;
	enum ps_push_kind k = ps_resp_classify(r, &p);

	if (k == PS_PUSH_NONE)
		return;
	CHECK(r->type == REDIS_REPLY_ARRAY);
	CHECK(p.kind == k);
	CHECK(p.name && inside(r, p.name, p.name_len));
	if (k == PS_PUSH_PMESSAGE)
		CHECK(p.channel && inside(r, p.channel, p.channel_len));
	if (k == PS_PUSH_MESSAGE || k == PS_PUSH_PMESSAGE || k == PS_PUSH_SMESSAGE)
		CHECK(p.payload && inside(r, p.payload, p.payload_len));
	if (ps_push_is_confirmation(k))
		CHECK(r->elements == 3 && r->element[2]->type == REDIS_REPLY_INTEGER &&
		      p.count == r->element[2]->integer);
}

static void check_error(const redisReply *r)
{
	struct ps_redirect rd;
	enum ps_err_kind k;

	memset(&rd, 0xa5, sizeof rd);
	k = ps_resp_error(r->str, r->len, &rd);
	if (k == PS_ERR_MOVED || k == PS_ERR_ASK) {
		CHECK(rd.slot >= 0 && rd.slot < PS_SLOTS);
		CHECK(rd.port > 0 && rd.port <= 65535);
		CHECK(memchr(rd.host, '\0', sizeof rd.host) != NULL);
	}
}

static void check_map(const redisReply *r, unsigned mode)
{
	struct ps_cluster_map *m = ps_cluster_map_new();
	char err[256];

	if (!m)
		return;
	err[0] = '\0';
	if (ps_cluster_map_parse(m, r, mode & 1, (mode >> 1) & 1, "asked.example", err,
	                         sizeof err) == 0) {
		CHECK(m->nnodes >= 0 && m->nnodes <= PS_CLUSTER_NODES_MAX);
		for (int i = 0; i < m->nnodes; i++)
			CHECK(m->nodes[i].port > 0 && m->nodes[i].port <= 65535 &&
			      memchr(m->nodes[i].host, '\0', sizeof m->nodes[i].host));
		for (unsigned s = 0; s < PS_SLOTS; s++)
			CHECK(m->owner[s] <= (unsigned)m->nnodes);
	} else {
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err));
	}
	ps_cluster_map_free(m);
}

/* Feeds data in pieces drawn from seed (len: one piece), checking every
 * reply; records what came. */
static void feed(const uint8_t *data, size_t len, unsigned seed, int whole, unsigned mode,
                 struct run *out)
{
	struct ps_reader *rd = ps_reader_new(MAX_REPLY, MAX_ELEMENTS);
	uint32_t x = seed * 2654435761u + 1;
	size_t at = 0;

	memset(out, 0, sizeof *out);
	if (!rd)
		abort();
	do {
		size_t step = len - at;
		redisReply *r;
		int got;

		if (!whole) {
			step = 1;
			if (seed) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				step = 1 + x % 61;
			}
			if (step > len - at)
				step = len - at;
		}
		if (ps_reader_feed(rd, (const char *)data + at, step) != 0)
			abort();
		at += step;
		while ((got = ps_reader_next(rd, &r)) == 1) {
			out->replies++;
			out->fp = mix(out->fp, shape(r, 0));
			check_push(r);
			if (r->type == REDIS_REPLY_ERROR)
				check_error(r);
			if (r->type == REDIS_REPLY_ARRAY && whole)
				check_map(r, mode);
			freeReplyObject(r);
		}
		if (got < 0) {
			CHECK(ps_reader_error(rd) && ps_reader_error(rd)[0]);
			out->outcome = -1;
			break;
		}
	} while (at < len);
	ps_reader_free(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run all, cuts;

	if (size < 1)
		return 0;
	feed(data + 1, size - 1, 0, 1, data[0], &all);
	feed(data + 1, size - 1, data[0], 0, data[0], &cuts);
	/* A refusal may come at a different reply when the bound is met part
	 * way through a read, but it comes both ways and after the same replies
	 * as far as both got. */
	CHECK(all.outcome == cuts.outcome);
	if (all.outcome == 0)
		CHECK(all.replies == cuts.replies && all.fp == cuts.fp);
	return 0;
}
