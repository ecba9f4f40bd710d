/* Clocks, /proc sampling of the server's processes, and the two publishers
 * (Redis PUBLISH over raw RESP, HTTP POST for Nchan) used by loadgen. */
#define _GNU_SOURCE
#include "lg.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t lg_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void lg_sleep(double s)
{
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Reads /proc/PID/stat; returns 0 and fills ppid and cpu ticks. */
static int read_stat(pid_t pid, pid_t *ppid, unsigned long long *ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    char state;
    int pp;
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &pp, &ut,
               &st) != 4)
        return -1;
    *ppid = pp;
    *ticks = ut + st;
    return 0;
}

/* The root and every descendant, found by walking /proc's ppid links. */
int lg_proc_tree(pid_t root, pid_t *pids, int cap)
{
    int n = 0;
    if (root <= 0 || cap < 1) return 0;
    pids[n++] = root;
    pid_t all[8192][2];
    int na = 0;
    DIR *d = opendir("/proc");
    if (!d) return n;
    struct dirent *e;
    while ((e = readdir(d)) && na < 8192) {
        char *end;
        long v = strtol(e->d_name, &end, 10);
        if (*end || v <= 0) continue;
        pid_t pp;
        unsigned long long t;
        if (read_stat((pid_t)v, &pp, &t) == 0) {
            all[na][0] = (pid_t)v;
            all[na][1] = pp;
            na++;
        }
    }
    closedir(d);
    /* Breadth first: each pass adds children of pids already in the list. */
    for (int i = 0; i < n && n < cap; i++)
        for (int j = 0; j < na && n < cap; j++)
            if (all[j][1] == pids[i]) pids[n++] = all[j][0];
    return n;
}

/* CPU of one process in seconds: the sum of its threads' schedstat run
 * time (nanoseconds, where utime+stime only has 10 ms ticks); falls back to
 * utime+stime from /proc/PID/stat. */
static double cpu_one(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    double s = 0;
    int ok = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            char p2[320];
            snprintf(p2, sizeof p2, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
            FILE *f = fopen(p2, "r");
            if (!f) continue;
            unsigned long long ns;
            if (fscanf(f, "%llu", &ns) == 1) {
                s += (double)ns / 1e9;
                ok = 1;
            }
            fclose(f);
        }
        closedir(d);
    }
    if (ok) return s;
    pid_t pp;
    unsigned long long t;
    if (read_stat(pid, &pp, &t) != 0) return 0;
    return (double)t / (double)sysconf(_SC_CLK_TCK);
}

double lg_proc_cpu_s(pid_t root)
{
    pid_t pids[LG_MAX_PIDS];
    int n = lg_proc_tree(root, pids, LG_MAX_PIDS);
    double s = 0;
    for (int i = 0; i < n; i++) s += cpu_one(pids[i]);
    return s;
}

/* Pss is the fair share of pages for a tree of forked processes; VmRSS would
 * count pages shared after fork() once per process. */
static double mem_one(pid_t pid)
{
    char path[64], line[256];
    double v = -1;
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "Pss: %lf", &v) == 1) break;
        fclose(f);
        if (v >= 0) return v;
    }
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lf", &v) == 1) break;
    fclose(f);
    return v > 0 ? v : 0;
}

double lg_proc_mem_kib(pid_t root)
{
    pid_t pids[LG_MAX_PIDS];
    int n = lg_proc_tree(root, pids, LG_MAX_PIDS);
    double s = 0;
    for (int i = 0; i < n; i++) s += mem_one(pids[i]);
    return s;
}

int lg_tcp_connect(const char *host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int lg_pub_open(const struct lg_opts *o)
{
    return lg_tcp_connect(o->pub_host, o->pub_port);
}

static int write_all(int fd, const char *b, size_t n)
{
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one HTTP/1.1 response (headers plus Content-Length body) so the
 * keep-alive connection stays in step. Returns the status code or -1. */
static int read_http_response(int fd)
{
    char buf[8192];
    size_t have = 0;
    for (;;) {
        if (have == sizeof buf - 1) return -1;
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            return -1;
        }
        have += (size_t)r;
        buf[have] = '\0';
        char *eoh = strstr(buf, "\r\n\r\n");
        if (!eoh) continue;
        int status = 0;
        sscanf(buf, "HTTP/1.%*d %d", &status);
        size_t clen = 0;
        char *cl = strcasestr(buf, "\r\ncontent-length:");
        if (cl && cl < eoh) clen = strtoul(cl + 17, NULL, 10);
        size_t need = (size_t)(eoh + 4 - buf) + clen;
        if (need >= sizeof buf) return -1;
        while (have < need) {
            r = recv(fd, buf + have, need - have, 0);
            if (r <= 0) {
                if (r < 0 && errno == EINTR) continue;
                return -1;
            }
            have += (size_t)r;
        }
        return status;
    }
}

/* Publishes payload. With wait_reply the call returns after the server has
 * answered (Redis: the receiver count; Nchan: the HTTP status). */
int lg_pub_send(const struct lg_opts *o, int fd, const char *channel, const char *payload,
                int wait_reply)
{
    char req[1024];
    size_t pl = strlen(payload);
    int n;
    if (o->pub == LG_PUB_REDIS)
        n = snprintf(req, sizeof req, "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
                     strlen(channel), channel, pl, payload);
    else
        n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     o->pub_path, o->pub_host, pl, payload);
    if (n < 0 || (size_t)n >= sizeof req) return -1;
    if (write_all(fd, req, (size_t)n) != 0) return -1;
    if (!wait_reply) return 0;
    if (o->pub == LG_PUB_HTTP) {
        int st = read_http_response(fd);
        return (st >= 200 && st < 300) ? 0 : -1;
    }
    /* A Redis integer reply ":N\r\n" fits in one small read on loopback;
     * loop until the line is complete. */
    char r[64];
    size_t have = 0;
    while (have < sizeof r - 1) {
        ssize_t k = recv(fd, r + have, sizeof r - 1 - have, 0);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) continue;
            return -1;
        }
        have += (size_t)k;
        if (have >= 2 && r[have - 2] == '\r' && r[have - 1] == '\n') break;
    }
    return r[0] == ':' ? 0 : -1;
}

/* Rate mode pipelines PUBLISHes: discard the integer replies as they come. */
int lg_pub_drain(const struct lg_opts *o, int fd)
{
    (void)o;
    char buf[16384];
    for (int i = 0; i < 64; i++) {
        ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (k > 0) continue;
        if (k == 0) return -1;
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    }
    return 0;
}
