/* worker/redis_glue.c - the Redis subscriber on the worker's loop (see
 * redis_glue.h). */
#include "redis_glue.h"
#include "log.h"
#include "session.h"

#include <hiredis/adapters/libev.h>

static ev_timer redis_timer;
static int ever_up;     /* an up before this one: a reconnect */
static int down_told;   /* sessions were told Redis is down */

static int hook_attach(void *loop, redisAsyncContext *ac)
{
	struct lg_worker *w = loop;

	return redisLibevAttach(w->loop, ac) == REDIS_OK ? 0 : -1;
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct lg_worker *w = t->data;

	(void)loop;
	(void)revents;
	ps_redis_timer(w->redis);
}

static void hook_arm_timer(void *loop, unsigned ms)
{
	struct lg_worker *w = loop;

	if (!ms)
		ev_timer_stop(w->loop, &redis_timer);
	else
		lg_timer_arm(w->loop, &redis_timer, ms);
}

static void hook_link_event(void *loop, enum ps_link_event ev, const char *detail,
                            unsigned retry_ms)
{
	struct lg_worker *w = loop;
	struct lg_logline l;
	int level = ev == PS_LINK_UP ? LG_LOG_INFO : ev == PS_LINK_DOWN ? LG_LOG_ERROR : LG_LOG_WARN;

	if (ev == PS_LINK_UP) {
		if (ever_up)
			lg_add(&w->st->redis_reconnects, 1);
		ever_up = 1;
		w->redis_up = 1;
		lg_set(&w->st->redis_up, 1);
	} else {
		w->redis_up = 0;
		lg_set(&w->st->redis_up, 0);
	}
	if (lg_log_begin(&l, level, ev == PS_LINK_UP ? "redis_up" :
	                            ev == PS_LINK_DOWN ? "redis_down" : "redis_retry")) {
		lg_log_str(&l, "host", w->cfg->redis.host);
		lg_log_int(&l, "port", w->cfg->redis.port);
		if (ev != PS_LINK_UP) {
			lg_log_str(&l, "reason", detail);
			lg_log_int(&l, "retry_ms", retry_ms);
		}
		lg_log_end(&l);
	}
	/* Pages show it (livegate:degraded) if it lasts; the resyncs follow
	 * the 'up' once the channels are back. */
	if (ev == PS_LINK_DOWN && !down_told) {
		down_told = 1;
		session_status_all(w, 0);
	} else if (ev == PS_LINK_UP && down_told) {
		down_told = 0;
		session_status_all(w, 1);
	}
}

static const struct ps_redis_hooks hooks = { hook_attach, hook_arm_timer, hook_link_event };

int redis_glue_start(struct lg_worker *w)
{
	struct ps_redis_params rp = {
		.url = w->cfg->redis,
		.prefix = w->cfg->channel_prefix,
		.connect_timeout_ms = 5000,
		.heartbeat_ms = 2000,   /* a hang is noticed within 2-4 s */
		.backoff_base_ms = 200,
		.backoff_cap_ms = 10000,
	};

	ev_timer_init(&redis_timer, on_timer, 0., 0.);
	redis_timer.data = w;
	w->redis = ps_redis_new(&rp, w->reg, &hooks, w);
	if (!w->redis)
		return -1;
	ps_redis_start(w->redis);
	return 0;
}

int64_t redis_glue_covered_since(struct lg_worker *w, const char *name, size_t len)
{
	(void)w;
	(void)name;
	(void)len;
	return -1;   /* hiredis's per-channel SUBSCRIBE sees only joined channels */
}

void redis_glue_stop(struct lg_worker *w)
{
	ev_timer_stop(w->loop, &redis_timer);
	ps_redis_free(w->redis);
	w->redis = NULL;
}
