/* tests/redis/lgredis_drive.c - a test driver for livegate's Redis
 * subscriber: the real registry and ps_sub on a plain libev loop through
 * the libev seam (loop_ev.h), driven by lines on stdin and reporting what
 * happens as lines on stdout, so that Python tests can run it against real
 * servers.
 *
 * stdin:  sub <id> <ch>[,<ch>...]   subscriber id follows these channels
 *         unsub <id>                 ... and leaves them all
 *         covered <ch>               prints "covered <ch> <since_ms>"
 *         stats                      prints the counters
 *         block <ms>                 busy-waits on the loop (a stalled worker)
 *         quit                       frees everything and exits 0
 * stdout: link <up|down|retry> <data|sentinel|control> <addr> cause=<c> retry=<ms> detail=<...>
 *         ready <0|1> | coverage <since_ms|-1> | subscribed <id>
 *         msg <ch> <members reached> <payload> | resync <ch> <members reached>
 *         obs <ch> (--observe) | tick <n> (--tick-ms) | stats ... | error ...
 */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop_ev.h"
#include "registry.h"
#include "sub.h"

#define MAX_SUBS  4096
#define MAX_CHANS 64

struct client {
	struct ps_subscriber sub;
	struct ps_membership m[MAX_CHANS];
	int                  n;
	int                  id;
};

static struct client       *clients[MAX_SUBS];
static struct ps_registry  *reg;
static struct ps_sub       *sub;
static struct ev_loop      *loop;
static int                  print_observe, print_msgs = 1;
static unsigned             work_us;
static char                 line[65536];
static size_t               line_len;

static void busy_us(unsigned us)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < (long)us);
}

/* Members of ch confirmed now (those fan-out reaches). */
static size_t reached(struct ps_channel *ch)
{
	size_t n, k = 0;
	const struct ps_member *v = ps_channel_members(ch, &n);

	for (size_t i = 0; i < n; i++)
		k += v[i].m->confirmed;
	return k;
}

static void on_ready(void *ctx, struct ps_subscriber *s)
{
	(void)ctx;
	printf("subscribed %d\n", ((struct client *)s)->id);
}

static void on_message(void *ctx, struct ps_channel *ch, const char *p, size_t plen)
{
	size_t len;
	const char *name = ps_channel_name(ch, &len);

	(void)ctx;
	if (work_us)
		busy_us(work_us);
	if (!p) {
		printf("resync %.*s %zu\n", (int)len, name, reached(ch));
		return;
	}
	if (print_msgs) {
		printf("msg %.*s %zu ", (int)len, name, reached(ch));
		for (size_t i = 0; i < plen; i++)
			putchar(p[i] == '\n' ? ' ' : p[i]);
		putchar('\n');
	}
}

static const char *role_name(enum ps_link_role r)
{
	return r == PS_ROLE_DATA ? "data" : r == PS_ROLE_SENTINEL ? "sentinel" : "control";
}

static void ev_link(void *owner, const struct ps_link_event *e)
{
	(void)owner;
	printf("link %s %s %s cause=%s retry=%u detail=%s\n",
	       e->state == PS_LINK_UP ? "up" : e->state == PS_LINK_DOWN ? "down" : "retry",
	       role_name(e->role), e->addr[0] ? e->addr : "-",
	       e->state == PS_LINK_UP ? "-" : ps_conn_fail_name(e->cause), e->retry_ms, e->detail);
}

static void ev_ready(void *owner, int ready)
{
	(void)owner;
	printf("ready %d\n", ready);
}

static void ev_coverage(void *owner, int64_t since)
{
	(void)owner;
	printf("coverage %lld\n", (long long)since);
}

static void ev_observe(void *owner, const char *name, size_t len)
{
	(void)owner;
	if (print_observe)
		printf("obs %.*s\n", (int)len, name);
}

static struct client *client(int id)
{
	if (id < 0 || id >= MAX_SUBS)
		return NULL;
	if (!clients[id]) {
		clients[id] = calloc(1, sizeof *clients[id]);
		if (clients[id])
			clients[id]->id = id;
	}
	return clients[id];
}

