/* common/metrics.c - shared counters and their Prometheus rendering. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

const double lg_hist_bounds[LG_HIST_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
};

static const char *const close_labels[LG_CLOSE_COUNT] = {
	"1000", "1001", "1006", "1012", "1013", "4001", "4002", "4003", "4008", "other"
};

struct lg_shared *lg_metrics_attach(int fd)
{
	void *p = mmap(NULL, sizeof(struct lg_shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

struct lg_shared *lg_metrics_create(int *fd)
{
	struct lg_shared *s;
	int saved;

	*fd = memfd_create("livegate-metrics", MFD_CLOEXEC);
	if (*fd < 0)
		return NULL;
	if (ftruncate(*fd, sizeof(struct lg_shared)) < 0 || !(s = lg_metrics_attach(*fd))) {
		saved = errno;
		close(*fd);
		errno = saved;
		return NULL;
	}
	return s;   /* a fresh memfd reads as zeroes */
}

enum lg_close_idx lg_close_index(int code)
{
	switch (code) {
	case 1000: return LG_CLOSE_1000;
	case 1001: return LG_CLOSE_1001;
	case 1006: return LG_CLOSE_1006;
	case 1012: return LG_CLOSE_1012;
	case 1013: return LG_CLOSE_1013;
	case 4001: return LG_CLOSE_4001;
	case 4002: return LG_CLOSE_4002;
	case 4003: return LG_CLOSE_4003;
	case 4008: return LG_CLOSE_4008;
	default:   return LG_CLOSE_OTHER;
	}
}

void lg_metrics_observe(struct lg_worker_stats *w, uint64_t ns, uint64_t n)
{
	double s = (double)ns / 1e9;
	int i = 0;

	while (i < LG_HIST_BUCKETS && s > lg_hist_bounds[i])
		i++;
	lg_add(&w->hist[i], n);
	lg_add(&w->hist_sum_ns, ns * n);
}

void lg_metrics_worker_gone(struct lg_worker_stats *w)
{
	lg_set(&w->connections, 0);
	lg_set(&w->channels, 0);
	lg_set(&w->redis_up, 0);
	atomic_store(&w->pid, 0);
}

/* A growable text buffer; `failed` sticks after an allocation failure. */
struct buf {
	char  *p;
	size_t len, cap;
	int    failed;
};

static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap * 2 + (size_t)n;
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

/* Sums one per-worker field given its byte offset in the struct. */
static uint64_t sum_at(const struct lg_shared *s, size_t off)
{
	uint64_t t = 0;

	for (int i = 0; i < LG_MAX_WORKERS; i++)
		t += lg_get((const lg_counter *)((const char *)&s->w[i] + off));
	return t;
}

#define SUM(s, field) sum_at((s), offsetof(struct lg_worker_stats, field))

static void metric(struct buf *b, const char *name, const char *type,
                   const char *help, uint64_t v)
{
	bprintf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type,
	        name, (unsigned long long)v);
}

