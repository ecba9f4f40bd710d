/* One loadgen child: opens its slice of clients with epoll and non-blocking
 * sockets, subscribes them, and timestamps every delivery. A client is a
 * WebSocket (upgrade, then the subscribe frame) or livegate's event stream
 * (POST /sse with the subscribe message as its body); only the request,
 * the response head and the framing differ: what a message means (the
 * subscribe answer, a delivery to timestamp) is one path for both.
 *
 * Talks to the parent over ctl_fd: waits for "G" (go), answers
 * "READY ready refused failed connect_ns", then "DONE seq" each time all its
 * live clients have a fan-out message, and a binary lg_report on "R". */
#define _GNU_SOURCE
#include "lg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum cst { C_NEW, C_CONNECTING, C_HANDSHAKE, C_SUBSCRIBING, C_READY, C_DEAD };

struct client {
    int fd;
    uint8_t st;
    uint16_t rlen;
    uint32_t idx;                /* global client index */
    unsigned char *out;          /* bytes not yet accepted by the kernel */
    uint32_t olen, ooff;
    unsigned char rbuf[LG_RBUF];
};

struct child {
    const struct lg_opts *o;
    int ep, ctl;
    struct client *c;
    unsigned n, started, pending, ready, refused, failed, dropped, bad;
    uint64_t t0, t_ready;
    uint64_t *lat;               /* every measured delivery, ns */
    size_t nlat, caplat;
    uint32_t *seq_cnt;           /* fan-out: deliveries per sequence number */
    uint64_t *seq_max;           /* fan-out: latest arrival per sequence number */
    unsigned nseq, last_seq;
    char token[1200];            /* shared token when channels do not depend on the client */
    int token_len;
};

static int ctl_write(int fd, const void *b, size_t n)
{
    const char *p = b;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void ev_mod(struct child *ch, struct client *c, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.u64 = (uint64_t)(c - ch->c)};
    epoll_ctl(ch->ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void kill_client(struct child *ch, struct client *c, int refused)
{
    if (c->st == C_DEAD) return;
    if (c->st == C_READY) {
        ch->dropped++;
        ch->ready--;
    } else {
        if (refused) ch->refused++;
        else ch->failed++;
        ch->pending--;
    }
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->out);
    c->out = NULL;
    c->st = C_DEAD;
}

/* Queues bytes; sends at once what the kernel takes. */
static int send_bytes(struct child *ch, struct client *c, const unsigned char *b, size_t n)
{
    if (!c->out) {
        ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        if (w < 0) w = 0;
        if ((size_t)w == n) return 0;
        b += w;
        n -= (size_t)w;
    }
    unsigned char *nb = realloc(c->out, c->olen + n);
    if (!nb) return -1;
    memcpy(nb + c->olen, b, n);
    c->out = nb;
    c->olen += (uint32_t)n;
    ev_mod(ch, c, EPOLLIN | EPOLLOUT);
    return 0;
}

static int flush_out(struct child *ch, struct client *c)
{
    while (c->out && c->ooff < c->olen) {
        ssize_t w = send(c->fd, c->out + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);
        if (w < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        c->ooff += (uint32_t)w;
    }
    free(c->out);
    c->out = NULL;
    c->olen = c->ooff = 0;
    ev_mod(ch, c, EPOLLIN);
    return 0;
}

static void start_connect(struct child *ch, struct client *c)
{
    const struct lg_opts *o = ch->o;
    ch->pending++;
    c->st = C_CONNECTING;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        kill_client(ch, c, 0);
        return;
    }
    int one = 1;
    /* Ports are picked at connect() time per 4-tuple, so every source
     * address offers the whole ephemeral range. */
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    unsigned a = o->src_base + c->idx / o->per_src;
    src.sin_addr.s_addr = htonl(0x7f000000u | (a & 0xffffff));
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    inet_pton(AF_INET, o->host, &dst.sin_addr);
    if (bind(c->fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS)) {
        kill_client(ch, c, 0);
        return;
    }
    struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.u64 = (uint64_t)(c - ch->c)};
    if (epoll_ctl(ch->ep, EPOLL_CTL_ADD, c->fd, &e) != 0) kill_client(ch, c, 0);
}

/* The subscribe message: its token is shared when the channels do not
 * depend on the client. Returns its length, or -1. */
