/* gateway/main.c - the livegate process: reads the settings, binds the
 * public port once per worker (SO_REUSEPORT), forks the workers, serves the
 * private API on its own threads, restarts workers that die, and drains
 * everything on SIGTERM. */
#include "api.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RESTART_MIN_MS  100
#define RESTART_MAX_MS  5000
#define STABLE_MS       10000   /* a worker up this long resets its backoff */
#define KILL_GRACE_MS   2000    /* past the drain window: SIGKILL */

/* Global so that a forked worker, which never stops main's API, still
 * reaches it from a root (no leak report for memory it cannot free). */
struct lg_api *lg_main_api;   /* not static: a store to it must survive optimisation */

struct slot {
	pid_t    pid;
	int      listen_fd;
	uint64_t started_ms;
	uint64_t restart_at_ms;   /* 0: none scheduled */
	unsigned backoff_ms;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Returns a listening socket bound to a (SO_REUSEPORT, so every worker has
 * its own accept queue on the same port), or -1 with err set. */
static int listen_on(const struct lg_addr *a, char *err, size_t n)
{
	int one = 1;
	int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, n, "LIVEGATE_PUBLIC_ADDR: socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
	    bind(fd, (const struct sockaddr *)&a->sa, a->len) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		snprintf(err, n, "LIVEGATE_PUBLIC_ADDR: cannot listen on %s: %s", a->text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Warns when the open-file limit cannot hold LIVEGATE_MAX_CONNECTIONS: the
 * usual cause of "connections refused" under load. */
static void check_fd_limit(const struct lg_config *cfg)
{
	struct rlimit rl;
	struct lg_logline l;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= (rlim_t)cfg->max_connections + LG_FD_RESERVE)
		return;
	if (lg_log_begin(&l, LG_LOG_WARN, "fd_limit_low")) {
		lg_log_int(&l, "nofile", (long long)rl.rlim_cur);
		lg_log_int(&l, "max_connections", cfg->max_connections);
		lg_log_int(&l, "connections_possible", (long long)rl.rlim_cur - LG_FD_RESERVE);
		lg_log_str(&l, "fix", "raise the open-file limit (ulimit -n, LimitNOFILE, compose ulimits) "
		                      "or lower LIVEGATE_MAX_CONNECTIONS");
		lg_log_end(&l);
	}
}

static void log_start(const struct lg_config *cfg)
{
	struct lg_logline l;
	char origins[512] = "";
	size_t o = 0;

	if (!lg_log_begin(&l, LG_LOG_INFO, "start"))
		return;
	for (size_t i = 0; i < cfg->n_origins && o < sizeof origins; i++)
		o += (size_t)snprintf(origins + o, sizeof origins - o, "%s%s", i ? "," : "", cfg->origins[i]);
	lg_log_str(&l, "version", LIVEGATE_VERSION);
	lg_log_str(&l, "public", cfg->public_addr.text);
	lg_log_str(&l, "private", cfg->private_addr.text);
	lg_log_str(&l, "redis_host", cfg->redis.host);
	lg_log_int(&l, "redis_port", cfg->redis.port);
	lg_log_int(&l, "redis_db", cfg->redis.db);
	lg_log_str(&l, "redis_password", cfg->redis.password[0] ? "set" : "none");
	lg_log_str(&l, "secret_source", cfg->secret ? "LIVEGATE_SECRET" : cfg->secrets ?
	           "LIVEGATE_SECRETS" : "LIVEGATE_SECRETS_FILE");
	lg_log_str(&l, "api_key", cfg->api_key ? "set" : "none (API answers 401)");
	lg_log_str(&l, "allowed_origins", cfg->any_origin ? "*" : origins);
	lg_log_str(&l, "channel_prefix", cfg->channel_prefix);
	lg_log_int(&l, "token_ttl", cfg->token_ttl);
	lg_log_int(&l, "workers", cfg->workers);
	lg_log_int(&l, "max_connections", cfg->max_connections);
	lg_log_int(&l, "drain_ms", cfg->drain_ms);
	lg_log_end(&l);
}

/* Forks worker i. Returns the pid in the parent; in the child, runs the
 * worker and stores its exit code in *child_rc, returning 0. */
static pid_t spawn(const struct lg_config *cfg, struct lg_shared *shm, struct slot *slots,
                   int i, int api_fd, pid_t main_pid, int *child_rc)
{
	pid_t pid = fork();

	if (pid < 0) {
		lg_log_msg(LG_LOG_ERROR, "fork_failed", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		slots[i].pid = pid;
		slots[i].started_ms = mono_ms();
		slots[i].restart_at_ms = 0;
		return pid;
	}
	/* The worker dies with main, whatever killed main. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != main_pid) {
		*child_rc = 1;
		return 0;
	}
	for (int k = 0; k < (int)cfg->workers; k++)
		if (k != i && slots[k].listen_fd >= 0)
			close(slots[k].listen_fd);
	if (api_fd >= 0)
		close(api_fd);
	*child_rc = lg_worker_run(cfg, shm, i, slots[i].listen_fd);
	return 0;
}

/* Reaps dead workers and schedules their restart (unless draining). */
static void reap(struct lg_shared *shm, struct slot *slots, unsigned n, int draining)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct lg_logline l;
			uint64_t now = mono_ms();
			if (slots[i].pid != pid)
				continue;
			slots[i].pid = 0;
			lg_metrics_worker_gone(&shm->w[i]);
			if (draining)
				break;
			if (now - slots[i].started_ms > STABLE_MS)
				slots[i].backoff_ms = RESTART_MIN_MS;
			slots[i].restart_at_ms = now + slots[i].backoff_ms;
			if (lg_log_begin(&l, LG_LOG_ERROR, "worker_died")) {
				lg_log_int(&l, "worker", i + 1);
				lg_log_int(&l, "pid", pid);
				if (WIFSIGNALED(status))
					lg_log_int(&l, "signal", WTERMSIG(status));
				else
					lg_log_int(&l, "exit_code", WEXITSTATUS(status));
				lg_log_int(&l, "restart_in_ms", slots[i].backoff_ms);
				lg_log_end(&l);
			}
			slots[i].backoff_ms = slots[i].backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS
			                                                              : slots[i].backoff_ms * 2;
		}
	}
}

static void reload_keys(const struct lg_config *cfg, struct lg_api *api)
{
	struct lg_keyring *kr;
	char err[256];

	if (lg_keys_load(cfg, &kr, err, sizeof err) < 0) {
		lg_log_msg(LG_LOG_ERROR, "keys_reload_failed", err);
		return;
	}
	lg_api_set_keys(api, kr);
	lg_log_msg(LG_LOG_INFO, "keys_reloaded", NULL);
}

/* Supervises the workers until they have all exited after SIGTERM.
 * Returns 0 when every worker exited in time. */
static int supervise(const struct lg_config *cfg, struct lg_shared *shm, struct slot *slots,
                     struct lg_api *api, const sigset_t *sigs, pid_t main_pid, int *is_child)
{
	unsigned n = cfg->workers;
	uint64_t kill_at = 0;
	int draining = 0, rc = 0;

