/* supervisor/main.c - the livegate process: reads the settings, binds the
 * public port once per worker (SO_REUSEPORT), forks the workers, serves the
 * private API on its own threads, restarts workers that die, and drains
 * everything on SIGTERM. */
#include "api.h"
#include "config.h"
#include "keys.h"
#include "listen.h"
#include "limits.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/close_range.h>
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
/* Asked of listen(); the kernel caps it at net.core.somaxconn, so raising
 * that sysctl is all a connect storm needs (SOMAXCONN would cap it at 4096). */
#define LISTEN_BACKLOG  65535

struct slot {
	pid_t    pid;
	int      listen_fd;
	uint64_t started_ms;
	uint64_t restart_at_ms;   /* 0: none scheduled */
	unsigned backoff_ms;
};

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
	lg_log_int(&l, "max_token_lifetime", cfg->max_token_lifetime);
	lg_log_int(&l, "render_slack_ms", cfg->render_slack_ms);
	lg_log_str(&l, "redis_tls_ca", cfg->redis_tls_ca ? cfg->redis_tls_ca : "system");
	lg_log_str(&l, "redis_tls_client_cert", cfg->redis_tls_cert ? "set" : "none");
	lg_log_str(&l, "redis_cluster_pubsub",
	           cfg->redis_cluster_pubsub == LG_CLUSTER_GLOBAL ? "global" : "sharded");
	lg_log_int(&l, "workers", cfg->workers);
	lg_log_int(&l, "max_connections", cfg->max_connections);
	lg_log_int(&l, "drain_ms", cfg->drain_ms);
	lg_log_end(&l);
}

/* Names every LIVEGATE_* variable that is no setting: a misspelt one would
 * otherwise leave its setting at the default without a word. A warning,
 * not a refusal (the contract), so a variable a newer livegate knows does
 * not stop an older one. Never the value: it may be a secret. */
static void warn_unknown_env(void)
{
	extern char **environ;
	struct lg_env_unknown u[16];
	size_t n = lg_config_unknown_env(environ, u, 16);
	struct lg_logline l;
	char hint[128];

	for (size_t i = 0; i < n && i < 16; i++) {
		if (!lg_log_begin(&l, LG_LOG_WARN, "unknown_setting"))
			return;
		lg_log_strn(&l, "variable", u[i].name, u[i].len);
		if (u[i].suggestion) {
			snprintf(hint, sizeof hint, "did you mean %s?", u[i].suggestion);
			lg_log_str(&l, "hint", hint);
		} else {
			lg_log_str(&l, "hint", "not a livegate setting (see livegate --help); ignored");
		}
		lg_log_end(&l);
	}
	if (n > 16 && lg_log_begin(&l, LG_LOG_WARN, "unknown_setting")) {
		lg_log_int(&l, "more_variables", (long long)(n - 16));
		lg_log_end(&l);
	}
}

/* The variable that makes an exec'd livegate a worker: "index,listen_fd,shm_fd".
 * Internal: set only by main for its own children. */
#define WORKER_ENV LG_ENV_INTERNAL_PREFIX "WORKER"

/* Starts worker i as a fresh exec of this binary, so it inherits none of
 * main's threads or their locks (a plain fork of a threaded process can
 * deadlock in the child), only its listening socket and the metrics
 * mapping. Returns the pid, or -1. */