static int subscribe_msg(struct child *ch, struct client *c, char *msg, size_t cap)
{
    char tok[1200];
    const char *t = ch->token;
    if (ch->token_len <= 0) {
        if (lg_jwt_mint(ch->o->secret, ch->o->channels, c->idx, 3600, tok, sizeof tok) < 0)
            return -1;
        t = tok;
    }
    int n = snprintf(msg, cap, "{\"type\":\"subscribe\",\"token\":\"%s\"}", t);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* The request that opens the client: a WebSocket upgrade, or the stream's
 * POST with the subscribe message as its body (text/plain, as the script
 * sends it). Returns its length, or -1. */
static int open_request(struct child *ch, struct client *c, char *req, size_t cap)
{
    const struct lg_opts *o = ch->o;
    int n;
    if (o->proto == LG_PROTO_SSE) {
        char body[1400];
        int bl = subscribe_msg(ch, c, body, sizeof body);
        if (bl < 0) return -1;
        n = snprintf(req, cap,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: text/plain;charset=UTF-8\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     o->path, o->host, o->port, bl, body);
    } else {
        char key[32];
        lg_ws_key(c->idx, key);
        n = snprintf(req, cap,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     o->path, o->host, o->port, key);
    }
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static void on_connected(struct child *ch, struct client *c)
{
    int err = 0;
    socklen_t l = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err) {
        kill_client(ch, c, err == ECONNREFUSED);
        return;
    }
    char req[1800];
    int n = open_request(ch, c, req, sizeof req);
    c->st = C_HANDSHAKE;
    ev_mod(ch, c, EPOLLIN);
    if (n < 0 || send_bytes(ch, c, (unsigned char *)req, (size_t)n) != 0) kill_client(ch, c, 0);
}

static void became_ready(struct child *ch, struct client *c)
{
    c->st = C_READY;
    ch->pending--;
    ch->ready++;
    ch->t_ready = lg_mono_ns();
}

static int send_subscribe(struct child *ch, struct client *c)
{
    char msg[1400];
    int n = subscribe_msg(ch, c, msg, sizeof msg);
    if (n < 0) return -1;
    unsigned char fr[1500];
    size_t fl = lg_ws_frame(fr, sizeof fr, 1, msg, (size_t)n, 0x5a17c3e1u ^ c->idx);
    if (!fl) return -1;
    c->st = C_SUBSCRIBING;
    return send_bytes(ch, c, fr, fl);
}

/* Bounded search for a decimal field: "name":123 */
static int find_u64(const unsigned char *p, size_t n, const char *name, uint64_t *v)
{
    size_t nl = strlen(name);
    const unsigned char *q = memmem(p, n, name, nl);
    if (!q) return 0;
    q += nl;
    const unsigned char *end = p + n;
    uint64_t x = 0;
    int digits = 0;
    while (q < end && *q >= '0' && *q <= '9' && digits < 20) {
        x = x * 10 + (uint64_t)(*q++ - '0');
        digits++;
    }
    *v = x;
    return digits > 0;
}

static void record(struct child *ch, const unsigned char *p, size_t n)
{
    uint64_t t, seq = 0, now = lg_now_ns();
    if (!find_u64(p, n, "\"t\":", &t)) return;
    find_u64(p, n, "\"seq\":", &seq);
    uint64_t lat = now > t ? now - t : 0;
    if (ch->o->mode == LG_MODE_FANOUT && seq < ch->nseq) {
        if (lat > ch->seq_max[seq]) ch->seq_max[seq] = lat;
        if (++ch->seq_cnt[seq] == ch->ready) {
            char line[48];
            int l = snprintf(line, sizeof line, "DONE %llu\n", (unsigned long long)seq);
            ctl_write(ch->ctl, line, (size_t)l);
        }
        if (seq == 0) return; /* the warm-up message is not measured */
    }
    if (ch->nlat == ch->caplat) {
        size_t nc = ch->caplat ? ch->caplat * 2 : 65536;
        if (nc > 64u * 1024 * 1024) return; /* bounded: drop samples past 64M */
        uint64_t *nl = realloc(ch->lat, nc * sizeof *nl);
        if (!nl) return;
        ch->lat = nl;
        ch->caplat = nc;
    }
    ch->lat[ch->nlat++] = lat;
}

/* One message from the server (a WebSocket text frame's payload or an
 * event's data), whatever carried it: the answer to the subscribe makes
 * the client ready; after that every message is a delivery to timestamp. */
static void on_message(struct child *ch, struct client *c, const unsigned char *p, size_t n)
{
    if (c->st == C_SUBSCRIBING) {
        if (memmem(p, n, "\"type\":\"subscribed\"", 19)) became_ready(ch, c);
    } else if (c->st == C_READY) {
        record(ch, p, n);
    }
}

/* Drops the first off bytes of rbuf, which the parser has used. */
static void consumed(struct client *c, size_t off)
{
    if (!off) return;
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen = (uint16_t)(c->rlen - off);
}

/* Handles complete WebSocket frames in rbuf; returns -1 to close the
 * client, -2 when the server closed it. */
static int on_frames(struct child *ch, struct client *c)
{
    size_t off = 0;
    for (;;) {
        int op;
        const unsigned char *pl;
        uint64_t plen;
        size_t fl;
        int r = lg_ws_parse(c->rbuf + off, c->rlen - off, &op, &pl, &plen, &fl);
        if (r < 0) {
            ch->bad++;
            return -1;
        }
        if (r == 0) break;
        if (op == 1) {
            on_message(ch, c, pl, plen);
        } else if (op == 9) { /* ping: answer with the same payload */
            unsigned char fr[160];
            size_t n = lg_ws_frame(fr, sizeof fr, 10, pl, plen, 0x1234567u ^ c->idx);
            if (n && send_bytes(ch, c, fr, n) != 0) return -1;
        } else if (op == 8) {
            return -2; /* server closed: before ready that is a refusal */
        }
        off += fl;
    }
    consumed(c, off);
    return 0;
}

/* Handles complete events in rbuf (comments such as ": ping" carry no
 * data); returns as on_frames does. */
static int on_events(struct child *ch, struct client *c)
{
    size_t off = 0;
    for (;;) {
        unsigned char *data;
        size_t dlen, el;
        if (lg_sse_parse(c->rbuf + off, c->rlen - off, &data, &dlen, &el) == 0) break;
        off += el;
        if (!data) continue;
        /* The stream's close event is the WebSocket's close frame. */
        if (memmem(data, dlen, "\"type\":\"close\"", 15)) return -2;
        on_message(ch, c, data, dlen);
    }
    consumed(c, off);
    return 0;
}

/* The response head (hl bytes in rbuf) has come: the server's yes or no.
 * Returns 0 to go on, -1 when the server refused the client. */
static int on_head(struct child *ch, struct client *c, size_t hl)
{
    const char *head = (const char *)c->rbuf;
    if (ch->o->proto == LG_PROTO_SSE) {
        /* The subscribe went in the request: the stream answers it. */
        if (!lg_sse_head_ok(head, hl)) return -1; /* 401, 403, 503: the server said no */
        c->st = C_SUBSCRIBING;
    } else {
        char key[32];
        lg_ws_key(c->idx, key);
        if (!lg_ws_accept_ok(key, head, hl)) return -1;
    }
    consumed(c, hl);
    return 0;
}

static void on_readable(struct child *ch, struct client *c)
{
    for (int iter = 0; iter < 8 && c->st != C_DEAD; iter++) {
        if (c->rlen == LG_RBUF) {
            ch->bad++;
            kill_client(ch, c, 0);
            return;
        }
        ssize_t r = recv(c->fd, c->rbuf + c->rlen, LG_RBUF - c->rlen, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (r <= 0) {
            kill_client(ch, c, r == 0 && c->st != C_READY);
            return;
        }
        c->rlen = (uint16_t)(c->rlen + r);
        if (c->st == C_HANDSHAKE) {
            unsigned char *eoh = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
            if (!eoh) continue;
            if (on_head(ch, c, (size_t)(eoh + 4 - c->rbuf)) != 0) {
                kill_client(ch, c, 1);
                return;
            }
            if (ch->o->proto == LG_PROTO_GENERIC) became_ready(ch, c);
            else if (ch->o->proto == LG_PROTO_LIVEGATE && send_subscribe(ch, c) != 0) {
                kill_client(ch, c, 0);
                return;
            }
        }
        int fr = ch->o->proto == LG_PROTO_SSE ? on_events(ch, c) : on_frames(ch, c);
        if (fr < 0) {
            kill_client(ch, c, fr == -2);
            return;
        }
        if ((size_t)r < 256) return; /* short read: the socket is most likely drained */
    }
}

static void send_report(struct child *ch)
{
    struct lg_report rp = {
        .ready = ch->ready, .refused = ch->refused, .failed = ch->failed,
        .dropped = ch->dropped, .bad_frames = ch->bad, .lat_count = ch->nlat,
        .seq_count = ch->nseq, .connect_ns = ch->t_ready > ch->t0 ? ch->t_ready - ch->t0 : 0,
    };
    /* The marker line separates late "DONE" lines from the binary report. */
    if (ctl_write(ch->ctl, "REPORT\n", 7) != 0) return;
    if (ctl_write(ch->ctl, &rp, sizeof rp) != 0) return;
    if (ch->nlat && ctl_write(ch->ctl, ch->lat, ch->nlat * sizeof *ch->lat) != 0) return;
    if (ch->nseq) ctl_write(ch->ctl, ch->seq_max, ch->nseq * sizeof *ch->seq_max);
}

/* Returns 1 when the parent asked to quit. */
static int on_ctl(struct child *ch)
{
    char b[64];
    ssize_t r = read(ch->ctl, b, sizeof b);
    if (r <= 0) return 1;
    for (ssize_t i = 0; i < r; i++) {
        if (b[i] == 'R') send_report(ch);
        if (b[i] == 'Q') return 1;
    }
    return 0;
}

int lg_child_run(const struct lg_opts *o, unsigned first, unsigned count, int ctl_fd)
{
    struct child ch = {.o = o, .ctl = ctl_fd, .n = count};
    ch.c = calloc(count ? count : 1, sizeof *ch.c);
    if (o->mode == LG_MODE_FANOUT) {
        ch.nseq = o->messages + 1;
        ch.seq_cnt = calloc(ch.nseq, sizeof *ch.seq_cnt);
        ch.seq_max = calloc(ch.nseq, sizeof *ch.seq_max);
    }
    ch.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!ch.c || ch.ep < 0 || (o->mode == LG_MODE_FANOUT && (!ch.seq_cnt || !ch.seq_max)))
        return 1;
    for (unsigned i = 0; i < count; i++) {
        ch.c[i].fd = -1;
        ch.c[i].idx = first + i;
    }
    if (o->proto != LG_PROTO_GENERIC && !strstr(o->channels, "%u")) {
        ch.token_len = lg_jwt_mint(o->secret, o->channels, 0, 3600, ch.token, sizeof ch.token);
        if (ch.token_len < 0) return 1;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    epoll_ctl(ch.ep, EPOLL_CTL_ADD, ctl_fd, &e);

    /* Wait for "G" so every child starts at once (the connect storm). */
    char g;
    if (read(ctl_fd, &g, 1) != 1 || g != 'G') return 1;
    ch.t0 = lg_mono_ns();
    uint64_t deadline = ch.t0 + (uint64_t)(o->connect_timeout * 1e9);
    int reported = 0;
    struct epoll_event evs[512];
    for (;;) {
        unsigned cap = o->inflight ? o->inflight : count;
        while (ch.started < count && ch.pending < cap) start_connect(&ch, &ch.c[ch.started++]);
        if (!reported && ((ch.started == count && ch.pending == 0) || lg_mono_ns() > deadline)) {
            /* Whatever has not made it by the deadline counts as failed. */
            for (unsigned i = 0; i < count; i++)
                if (ch.c[i].st != C_READY && ch.c[i].st != C_DEAD) {
                    if (ch.c[i].st == C_NEW) { ch.pending++; }
                    kill_client(&ch, &ch.c[i], 0);
                }
            ch.started = count;
            char line[128];
            int l = snprintf(line, sizeof line, "READY %u %u %u %llu\n", ch.ready, ch.refused,
                             ch.failed,
                             (unsigned long long)(ch.t_ready > ch.t0 ? ch.t_ready - ch.t0 : 0));
            if (ctl_write(ctl_fd, line, (size_t)l) != 0) break;
            reported = 1;
        }
        int n = epoll_wait(ch.ep, evs, 512, 100);
        if (n < 0 && errno != EINTR) break;
        int quit = 0;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == UINT64_MAX) {
                quit |= on_ctl(&ch);
                continue;
            }
            struct client *c = &ch.c[evs[i].data.u64];
            if (c->st == C_DEAD) continue;
            if (c->st == C_CONNECTING) {
                on_connected(&ch, c);
                continue;
            }
            if (evs[i].events & EPOLLOUT && flush_out(&ch, c) != 0) {
                kill_client(&ch, c, 0);
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(&ch, c);
        }
        if (quit) break;
    }
    for (unsigned i = 0; i < count; i++)
        if (ch.c[i].fd >= 0) close(ch.c[i].fd);
    return 0;
}