static void leave_all(struct client *c)
{
	for (int i = 0; i < c->n; i++)
		ps_leave(reg, &c->m[i]);
	c->n = 0;
}

static void cmd_sub(int id, char *chans)
{
	struct client *c = client(id);
	char *save = NULL;

	if (!c) {
		printf("error bad subscriber %d\n", id);
		return;
	}
	leave_all(c);
	for (char *ch = strtok_r(chans, ",", &save); ch && c->n < MAX_CHANS;
	     ch = strtok_r(NULL, ",", &save)) {
		if (ps_join(reg, &c->sub, &c->m[c->n], ch, strlen(ch)) < 0) {
			printf("error join %d %s\n", id, ch);
			continue;
		}
		c->n++;
	}
	if (c->sub.pending == 0)
		printf("subscribed %d\n", id);
}

static void cmd_stats(void)
{
	struct ps_sub_stats st;

	ps_sub_stats(sub, &st);
	printf("stats messages=%llu reconnects=%llu link_downs=%llu links_up=%u links=%u "
	       "ready=%d channels=%zu\n", (unsigned long long)st.messages,
	       (unsigned long long)st.reconnects, (unsigned long long)st.link_downs,
	       st.links_up, st.links, ps_sub_ready(sub), ps_registry_channel_count(reg));
}

static void command(char *l)
{
	char arg[65536];
	int id;
	unsigned ms;

	if (sscanf(l, "sub %d %65535s", &id, arg) == 2)
		cmd_sub(id, arg);
	else if (sscanf(l, "unsub %d", &id) == 1 && client(id))
		leave_all(client(id));
	else if (sscanf(l, "covered %65535s", arg) == 1)
		printf("covered %s %lld\n", arg,
		       (long long)ps_sub_covered_since(sub, arg, strlen(arg)));
	else if (strcmp(l, "stats") == 0)
		cmd_stats();
	else if (sscanf(l, "block %u", &ms) == 1) {
		printf("blocking %u\n", ms);
		fflush(stdout);
		busy_us(ms * 1000u);
	}
	else if (strcmp(l, "quit") == 0)
		ev_break(loop, EVBREAK_ALL);
	else
		printf("error unknown command: %s\n", l);
}

static void on_stdin(struct ev_loop *lp, ev_io *w, int revents)
{
	ssize_t n;

	(void)revents;
	n = read(w->fd, line + line_len, sizeof line - 1 - line_len);
	if (n <= 0) {
		if (n < 0 && errno == EINTR)
			return;
		ev_break(lp, EVBREAK_ALL);   /* the test went away */
		return;
	}
	line_len += (size_t)n;
	for (;;) {
		char *nl = memchr(line, '\n', line_len);
		size_t used;
		if (!nl)
			break;
		*nl = '\0';
		command(line);
		used = (size_t)(nl - line) + 1;
		memmove(line, nl + 1, line_len - used);
		line_len -= used;
	}
	if (line_len == sizeof line - 1)
		line_len = 0;   /* an overlong line: dropped */
	fflush(stdout);
}

static unsigned ticks;

static void on_tick(struct ev_loop *lp, ev_timer *t, int revents)
{
	(void)lp;
	(void)t;
	(void)revents;
	printf("tick %u\n", ++ticks);
	fflush(stdout);
}

