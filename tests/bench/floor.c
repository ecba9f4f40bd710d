/* floor: the least a fan-out server can do, as the benchmark's reference.
 *
 * One epoll thread accepts WebSocket upgrades on any path and, for every
 * message that arrives on its Redis subscription (raw RESP, like the other
 * servers receive it), builds one frame and send()s it to every socket, one
 * call each, with no queueing: what remains is the kernel's cost.
 *
 * usage: floor PORT REDIS_PORT CHANNEL */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define HDR_MAX 2048

struct conn {
    int ws;                /* upgraded */
    int pos;               /* index in the subscriber array */
    size_t hlen;
    char *hdr;             /* request bytes until the upgrade, then freed */
};

static struct conn *conns;     /* indexed by fd */
static int *subs;              /* dense array of upgraded fds */
static int nsubs, maxfd;
static unsigned long long short_writes;

static void b64(const unsigned char *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];
        out[o++] = t[v >> 18 & 63]; out[o++] = t[v >> 12 & 63];
        out[o++] = t[v >> 6 & 63];  out[o++] = t[v & 63];
    }
    if (i < n) {
        unsigned v = in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0);
        out[o++] = t[v >> 18 & 63]; out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
}

static void drop(int fd)
{
    struct conn *c = &conns[fd];
    if (c->ws) {
        int last = subs[--nsubs];
        subs[c->pos] = last;
        conns[last].pos = c->pos;
    }
    free(c->hdr);
    memset(c, 0, sizeof *c);
    close(fd);
}

/* Answers the upgrade once the request headers are complete. A request that
 * arrives whole (the usual case on loopback) is parsed in a shared scratch
 * buffer, so an idle connection costs no user memory beyond its slot. */
static void on_http(int fd)
{
    static char scratch[HDR_MAX + 1];
    struct conn *c = &conns[fd];
    char *buf = c->hdr ? c->hdr : scratch;
    ssize_t r = recv(fd, buf + c->hlen, HDR_MAX - c->hlen, 0);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        drop(fd);
        return;
    }
    c->hlen += (size_t)r;
    buf[c->hlen] = '\0';
    if (!strstr(buf, "\r\n\r\n")) {
        if (c->hlen == HDR_MAX) { drop(fd); return; }
        if (!c->hdr) { /* partial request: keep it in its own buffer */
            if (!(c->hdr = malloc(HDR_MAX + 1))) { drop(fd); return; }
            memcpy(c->hdr, scratch, c->hlen + 1);
        }
        return;
    }
    char *k = strcasestr(buf, "\r\nsec-websocket-key:");
    if (!k) { drop(fd); return; }
    k += 20;
    while (*k == ' ') k++;
    char key[128];
    size_t kl = strcspn(k, "\r\n");
    if (kl > 60) { drop(fd); return; }
    memcpy(key, k, kl);
    memcpy(key + kl, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 37);
    unsigned char sha[SHA_DIGEST_LENGTH];
    SHA1((unsigned char *)key, strlen(key), sha);
    char acc[32], resp[256];
    b64(sha, sizeof sha, acc);
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
    if (send(fd, resp, (size_t)n, MSG_NOSIGNAL) != n) { drop(fd); return; }
    free(c->hdr);
    c->hdr = NULL;
    c->hlen = 0;
    c->ws = 1;
    c->pos = nsubs;
    subs[nsubs++] = fd;
}

/* Upgraded clients only ever send pongs or a close: discard, notice EOF. */
static void on_ws(int fd)
{
    char buf[512];
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) drop(fd);
}

/* The fan-out: one prebuilt frame, one send() per subscriber. */
static void fan_out(const char *payload, size_t n)
{
    static char frame[16384];
    const char pre[] = "{\"type\":\"invalidate\",\"channel\":\"bench\",\"data\":";
    size_t body = sizeof pre - 1 + n + 1;
    if (body + 4 > sizeof frame || body >= 65536) return;
    size_t h = body < 126 ? 2 : 4;
    frame[0] = (char)0x81;
    if (h == 2) frame[1] = (char)body;
    else { frame[1] = 126; frame[2] = (char)(body >> 8); frame[3] = (char)body; }
    memcpy(frame + h, pre, sizeof pre - 1);
    memcpy(frame + h + sizeof pre - 1, payload, n);
    frame[h + body - 1] = '}';
    for (int i = 0; i < nsubs; i++)
        if (send(subs[i], frame, h + body, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)(h + body))
            short_writes++;
}