int lg_metrics_render(const struct lg_shared *s, char **out, size_t *len)
{
	struct buf b = { malloc(8192), 0, 8192, 0 };
	uint64_t cum = 0;

	if (!b.p)
		return -1;
	metric(&b, "livegate_connections", "gauge", "Open client connections (WebSockets and event streams).", SUM(s, connections));
	metric(&b, "livegate_channels", "gauge", "Channels subscribed in Redis, summed over workers.", SUM(s, channels));
	metric(&b, "livegate_redis_connected", "gauge", "Workers whose Redis subscriber link is up.", SUM(s, redis_up));
	metric(&b, "livegate_workers", "gauge", "Worker processes configured.", (uint64_t)atomic_load(&s->n_workers));
	metric(&b, "livegate_draining", "gauge", "1 while draining after SIGTERM.", (uint64_t)atomic_load(&s->draining));
	metric(&b, "livegate_connections_total", "counter", "Client connections accepted (WebSockets and event streams).", SUM(s, connections_total));
	metric(&b, "livegate_redis_messages_total", "counter", "Messages received from Redis.", SUM(s, redis_messages));
	metric(&b, "livegate_frames_delivered_total", "counter", "Invalidate frames written to sockets.", SUM(s, frames_delivered));
	metric(&b, "livegate_invalidations_coalesced_total", "counter", "Invalidations a slow client did not get one by one: it got one marked coalesced per channel instead.", SUM(s, invalidations_coalesced));
	metric(&b, "livegate_catchup_missed_total", "counter", "Invalidations marked missed sent right after subscribed: a publish between a page's render and its subscription, or one livegate could not rule out.", SUM(s, catchup_missed));
	metric(&b, "livegate_clients_parked_total", "counter", "Times a client fell so far behind that its queue filled: parked until its socket drains.", SUM(s, clients_parked));
	metric(&b, "livegate_slow_clients_closed_total", "counter", "Clients closed because their socket stayed choked.", SUM(s, slow_closed));
	metric(&b, "livegate_partial_writes_total", "counter", "Frames the kernel took only in part (the rest waits in user space): a sign of slow readers.", SUM(s, partial_writes));
	metric(&b, "livegate_payload_too_large_total", "counter", "Redis messages forwarded with data null because they were too large.", SUM(s, payload_too_large));
	metric(&b, "livegate_origin_rejected_total", "counter", "WebSocket handshakes and event-stream requests refused for their Origin.", SUM(s, origin_rejected));
	metric(&b, "livegate_over_capacity_total", "counter", "Connections closed with 1013 past LIVEGATE_MAX_CONNECTIONS.", SUM(s, over_capacity));
	metric(&b, "livegate_redis_reconnects_total", "counter", "Redis subscriber links re-established after a loss.", SUM(s, redis_reconnects));
	metric(&b, "livegate_tokens_issued_total", "counter", "Tokens issued by POST /v1/tokens.", lg_get(&s->tokens_issued));
	metric(&b, "livegate_api_publishes_total", "counter", "Messages published through POST /v1/publish.", lg_get(&s->api_publishes));
	metric(&b, "livegate_api_publish_errors_total", "counter", "POST /v1/publish answered 503 because Redis did not take the message.", lg_get(&s->api_errors));
	metric(&b, "livegate_worker_restarts_total", "counter", "Worker processes restarted after dying.", lg_get(&s->worker_restarts));

	bprintf(&b, "# HELP livegate_auth_failures_total Tokens refused, by reason.\n"
	            "# TYPE livegate_auth_failures_total counter\n");
	for (int i = 1; i < LG_TOKEN_STATUS_COUNT; i++)
		bprintf(&b, "livegate_auth_failures_total{reason=\"%s\"} %llu\n",
		        lg_token_status_name((enum lg_token_status)i),
		        (unsigned long long)sum_at(s, offsetof(struct lg_worker_stats, auth_failures) +
		                                      (size_t)i * sizeof(lg_counter)));
	bprintf(&b, "# HELP livegate_closes_total WebSocket closes, by close code sent or received.\n"
	            "# TYPE livegate_closes_total counter\n");
	for (int i = 0; i < LG_CLOSE_COUNT; i++)
		bprintf(&b, "livegate_closes_total{code=\"%s\"} %llu\n", close_labels[i],
		        (unsigned long long)sum_at(s, offsetof(struct lg_worker_stats, closes) +
		                                      (size_t)i * sizeof(lg_counter)));
	bprintf(&b, "# HELP livegate_delivery_seconds Time from reading a message from Redis to writing it to a socket.\n"
	            "# TYPE livegate_delivery_seconds histogram\n");
	for (int i = 0; i <= LG_HIST_BUCKETS; i++) {
		cum += sum_at(s, offsetof(struct lg_worker_stats, hist) + (size_t)i * sizeof(lg_counter));
		if (i < LG_HIST_BUCKETS)
			bprintf(&b, "livegate_delivery_seconds_bucket{le=\"%g\"} %llu\n", lg_hist_bounds[i],
			        (unsigned long long)cum);
		else
			bprintf(&b, "livegate_delivery_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	bprintf(&b, "livegate_delivery_seconds_sum %.9f\nlivegate_delivery_seconds_count %llu\n",
	        (double)SUM(s, hist_sum_ns) / 1e9, (unsigned long long)cum);
	if (b.failed) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