/* libev runs callbacks; stdout is flushed after each loop iteration's work. */
static void on_check(struct ev_loop *lp, ev_prepare *w, int revents)
{
	(void)lp;
	(void)w;
	(void)revents;
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: lgredis_drive --url URL [--prefix P] [--cluster-pubsub sharded|global]\n"
	        "  [--tls-ca F] [--tls-cert F] [--tls-key F] [--idle-ms N] [--dead-ms N]\n"
	        "  [--connect-timeout-ms N] [--backoff-base-ms N] [--backoff-cap-ms N]\n"
	        "  [--refresh-ms N] [--tick-ms N] [--work-us N] [--observe] [--no-msgs]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", 1, 0, 'u' }, { "prefix", 1, 0, 'p' }, { "cluster-pubsub", 1, 0, 'c' },
		{ "tls-ca", 1, 0, 'A' }, { "tls-cert", 1, 0, 'C' }, { "tls-key", 1, 0, 'K' },
		{ "idle-ms", 1, 0, 'i' }, { "dead-ms", 1, 0, 'd' }, { "connect-timeout-ms", 1, 0, 't' },
		{ "backoff-base-ms", 1, 0, 'b' }, { "backoff-cap-ms", 1, 0, 'B' },
		{ "refresh-ms", 1, 0, 'r' }, { "tick-ms", 1, 0, 'T' }, { "work-us", 1, 0, 'w' },
		{ "observe", 0, 0, 'o' }, { "no-msgs", 0, 0, 'n' }, { 0, 0, 0, 0 },
	};
	static const struct ps_events reg_events = { on_ready, on_message };
	static const struct ps_sub_events sub_events = { ev_link, ev_ready, ev_coverage, ev_observe };
	struct ps_sub_params p;
	struct ps_redis_url url;
	struct ps_loop l;
	const char *url_s = NULL;
	unsigned tick_ms = 0;
	char err[256];
	ev_io in;
	ev_timer tick;
	ev_prepare prep;
	int o;

	memset(&p, 0, sizeof p);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u': url_s = optarg; break;
		case 'p': p.to.prefix = optarg; break;
		case 'c': p.to.cluster_pubsub = strcmp(optarg, "global") == 0 ? PS_CLUSTER_GLOBAL
		                                                            : PS_CLUSTER_SHARDED; break;
		case 'A': p.to.tls_ca = optarg; break;
		case 'C': p.to.tls_cert = optarg; break;
		case 'K': p.to.tls_key = optarg; break;
		case 'i': p.idle_ms = (unsigned)atoi(optarg); break;
		case 'd': p.dead_ms = (unsigned)atoi(optarg); break;
		case 't': p.connect_timeout_ms = (unsigned)atoi(optarg); break;
		case 'b': p.backoff_base_ms = (unsigned)atoi(optarg); break;
		case 'B': p.backoff_cap_ms = (unsigned)atoi(optarg); break;
		case 'r': p.cluster_refresh_ms = (unsigned)atoi(optarg); break;
		case 'T': tick_ms = (unsigned)atoi(optarg); break;
		case 'w': work_us = (unsigned)atoi(optarg); break;
		case 'o': print_observe = 1; break;
		case 'n': print_msgs = 0; break;
		default: usage(); return 2;
		}
	}
	if (!url_s) {
		usage();
		return 2;
	}
	if (ps_redis_url_parse(url_s, &url, err, sizeof err) < 0) {
		printf("error url: %s\n", err);
		return 2;
	}
	p.to.url = &url;
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)getpid());
	loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	reg = ps_registry_new(&reg_events, NULL, 1u << 20);
	ps_loop_ev(&l, loop);
	sub = reg ? ps_sub_new(&p, reg, &l, &sub_events, NULL, err, sizeof err) : NULL;
	if (!sub) {
		printf("error start: %s\n", reg ? err : "out of memory");
		return 1;
	}
	ev_io_init(&in, on_stdin, 0, EV_READ);
	ev_io_start(loop, &in);
	ev_prepare_init(&prep, on_check);
	ev_prepare_start(loop, &prep);
	if (tick_ms) {
		ev_timer_init(&tick, on_tick, tick_ms / 1000.0, tick_ms / 1000.0);
		ev_timer_start(loop, &tick);
	}
	printf("started\n");
	fflush(stdout);
	ps_sub_start(sub);
	ev_run(loop, 0);

	for (int i = 0; i < MAX_SUBS; i++) {
		if (clients[i]) {
			leave_all(clients[i]);
			free(clients[i]);
		}
	}
	ps_sub_free(sub);
	ps_registry_free(reg);
	ev_io_stop(loop, &in);
	ev_prepare_stop(loop, &prep);
	if (tick_ms)
		ev_timer_stop(loop, &tick);
	ev_loop_destroy(loop);
	printf("bye\n");
	return 0;
}
