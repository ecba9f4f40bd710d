/* worker/redis_glue.c - the Redis subscriber on the worker's loop (see
 * redis_glue.h). */
#include "redis_glue.h"
#include "catchup.h"
#include "log.h"
#include "loop_ev.h"
#include "session.h"
#include "sub.h"

static struct ps_loop loop_seam;
static int down_told;   /* sessions were told Redis is down */

static const char *role_name(enum ps_link_role r)
{
	return r == PS_ROLE_SENTINEL ? "sentinel" : r == PS_ROLE_CONTROL ? "control" : "data";
}

static void on_link(void *owner, const struct ps_link_event *e)
{
	struct lg_logline l;
	int level;

	(void)owner;
	level = e->state == PS_LINK_UP ? LG_LOG_INFO :
	            e->state == PS_LINK_DOWN ? LG_LOG_ERROR : LG_LOG_WARN;

	if (lg_log_begin(&l, level, e->state == PS_LINK_UP ? "redis_up" :
	                            e->state == PS_LINK_DOWN ? "redis_down" : "redis_retry")) {
		lg_log_str(&l, "addr", e->addr);
		lg_log_str(&l, "role", role_name(e->role));
		if (e->state != PS_LINK_UP) {
			lg_log_str(&l, "reason", e->detail);
			lg_log_int(&l, "retry_ms", e->retry_ms);
		}
		lg_log_end(&l);
	}
}

/* Every needed link is up, or one is not: /readyz, and the pages. */
static void on_ready(void *owner, int ready)
{
	struct lg_worker *w = owner;
	struct ps_sub_stats st;

	w->redis_up = ready;
	lg_set(&w->st->redis_up, (uint64_t)ready);
	ps_sub_stats(w->redis, &st);
	lg_set(&w->st->redis_reconnects, st.reconnects);
	/* Pages show a long one (livegate:degraded); in pattern modes the 'up'
	 * went out with the coverage, before the resyncs; in sharded mode it
	 * goes once every node's link is back. */
	if (!ready && !down_told) {
		down_told = 1;
		session_status_all(w, 0);
	} else if (ready && down_told) {
		down_told = 0;
		session_status_all(w, 1);
	}
}

/* Pattern modes: watching everything under the prefix again (reported
 * before the registry confirms the channels): the pages hear that Redis is
 * back before their resyncs. */
static void on_coverage(void *owner, int64_t since_ms)
{
	struct lg_worker *w = owner;

	if (since_ms >= 0 && down_told) {
		down_told = 0;
		session_status_all(w, 1);
	}
}

static void on_observe(void *owner, const char *name, size_t len)
{
	struct lg_worker *w = owner;

	lg_catchup_seen(w->catchup, name, len, lg_wall_ms());
}

static const struct ps_sub_events events = {
	.link = on_link,
	.ready = on_ready,
	.coverage = on_coverage,
	.observe = on_observe,
};

int redis_glue_start(struct lg_worker *w)
{
	struct ps_sub_params p = {
		.to = lg_config_redis_target(w->cfg),
		/* A quiet link is PINGed after 1.5 s and dead 1.5 s after that:
		 * a hung Redis shows in /readyz within 3 s (a link that delivers,
		 * or has bytes unread, is alive however late its answers). */
		.idle_ms = 1500,
		.dead_ms = 1500,
	};
	char err[256];

	w->catchup = lg_catchup_new(((uint64_t)random() << 32) ^ (uint64_t)random() ^ lg_now_ns());
	if (!w->catchup) {
		lg_log_msg(LG_LOG_ERROR, "worker", "out of memory creating the catch-up table");
		return -1;
	}
	ps_loop_ev(&loop_seam, w->loop);
	w->redis = ps_sub_new(&p, w->reg, &loop_seam, &events, w, err, sizeof err);
	if (!w->redis) {
		lg_log_msg(LG_LOG_ERROR, "redis", err);
		return -1;
	}
	ps_sub_start(w->redis);
	return 0;
}

int64_t redis_glue_covered_since(struct lg_worker *w, const char *name, size_t len)
{
	return w->redis ? ps_sub_covered_since(w->redis, name, len) : -1;
}

void redis_glue_stop(struct lg_worker *w)
{
	ps_sub_free(w->redis);
	w->redis = NULL;
	lg_catchup_free(w->catchup);
	w->catchup = NULL;
}