static pid_t spawn(struct slot *slots, int i, int shm_fd, pid_t main_pid, const char *exe,
                   char **argv)
{
	extern char **environ;
	char var[96];
	char **envp;
	size_t n = 0, k = 0;
	pid_t pid;

	snprintf(var, sizeof var, WORKER_ENV "=%d,%d,%d", i, slots[i].listen_fd, shm_fd);
	while (environ[n])
		n++;
	envp = calloc(n + 2, sizeof *envp);   /* built before fork: the child only execs */
	if (!envp) {
		lg_log_msg(LG_LOG_ERROR, "spawn_failed", "out of memory");
		return -1;
	}
	for (size_t j = 0; j < n; j++)
		if (strncmp(environ[j], WORKER_ENV "=", sizeof WORKER_ENV) != 0)
			envp[k++] = environ[j];
	envp[k++] = var;
	pid = fork();
	if (pid == 0) {
		/* Child: async-signal-safe calls only until execve. The worker dies
		 * with main, whatever killed main; every fd but its two is closed. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != main_pid ||
		    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0 ||
		    fcntl(slots[i].listen_fd, F_SETFD, 0) < 0 || fcntl(shm_fd, F_SETFD, 0) < 0)
			_exit(126);
		execve(exe, argv, envp);
		_exit(127);
	}
	free(envp);
	if (pid < 0) {
		lg_log_msg(LG_LOG_ERROR, "fork_failed", strerror(errno));
		return -1;
	}
	slots[i].pid = pid;
	slots[i].started_ms = lg_now_ms();
	slots[i].restart_at_ms = 0;
	return pid;
}

/* Reaps dead workers and schedules their restart (unless draining). */
static void reap(struct lg_shared *shm, struct slot *slots, unsigned n, int draining)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct lg_logline l;
			uint64_t now = lg_now_ms();
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

/* Returns the earliest time main must act without a signal: a dead
 * worker's restart or, while draining, the kill deadline; 0 for none. */
static uint64_t next_deadline(const struct slot *slots, unsigned n, int draining, uint64_t kill_at)
{
	uint64_t next = 0;

	if (draining)
		return kill_at;
	for (unsigned i = 0; i < n; i++)
		if (slots[i].pid <= 0 && slots[i].restart_at_ms &&
		    (!next || slots[i].restart_at_ms < next))
			next = slots[i].restart_at_ms;
	return next;
}

/* Waits for one of sigs until deadline (lg_now_ms; 0: no deadline): main
 * sleeps until there is something to do rather than waking on a period,
 * which would be CPU taken from the workers on the same cores. Returns the
 * signal, or -1 when the deadline passed first. */
static int wait_signal(const sigset_t *sigs, siginfo_t *si, uint64_t deadline)
{
	uint64_t now = lg_now_ms();
	struct timespec to;

	if (!deadline)
		return sigwaitinfo(sigs, si);
	if (deadline <= now)
		return -1;
	to.tv_sec = (time_t)((deadline - now) / 1000);
	to.tv_nsec = (long)((deadline - now) % 1000) * 1000000L;
	return sigtimedwait(sigs, si, &to);
}

/* Supervises the workers until they have all exited after SIGTERM.
 * Returns 0 when every worker exited in time. */
static int supervise(const struct lg_config *cfg, struct lg_shared *shm, int shm_fd,
                     struct slot *slots, struct lg_api *api, const sigset_t *sigs,
                     const char *exe, char **argv)
{
	pid_t main_pid = getpid();
	unsigned n = cfg->workers;
	uint64_t kill_at = 0;
	int draining = 0, rc = 0;

	for (;;) {
		siginfo_t si;
		int sig = wait_signal(sigs, &si, next_deadline(slots, n, draining, kill_at));
		unsigned alive = 0;
		uint64_t now;

		if (sig == SIGCHLD)
			reap(shm, slots, n, draining);
		else if (sig == SIGHUP && cfg->secrets_file) {
			struct lg_keyring *kr = lg_keys_reload(cfg);
			if (kr)
				lg_api_set_keys(api, kr);
			for (unsigned i = 0; i < n; i++)
				if (slots[i].pid > 0)
					kill(slots[i].pid, SIGHUP);
		} else if ((sig == SIGTERM || sig == SIGINT) && !draining) {
			draining = 1;
			atomic_store(&shm->draining, 1);
			lg_log_msg(LG_LOG_INFO, "drain", "stopping: workers close their clients with 1012");
			kill_at = lg_now_ms() + cfg->drain_ms + KILL_GRACE_MS;
			for (unsigned i = 0; i < n; i++) {
				if (slots[i].pid > 0)
					kill(slots[i].pid, SIGTERM);
				/* No new connections may queue on a socket nobody serves. */
				close(slots[i].listen_fd);
				slots[i].listen_fd = -1;
			}
		}
		reap(shm, slots, n, draining);
		now = lg_now_ms();
		for (unsigned i = 0; i < n; i++) {
			if (slots[i].pid > 0) {
				alive++;
				continue;
			}
			if (!draining && slots[i].restart_at_ms && now >= slots[i].restart_at_ms) {
				lg_add(&shm->worker_restarts, 1);
				if (spawn(slots, (int)i, shm_fd, main_pid, exe, argv) > 0)
					alive++;
				else
					slots[i].restart_at_ms = now + RESTART_MAX_MS;
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

/* Finds this binary's path for re-exec: /proc/self/exe when /proc is
 * mounted (it names the file even if argv[0] lies), else argv[0] itself or
 * as found on PATH (a chroot or a minimal container without /proc). Returns
 * 0, or -1 with err set. */
static int find_self(const char *argv0, char *out, size_t n, char *err, size_t errlen)
{
	ssize_t len = readlink("/proc/self/exe", out, n - 1);
	const char *path = getenv("PATH");

	if (len > 0 && (size_t)len < n - 1) {
		out[len] = '\0';
		return 0;
	}
	if (strchr(argv0, '/')) {
		if ((size_t)snprintf(out, n, "%s", argv0) < n && access(out, X_OK) == 0)
			return 0;
	} else {
		while (path && *path) {
			size_t dl = strcspn(path, ":");
			if ((size_t)snprintf(out, n, "%.*s/%s", (int)dl, path, argv0) < n &&
			    access(out, X_OK) == 0)
				return 0;
			path += dl + (path[dl] == ':');
		}
	}
	snprintf(err, errlen, "cannot find the livegate binary to start workers from");
	return -1;
}

/* Blocks the signals both roles take synchronously (sigtimedwait in main,
 * signalfd in workers); done before any thread or child exists. */
static void block_signals(sigset_t *sigs)
{
	sigemptyset(sigs);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGHUP);
	sigaddset(sigs, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The worker role: the exec'd child of main. Returns its exit code. */
static int worker_main(const struct lg_config *cfg, const char *spec)
{
	int idx, lfd, mfd, used = 0;
	struct lg_shared *shm;
	sigset_t sigs;
	int rc;

	if (sscanf(spec, "%d,%d,%d%n", &idx, &lfd, &mfd, &used) != 3 || spec[used] ||
	    idx < 0 || idx >= LG_MAX_WORKERS || lfd < 3 || mfd < 3) {
		fprintf(stderr, "livegate: " WORKER_ENV " is internal to livegate\n");
		return 2;
	}
	unsetenv(WORKER_ENV);
	block_signals(&sigs);
	shm = lg_metrics_attach(mfd);
	close(mfd);
	if (!shm) {
		fprintf(stderr, "livegate: worker %d: cannot map the metrics: %s\n", idx + 1, strerror(errno));
		close(lfd);
		return 1;
	}
	rc = lg_worker_run(cfg, shm, idx, lfd);
	munmap(shm, sizeof *shm);
	return rc;
}

/* Stops the workers started so far (start-up failed after them). */
static void kill_workers(struct slot *slots, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (slots[i].pid > 0) {
			kill(slots[i].pid, SIGKILL);
			waitpid(slots[i].pid, NULL, 0);
		}
		if (slots[i].listen_fd >= 0)
			close(slots[i].listen_fd);
	}
}

/* The main role. Returns the process exit code. */
static int main_main(const struct lg_config *cfg, struct lg_keyring *keys, char **argv)
{
	struct slot slots[LG_MAX_WORKERS];
	struct lg_shared *shm;
	struct lg_api *api;
	char err[512], exe[4096];
	sigset_t sigs;
	int shm_fd, rc;

	lg_log_setup(cfg->log_level, cfg->log_format == LG_LOG_JSON, "main");
	warn_unknown_env();
	if (find_self(argv[0], exe, sizeof exe, err, sizeof err) < 0) {
		fprintf(stderr, "livegate: %s\n", err);
		lg_keyring_free(keys);
		return 1;
	}
	block_signals(&sigs);
	shm = lg_metrics_create(&shm_fd);
	if (!shm) {
		fprintf(stderr, "livegate: cannot create shared memory for metrics: %s\n", strerror(errno));
		lg_keyring_free(keys);
		return 1;
	}
	atomic_store(&shm->n_workers, (int)cfg->workers);
	memset(slots, 0, sizeof slots);
	if (lg_listen_check_free(&cfg->public_addr, "LIVEGATE_PUBLIC_ADDR", err, sizeof err) < 0) {
		fprintf(stderr, "livegate: %s\n", err);
		lg_keyring_free(keys);
		return 1;
	}
	for (unsigned i = 0; i < cfg->workers; i++) {
		slots[i].backoff_ms = RESTART_MIN_MS;
		slots[i].listen_fd = lg_listen(&cfg->public_addr, "LIVEGATE_PUBLIC_ADDR", 1,
		                               LISTEN_BACKLOG, err, sizeof err);
		if (slots[i].listen_fd < 0) {
			fprintf(stderr, "livegate: %s\n", err);
			kill_workers(slots, i);
			lg_keyring_free(keys);
			return 1;
		}
	}
	api = lg_api_start(cfg, shm, keys, err, sizeof err);
	if (!api) {
		fprintf(stderr, "livegate: %s\n", err);
		kill_workers(slots, cfg->workers);
		return 1;
	}
	log_start(cfg);
	check_fd_limit(cfg);
	for (unsigned i = 0; i < cfg->workers; i++)
		if (spawn(slots, (int)i, shm_fd, getpid(), exe, argv) < 0)
			slots[i].restart_at_ms = lg_now_ms() + slots[i].backoff_ms;
	rc = supervise(cfg, shm, shm_fd, slots, api, &sigs, exe, argv);
	lg_api_stop(api);
	lg_log_msg(LG_LOG_INFO, "exit", NULL);
	close(shm_fd);
	munmap(shm, sizeof *shm);
	return rc;
}

int main(int argc, char **argv)
{
	struct lg_config cfg;
	struct lg_keyring *keys;
	const char *worker = getenv(WORKER_ENV);
	char err[512];
	int rc;

	rc = lg_config_load(&cfg, argc, argv, NULL, stdout, err, sizeof err);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "livegate: %s\n", err);
		lg_config_free(&cfg);
		return rc < 0 ? 2 : 0;
	}
	if (worker) {
		rc = worker_main(&cfg, worker);
	} else if (lg_keys_load(&cfg, &keys, err, sizeof err) < 0) {
		fprintf(stderr, "livegate: %s\n", err);
		rc = 2;
	} else {
		rc = main_main(&cfg, keys, argv);
	}
	lg_config_free(&cfg);
	return rc;
}
