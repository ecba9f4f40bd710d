/* tests/redis/lgredis_pub.c - a test driver for livegate's blocking
 * publisher (publisher.h), as the private API's threads use it.
 *
 * stdin:  pub <channel> <payload>   one publish on this thread's publisher
 *         burst <threads> <count> <channel>
 *                                   count publishes from each of threads
 *                                   threads, each with its own publisher
 *         quit
 * stdout: ok <receivers> <ms> | err <ms> <reason> | burst ok=<n> err=<n> | bye
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "publisher.h"

static struct ps_pub_params params;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

struct burst {
	pthread_t   tid;
	int         count, ok, err;
	const char *channel;
	char        why[256];
};

static void *burst_thread(void *arg)
{
	struct burst *b = arg;
	char err[256], payload[32];
	struct ps_pub *pb = ps_pub_new(&params, err, sizeof err);

	if (!pb) {
		b->err = b->count;
		snprintf(b->why, sizeof b->why, "%s", err);
		return NULL;
	}
	for (int i = 0; i < b->count; i++) {
		snprintf(payload, sizeof payload, "%d", i);
		if (ps_pub_publish(pb, b->channel, strlen(b->channel), payload, strlen(payload), err,
		                   sizeof err) >= 0) {
			b->ok++;
		} else {
			b->err++;
			snprintf(b->why, sizeof b->why, "%s", err);
		}
	}
	ps_pub_free(pb);
	return NULL;
}

static void burst(int threads, int count, const char *channel)
{
	struct burst *b = calloc((size_t)threads, sizeof *b);
	int ok = 0, err = 0;

	if (!b || threads < 1) {
		printf("err 0 bad burst\n");
		free(b);
		return;
	}
	for (int i = 0; i < threads; i++) {
		b[i].count = count;
		b[i].channel = channel;
		if (pthread_create(&b[i].tid, NULL, burst_thread, &b[i]) != 0)
			b[i].err = count, b[i].tid = 0;
	}
	for (int i = 0; i < threads; i++) {
		if (b[i].tid)
			pthread_join(b[i].tid, NULL);
		ok += b[i].ok;
		err += b[i].err;
		if (b[i].err)
			fprintf(stderr, "burst thread %d: %s\n", i, b[i].why);
	}
	printf("burst ok=%d err=%d\n", ok, err);
	free(b);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", 1, 0, 'u' }, { "prefix", 1, 0, 'p' }, { "cluster-pubsub", 1, 0, 'c' },
		{ "tls-ca", 1, 0, 'A' }, { "tls-cert", 1, 0, 'C' }, { "tls-key", 1, 0, 'K' },
		{ "timeout-ms", 1, 0, 't' }, { 0, 0, 0, 0 },
	};
	static char line[70000], ch[512], payload[65536];
	struct ps_redis_url url;
	struct ps_pub *pb;
	const char *url_s = NULL;
	char err[512];
	int o, threads, count;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u': url_s = optarg; break;
		case 'p': params.to.prefix = optarg; break;
		case 'c': params.to.cluster_pubsub = strcmp(optarg, "global") == 0 ? PS_CLUSTER_GLOBAL
		                                                                 : PS_CLUSTER_SHARDED;
		          break;
		case 'A': params.to.tls_ca = optarg; break;
		case 'C': params.to.tls_cert = optarg; break;
		case 'K': params.to.tls_key = optarg; break;
		case 't': params.timeout_ms = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	if (!url_s || ps_redis_url_parse(url_s, &url, err, sizeof err) < 0) {
		printf("error url: %s\n", url_s ? err : "--url is required");
		return 2;
	}
	params.to.url = &url;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pb = ps_pub_new(&params, err, sizeof err);
	if (!pb) {
		printf("error start: %s\n", err);
		return 1;
	}
	printf("started\n");
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "pub %511s %65535[^\n]", ch, payload) == 2) {
			double t0 = now_ms();
			long long n = ps_pub_publish(pb, ch, strlen(ch), payload, strlen(payload), err,
			                             sizeof err);
			if (n >= 0)
				printf("ok %lld %.0f\n", n, now_ms() - t0);
			else
				printf("err %.0f %s\n", now_ms() - t0, err);
		} else if (sscanf(line, "burst %d %d %511s", &threads, &count, ch) == 3) {
			burst(threads, count, ch);
		} else if (strcmp(line, "quit") == 0) {
			break;
		} else {
			printf("error unknown command: %s\n", line);
		}
	}
	ps_pub_free(pb);
	printf("bye\n");
	return 0;
}