	for (;;) {
		struct timespec to = { 0, 100 * 1000000L };
		siginfo_t si;
		int sig = sigtimedwait(sigs, &si, &to);
		unsigned alive = 0;
		uint64_t now;

		if (sig == SIGCHLD)
			reap(shm, slots, n, draining);
		else if (sig == SIGHUP && cfg->secrets_file) {
			reload_keys(cfg, api);
			for (unsigned i = 0; i < n; i++)
				if (slots[i].pid > 0)
					kill(slots[i].pid, SIGHUP);
		} else if ((sig == SIGTERM || sig == SIGINT) && !draining) {
			draining = 1;
			atomic_store(&shm->draining, 1);
			lg_log_msg(LG_LOG_INFO, "drain", "stopping: workers close their clients with 1012");
			kill_at = mono_ms() + cfg->drain_ms + KILL_GRACE_MS;
			for (unsigned i = 0; i < n; i++) {
				if (slots[i].pid > 0)
					kill(slots[i].pid, SIGTERM);
				/* No new connections may queue on a socket nobody serves. */
				close(slots[i].listen_fd);
				slots[i].listen_fd = -1;
			}
		}
		reap(shm, slots, n, draining);
		now = mono_ms();
		for (unsigned i = 0; i < n; i++) {
			if (slots[i].pid > 0) {
				alive++;
				continue;
			}
			if (!draining && slots[i].restart_at_ms && now >= slots[i].restart_at_ms) {
				int child_rc = 0;
				lg_add(&shm->worker_restarts, 1);
				if (spawn(cfg, shm, slots, (int)i, lg_api_listen_fd(api), main_pid, &child_rc) == 0) {
					*is_child = 1;
					return child_rc;
				}
				alive++;
			}
		}
		if (draining && !alive)
			return rc;
		if (draining && now >= kill_at) {
			lg_log_msg(LG_LOG_ERROR, "drain_timeout", "workers still running after the drain window; killing");
			for (unsigned i = 0; i < n; i++)
				if (slots[i].pid > 0)
					kill(slots[i].pid, SIGKILL);
			rc = 1;
			kill_at = now + 60000;
		}
	}
}

int main(int argc, char **argv)
{
	struct lg_config cfg;
	struct lg_shared *shm;
	struct lg_keyring *keys;
	struct lg_api *api;
	struct slot slots[LG_MAX_WORKERS];
	char err[512];
	sigset_t sigs;
	pid_t main_pid = getpid();
	int rc, is_child = 0;

	rc = lg_config_load(&cfg, argc, argv, NULL, stdout, err, sizeof err);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "livegate: %s\n", err);
		lg_config_free(&cfg);
		return rc < 0 ? 2 : 0;
	}
	if (lg_keys_load(&cfg, &keys, err, sizeof err) < 0) {
		fprintf(stderr, "livegate: %s\n", err);
		lg_config_free(&cfg);
		return 2;
	}
	lg_log_setup(cfg.log_level, cfg.log_format == LG_LOG_JSON, "main");
	/* Signals are taken synchronously (sigtimedwait here, signalfd in the
	 * workers), so block them before any thread or child exists. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	shm = lg_metrics_create();
	if (!shm) {
		fprintf(stderr, "livegate: cannot map shared memory for metrics: %s\n", strerror(errno));
		lg_keyring_free(keys);
		lg_config_free(&cfg);
		return 1;
	}
	atomic_store(&shm->n_workers, (int)cfg.workers);
	memset(slots, 0, sizeof slots);
	for (unsigned i = 0; i < cfg.workers; i++) {
		slots[i].backoff_ms = RESTART_MIN_MS;
		slots[i].listen_fd = listen_on(&cfg.public_addr, err, sizeof err);
		if (slots[i].listen_fd < 0) {
			fprintf(stderr, "livegate: %s\n", err);
			while (i--)
				close(slots[i].listen_fd);
			lg_keyring_free(keys);
			lg_config_free(&cfg);
			return 1;
		}
	}
	log_start(&cfg);
	check_fd_limit(&cfg);
	/* Workers first: a child forked before the API's threads exist carries
	 * none of their state. */
	for (unsigned i = 0; i < cfg.workers && !is_child; i++) {
		int child_rc = 0;
		if (spawn(&cfg, shm, slots, (int)i, -1, main_pid, &child_rc) == 0) {
			is_child = 1;
			rc = child_rc;
		} else if (slots[i].pid <= 0) {
			slots[i].restart_at_ms = mono_ms() + slots[i].backoff_ms;
		}
	}
	if (is_child) {
		lg_keyring_free(keys);   /* main's copy; the worker loaded its own */
		lg_config_free(&cfg);
		return rc;
	}
	api = lg_main_api = lg_api_start(&cfg, shm, keys, err, sizeof err);
	if (!api) {
		fprintf(stderr, "livegate: %s\n", err);
		for (unsigned i = 0; i < cfg.workers; i++) {
			if (slots[i].pid > 0) {
				kill(slots[i].pid, SIGKILL);
				waitpid(slots[i].pid, NULL, 0);
			}
			close(slots[i].listen_fd);
		}
		lg_config_free(&cfg);
		return 1;
	}
	if (!is_child)
		rc = supervise(&cfg, shm, slots, api, &sigs, main_pid, &is_child);
	if (is_child) {
		/* A worker leaves main's API threads alone: they do not exist here. */
		lg_config_free(&cfg);
		return rc;
	}
	lg_api_stop(api);
	lg_log_msg(LG_LOG_INFO, "exit", NULL);
	lg_config_free(&cfg);
	munmap(shm, sizeof *shm);
	return rc;
}