/* Parses one RESP array of bulk strings and integers at p. Returns the bytes
 * it used, 0 if it is incomplete, -1 if the stream is not what SUBSCRIBE
 * produces. Bulk items are returned in it/il (at most 4). */
static long resp_array(const char *p, const char *end, const char **it, size_t *il, int *n)
{
    const char *q = p;
    if (q >= end) return 0;
    if (*q != '*') return -1;
    const char *nl = memmem(q, (size_t)(end - q), "\r\n", 2);
    if (!nl) return 0;
    int items = atoi(q + 1);
    if (items < 0 || items > 4) return -1;
    q = nl + 2;
    for (int i = 0; i < items; i++) {
        if (q >= end) return 0;
        const char *e = memmem(q, (size_t)(end - q), "\r\n", 2);
        if (!e) return 0;
        if (*q == ':') {               /* integer, e.g. the subscription count */
            it[i] = q + 1;
            il[i] = (size_t)(e - q - 1);
            q = e + 2;
            continue;
        }
        if (*q != '$') return -1;
        long l = atol(q + 1);
        if (l < 0) return -1;
        if ((long)(end - (e + 2)) < l + 2) return 0;
        it[i] = e + 2;
        il[i] = (size_t)l;
        q = e + 2 + l + 2;
    }
    *n = items;
    return (long)(q - p);
}

/* Handles every complete push in b; returns the bytes consumed. */
static size_t on_redis(char *b, size_t len)
{
    size_t off = 0;
    for (;;) {
        const char *it[4];
        size_t il[4];
        int n = 0;
        long used = resp_array(b + off, b + len, it, il, &n);
        if (used < 0) {
            fprintf(stderr, "floor: unexpected data from redis\n");
            exit(1);
        }
        if (used == 0) return off;
        if (n == 3 && il[0] == 7 && !memcmp(it[0], "message", 7)) fan_out(it[2], il[2]);
        off += (size_t)used;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: floor PORT REDIS_PORT CHANNEL\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    maxfd = (int)rl.rlim_cur;
    conns = calloc((size_t)maxfd, sizeof *conns);
    subs = calloc((size_t)maxfd, sizeof *subs);
    if (!conns || !subs) return 1;

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 65535)) {
        perror("floor: listen");
        return 1;
    }
    int rfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in ra = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, "127.0.0.1", &ra.sin_addr);
    if (connect(rfd, (struct sockaddr *)&ra, sizeof ra)) {
        perror("floor: redis");
        return 1;
    }
    char cmd[512];
    int cl = snprintf(cmd, sizeof cmd, "*2\r\n$9\r\nSUBSCRIBE\r\n$%zu\r\n%s\r\n", strlen(argv[3]),
                      argv[3]);
    if (send(rfd, cmd, (size_t)cl, 0) != cl) return 1;

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
    e.data.fd = rfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, rfd, &e);
    static char rbuf[1 << 20];
    size_t rlen = 0;
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno != EINTR) return 1;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                for (int k = 0; k < 256; k++) {
                    int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0) break;
                    if (c >= maxfd) { close(c); continue; }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
            } else if (fd == rfd) {
                ssize_t r = recv(rfd, rbuf + rlen, sizeof rbuf - rlen, 0);
                if (r <= 0) {
                    fprintf(stderr, "floor: redis link lost\n");
                    return 1;
                }
                rlen += (size_t)r;
                size_t used = on_redis(rbuf, rlen);
                memmove(rbuf, rbuf + used, rlen - used);
                rlen -= used;
            } else if (conns[fd].ws) {
                on_ws(fd);
            } else {
                on_http(fd);
            }
        }
    }
}
