/* pubsub/sub_int.h - what the subscriber's files share (not for callers):
 * the subscriber itself, and the two ways it subscribes. sub.c owns the
 * common part (parameters, events, delivery, readiness), sub_pattern.c the
 * one-pattern link of the single, sentinel and cluster-global modes,
 * sub_sharded.c the per-node links of sharded cluster mode. */
#ifndef LG_PUBSUB_SUB_INT_H
#define LG_PUBSUB_SUB_INT_H

#include "sub.h"
#include "tls.h"

struct plink;
struct sharded;

struct ps_sub {
	struct ps_sub_params  p;
	struct ps_redis_url   url;
	char                 *prefix;
	size_t                prefix_len;
	char                 *pattern;       /* escaped prefix + '*' */
	size_t                pattern_len;
	struct ps_registry   *reg;
	struct ps_loop        loop;
	struct ps_sub_events  ev;
	void                 *owner;
	struct ps_tls        *tls;           /* NULL without TLS */
	struct ps_sub_stats   stats;
	int                   ready;         /* as last reported */
	int                   started;
	struct plink         *plink;         /* pattern modes */
	struct sharded       *sh;            /* sharded cluster mode */
};

/* --- sub.c, for the modes ---------------------------------------------------- */

/* Connection parameters for a link of role to host:port. */
void sub_conn_params(const struct ps_sub *s, enum ps_link_role role, const char *host,
                     int port, struct ps_conn_params *cp);

void sub_link_event(struct ps_sub *s, enum ps_link_state st, enum ps_link_role role,
                    const char *addr, enum ps_conn_fail cause, const char *detail,
                    unsigned retry_ms);

/* Recomputes readiness and reports a change. */
void sub_update_ready(struct ps_sub *s);

/* The next retry delay after *attempts failures (counts one more): base *
 * 2^n capped, with jitter over the upper half so a fleet spreads out. */
unsigned sub_backoff(const struct ps_sub *s, unsigned *attempts);

/* A message on the Redis channel chan[0..len): observed and delivered if
 * it is under the prefix. */
void sub_deliver(struct ps_sub *s, const char *chan, size_t len, const char *payload,
                 size_t plen);

/* --- sub_pattern.c ---------------------------------------------------------- */

struct plink *plink_new(struct ps_sub *s);
void plink_start(struct plink *l);
int plink_ready(const struct plink *l);
int64_t plink_covered_since(const struct plink *l);
void plink_free(struct plink *l);
extern const struct ps_backend_ops plink_backend;

/* --- sub_sharded.c ---------------------------------------------------------- */

struct sharded *sharded_new(struct ps_sub *s);
void sharded_start(struct sharded *sh);
int sharded_ready(const struct sharded *sh);
int64_t sharded_covered_since(const struct sharded *sh, const char *name, size_t len);
void sharded_free(struct sharded *sh);
extern const struct ps_backend_ops sharded_backend;

#endif
