/* Shared declarations of the benchmark load generator (loadgen).
 *
 * The load generator is one parent process that publishes and measures the
 * server, plus K forked children that each own a slice of the WebSocket
 * clients (one process stays under the 20,000 open-file limit). */
#ifndef LG_H
#define LG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LG_MAX_PROCS 16
#define LG_MAX_PIDS 64
#define LG_RBUF 2048          /* per-client receive buffer: frames and events here are < 300 B */
#define LG_MAX_SEQ 2000000u   /* highest publish sequence number a run may use */

/* livegate: WebSocket, then the subscribe frame; generic: the upgrade alone
 * (peers); sse: livegate's event stream, POST /sse with the subscribe body. */
enum lg_proto { LG_PROTO_LIVEGATE, LG_PROTO_GENERIC, LG_PROTO_SSE };
enum lg_mode { LG_MODE_FANOUT, LG_MODE_RATE, LG_MODE_IDLE, LG_MODE_STORM };
enum lg_pubkind { LG_PUB_REDIS, LG_PUB_HTTP };

struct lg_opts {
    const char *host;          /* server address (IPv4 literal) */
    int port;
    const char *path;          /* WebSocket or stream path, e.g. /ws, /sub, /sse */
    enum lg_proto proto;
    enum lg_mode mode;
    unsigned clients;
    unsigned procs;            /* 0: one per 18,000 clients */
    unsigned src_base;         /* first source address 127.0.0.<src_base> */
    unsigned per_src;          /* clients per source address */
    unsigned inflight;         /* simultaneous pending handshakes, 0 = all at once */
    double connect_timeout;    /* seconds for the whole connect phase */
    const char *secret;        /* HS256 key for livegate tokens */
    const char *channels;      /* token channels; "%u" is replaced by the client index */
    enum lg_pubkind pub;
    const char *pub_host;      /* Redis or HTTP publisher address */
    int pub_port;
    const char *pub_path;      /* HTTP publisher path (Nchan) */
    const char *channel;       /* Redis channel of the fan-out */
    unsigned messages;         /* fan-out: publishes after the warm-up */
    double gap;                /* fan-out: seconds between two publishes */
    double msg_timeout;        /* fan-out: seconds to wait for one message to reach all */
    double rate;               /* rate mode: publishes per second on own channels */
    double shared_rate;        /* rate mode: publishes per second on the shared channel */
    const char *own_fmt;       /* rate mode: Redis channel of client i, e.g. own:%u */
    const char *shared_channel;
    double duration;           /* rate and idle modes: seconds */
    pid_t server_pid;          /* root of the server's process tree (0: none) */
    const char *scenario;
    const char *server_name;
    double settle;             /* seconds to wait after connect before measuring memory */
    const char *baton_in;      /* FIFOs for taking turns with a second loadgen (or NULL) */
    const char *baton_out;
    const char *ready_file;    /* created once connected and settled (or NULL) */
};

/* What a child reports when asked, followed by lat_count uint64 latencies (ns)
 * and seq_count uint64 per-sequence maximum latencies. */
struct lg_report {
    uint64_t ready, refused, failed, dropped, bad_frames;
    uint64_t lat_count, seq_count;
    uint64_t connect_ns;       /* time for this child's clients to all be ready */
};

/* lg_child.c */
int lg_child_run(const struct lg_opts *o, unsigned first, unsigned count, int ctl_fd);

/* lg_http.c: response heads. The status code (-1 if not HTTP/1.x), and the
 * value of header name (case-insensitive) with its length, or NULL. */
int lg_http_status(const char *head, size_t len);
const char *lg_http_header(const char *head, size_t len, const char *name, size_t *vlen);

/* lg_sse.c: event-stream client pieces. head_ok: a 200 text/event-stream
 * head without chunked encoding. parse: one event at buf; returns 1 with
 * its data (data: lines joined by "\n", rewritten in place at buf; NULL for
 * a comment-only event) and its length in the buffer, 0 if incomplete. */
int lg_sse_head_ok(const char *head, size_t len);
int lg_sse_parse(unsigned char *buf, size_t len, unsigned char **data, size_t *dlen,
                 size_t *event_len);

/* lg_ws.c: WebSocket client pieces and HS256 tokens */
size_t lg_b64(const unsigned char *in, size_t n, char *out, int url);
void lg_ws_key(unsigned idx, char key[32]);
int lg_ws_accept_ok(const char *key, const char *resp, size_t len);
size_t lg_ws_frame(unsigned char *out, size_t cap, int opcode, const void *payload, size_t n,
                   uint32_t mask);
int lg_ws_parse(const unsigned char *buf, size_t len, int *opcode, const unsigned char **payload,
                uint64_t *plen, size_t *frame_len);
int lg_jwt_mint(const char *secret, const char *channels_fmt, unsigned idx, long ttl,
                char *out, size_t cap);

/* lg_sys.c: clocks, /proc sampling, publishers */
uint64_t lg_now_ns(void);          /* CLOCK_REALTIME, the clock embedded in payloads */
uint64_t lg_mono_ns(void);
void lg_sleep(double s);
int lg_proc_tree(pid_t root, pid_t *pids, int cap);
double lg_proc_cpu_s(pid_t root);  /* utime+stime of root and its descendants */
double lg_proc_mem_kib(pid_t root);/* sum of Pss (VmRSS if unavailable) */
int lg_tcp_connect(const char *host, int port);
int lg_pub_open(const struct lg_opts *o);
int lg_pub_send(const struct lg_opts *o, int fd, const char *channel, const char *payload,
                int wait_reply);
int lg_pub_drain(const struct lg_opts *o, int fd);

#endif
