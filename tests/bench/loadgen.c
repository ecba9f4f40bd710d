/* loadgen: the benchmark's load generator (WebSocket and event-stream clients).
 *
 * The parent forks children that hold the clients (lg_child.c), publishes,
 * samples the server's CPU and memory from /proc, merges what the children
 * measured and prints one JSON line per run. Run with --help for options. */
#define _GNU_SOURCE
#include "lg.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct kid {
    pid_t pid;
    int fd;
    char buf[4096];
    size_t len;
    int got_ready, got_report;
    unsigned ready, refused, failed;
    unsigned long long connect_ns;
    long long done_seq;          /* highest DONE seen */
};

static struct kid kids[LG_MAX_PROCS];
static unsigned nkids;

static void usage(void)
{
    fprintf(stderr,
        "usage: loadgen --port P [options]\n"
        "  --host A --path /ws --proto livegate|generic|sse --mode fanout|rate|idle|storm\n"
        "    (sse: livegate's event stream, POST to --path, e.g. /sse)\n"
        "  --clients N --procs K --src-base 2 --per-src 15000 --inflight 1000\n"
        "  --connect-timeout S --secret KEY --channels 'bench' (\"%%u\" = client index)\n"
        "  --pub redis|http --pub-host A --pub-port P --pub-path /pub --channel bench\n"
        "  --messages M --gap S --msg-timeout S\n"
        "  --rate R --shared-rate R --own-fmt own:%%u --shared-channel shared --duration S\n"
        "  --server-pid PID --scenario NAME --server-name NAME --settle S\n"
        "  --baton-in FIFO --baton-out FIFO --ready-file PATH (take turns with a second loadgen)\n");
}

/* Parses the text lines a child sent; stops at "REPORT" (binary follows). */
static void parse_lines(struct kid *k)
{
    for (;;) {
        char *nl = memchr(k->buf, '\n', k->len);
        if (!nl || k->got_report) return;
        *nl = '\0';
        if (!strncmp(k->buf, "READY ", 6)) {
            sscanf(k->buf + 6, "%u %u %u %llu", &k->ready, &k->refused, &k->failed,
                   &k->connect_ns);
            k->got_ready = 1;
        } else if (!strncmp(k->buf, "DONE ", 5)) {
            long long s = atoll(k->buf + 5);
            if (s > k->done_seq) k->done_seq = s;
        } else if (!strcmp(k->buf, "REPORT")) {
            k->got_report = 1;
        }
        size_t used = (size_t)(nl + 1 - k->buf);
        memmove(k->buf, nl + 1, k->len - used);
        k->len -= used;
    }
}

/* Reads what the children sent, up to timeout_ms. Returns -1 if a child died. */
static int pump(int timeout_ms)
{
    struct pollfd p[LG_MAX_PROCS];
    for (unsigned i = 0; i < nkids; i++) p[i] = (struct pollfd){.fd = kids[i].fd, .events = POLLIN};
    int n = poll(p, nkids, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (unsigned i = 0; i < nkids; i++) {
        if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
        struct kid *k = &kids[i];
        if (k->got_report) continue;
        ssize_t r = read(k->fd, k->buf + k->len, sizeof k->buf - k->len);
        if (r <= 0) return -1;
        k->len += (size_t)r;
        parse_lines(k);
    }
    return 0;
}

static int read_exact(struct kid *k, void *dst, size_t n)
{
    char *d = dst;
    size_t take = k->len < n ? k->len : n;
    memcpy(d, k->buf, take);
    memmove(k->buf, k->buf + take, k->len - take);
    k->len -= take;
    d += take;
    n -= take;
    while (n) {
        ssize_t r = read(k->fd, d, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        d += r;
        n -= (size_t)r;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const uint64_t *v, size_t n, double p)
{
    if (!n) return -1;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

static unsigned kids_with_clients(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nkids; i++) n += kids[i].ready > 0;
    return n;
}

/* Turn-taking with a second load generator that measures another server on
 * the same cores at the same time: each publishes only while it holds the
 * baton (one byte through a FIFO) and passes it on after the message has
 * reached every client. The two servers' messages alternate, so a change of
 * the machine's speed during the run (this VM's runs vary by about 20 %)
 * falls on both alike. FIFOs are opened O_RDWR so neither open nor a partner
 * that has finished blocks or breaks the pipe. */
static int baton_in = -1, baton_out = -1;
#define LG_FIRST_TURN_S 900.0 /* a ring of up to a dozen connect phases */

/* Waits up to timeout_s for the baton, reading the children meanwhile.
 * Returns 0 with the baton, -1 on timeout or a dead child. */
static int baton_take(double timeout_s)
{
    if (baton_in < 0) return 0;
    uint64_t deadline = lg_mono_ns() + (uint64_t)(timeout_s * 1e9);
    while (lg_mono_ns() < deadline) {
        char b;
        ssize_t r = read(baton_in, &b, 1);
        if (r == 1) return 0;
        if (r < 0 && errno != EAGAIN && errno != EINTR) return -1;
        if (pump(2) != 0) return -1;
    }
    fprintf(stderr, "loadgen: the partner did not pass the baton within %.0f s\n", timeout_s);
    return -1;
}

static void baton_pass(void)
{
    if (baton_out >= 0 && write(baton_out, "B", 1) != 1)
        fprintf(stderr, "loadgen: passing the baton: %s\n", strerror(errno));
}

static int baton_open(const char *in, const char *out)
{
    if (!in && !out) return 0;
    if (!in || !out) {
        fprintf(stderr, "loadgen: --baton-in and --baton-out go together\n");
        return -1;
    }
    baton_in = open(in, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    baton_out = open(out, O_RDWR | O_CLOEXEC);
    if (baton_in < 0 || baton_out < 0) {
        fprintf(stderr, "loadgen: opening the baton FIFOs: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* Fan-out: publishes seq and waits until every child has it on all clients. */
static int fanout_one(const struct lg_opts *o, int pubfd, unsigned seq)
{
    char payload[96];
    snprintf(payload, sizeof payload, "{\"seq\":%u,\"t\":%llu}", seq,
             (unsigned long long)lg_now_ns());
    if (lg_pub_send(o, pubfd, o->channel, payload, 1) != 0) return -1;
    uint64_t deadline = lg_mono_ns() + (uint64_t)(o->msg_timeout * 1e9);
    unsigned want = kids_with_clients();
    while (lg_mono_ns() < deadline) {
        unsigned done = 0;
        for (unsigned i = 0; i < nkids; i++) done += kids[i].ready > 0 && kids[i].done_seq >= seq;
        if (done >= want) return 0;
        if (pump(20) != 0) return -1;
    }
    return 1; /* timed out: some deliveries were lost */
}

struct rate_stats { unsigned long long own, shared; double secs; };

/* Rate mode: paced, pipelined PUBLISHes on the clients' own channels and the
 * shared one, for o->duration seconds. */
static int rate_run(const struct lg_opts *o, int pubfd, struct rate_stats *st)
{
    uint64_t t0 = lg_mono_ns(), end = t0 + (uint64_t)(o->duration * 1e9);
    unsigned seq = 1;
    uint64_t rnd = 0x853c49e6748fea9bull;
    char ch[256], payload[96];
    while (lg_mono_ns() < end) {
        double el = (double)(lg_mono_ns() - t0) / 1e9;
        unsigned long long want_own = (unsigned long long)(el * o->rate);
        unsigned long long want_sh = (unsigned long long)(el * o->shared_rate);
        /* Bounded catch-up per tick keeps one stall from becoming a burst. */
        for (int b = 0; b < 200 && (st->own < want_own || st->shared < want_sh); b++) {
            int shared = st->shared < want_sh;
            if (shared) {
                snprintf(ch, sizeof ch, "%s", o->shared_channel);
            } else {
                rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
                unsigned idx = (unsigned)((rnd >> 33) % o->clients);
                snprintf(ch, sizeof ch, o->own_fmt, idx);
            }
            snprintf(payload, sizeof payload, "{\"seq\":%u,\"t\":%llu}", seq++,
                     (unsigned long long)lg_now_ns());
            if (lg_pub_send(o, pubfd, ch, payload, 0) != 0) return -1;
            if (shared) st->shared++;
            else st->own++;
        }
        if (lg_pub_drain(o, pubfd) != 0) return -1;
        pump(0);
        lg_sleep(0.001);
    }
    st->secs = (double)(lg_mono_ns() - t0) / 1e9;
    return 0;
}

static int parse_args(int argc, char **argv, struct lg_opts *o)
{
    *o = (struct lg_opts){
        .host = "127.0.0.1", .path = "/ws", .proto = LG_PROTO_LIVEGATE, .mode = LG_MODE_FANOUT,
        .clients = 1000, .src_base = 2, .per_src = 15000, .inflight = 1000,
        .connect_timeout = 60, .channels = "bench", .pub = LG_PUB_REDIS,
        .pub_host = "127.0.0.1", .pub_port = 6379, .pub_path = "/pub", .channel = "bench",
        .messages = 10, .gap = 0.2, .msg_timeout = 10, .rate = 5000, .shared_rate = 1,
        .own_fmt = "own:%u", .shared_channel = "shared", .duration = 10, .scenario = "run",
        .server_name = "server", .settle = 1.0,
    };
    static const struct option lo[] = {
        {"host", 1, 0, 'h'}, {"port", 1, 0, 'p'}, {"path", 1, 0, 'P'}, {"proto", 1, 0, 'x'},
        {"mode", 1, 0, 'm'}, {"clients", 1, 0, 'n'}, {"procs", 1, 0, 'k'},
        {"src-base", 1, 0, 'b'}, {"per-src", 1, 0, 'B'}, {"inflight", 1, 0, 'i'},
        {"connect-timeout", 1, 0, 'T'}, {"secret", 1, 0, 's'}, {"channels", 1, 0, 'c'},
        {"pub", 1, 0, 'u'}, {"pub-host", 1, 0, 'H'}, {"pub-port", 1, 0, 'O'},
        {"pub-path", 1, 0, 'U'}, {"channel", 1, 0, 'C'}, {"messages", 1, 0, 'M'},
        {"gap", 1, 0, 'g'}, {"msg-timeout", 1, 0, 't'}, {"rate", 1, 0, 'r'},
        {"shared-rate", 1, 0, 'R'}, {"own-fmt", 1, 0, 'o'}, {"shared-channel", 1, 0, 'S'},
        {"duration", 1, 0, 'd'}, {"server-pid", 1, 0, 'z'}, {"scenario", 1, 0, 'N'},
        {"server-name", 1, 0, 'Z'}, {"settle", 1, 0, 'e'}, {"baton-in", 1, 0, 'I'},
        {"baton-out", 1, 0, 'J'}, {"ready-file", 1, 0, 'F'}, {"help", 0, 0, '?'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'h': o->host = optarg; break;
        case 'p': o->port = atoi(optarg); break;
        case 'P': o->path = optarg; break;
        case 'x':
            if (!strcmp(optarg, "generic")) o->proto = LG_PROTO_GENERIC;
            else if (!strcmp(optarg, "sse")) o->proto = LG_PROTO_SSE;
            else if (!strcmp(optarg, "livegate")) o->proto = LG_PROTO_LIVEGATE;
            else {
                fprintf(stderr, "loadgen: unknown --proto %s\n", optarg);
                return -1;
            }
            break;
        case 'm':
            o->mode = !strcmp(optarg, "rate") ? LG_MODE_RATE : !strcmp(optarg, "idle") ? LG_MODE_IDLE
                    : !strcmp(optarg, "storm") ? LG_MODE_STORM : LG_MODE_FANOUT;
            break;
        case 'n': o->clients = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'k': o->procs = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'b': o->src_base = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'B': o->per_src = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'i': o->inflight = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'T': o->connect_timeout = atof(optarg); break;
        case 's': o->secret = optarg; break;
        case 'c': o->channels = optarg; break;
        case 'u': o->pub = !strcmp(optarg, "http") ? LG_PUB_HTTP : LG_PUB_REDIS; break;
        case 'H': o->pub_host = optarg; break;
        case 'O': o->pub_port = atoi(optarg); break;
        case 'U': o->pub_path = optarg; break;
        case 'C': o->channel = optarg; break;
        case 'M': o->messages = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'g': o->gap = atof(optarg); break;
        case 't': o->msg_timeout = atof(optarg); break;
        case 'r': o->rate = atof(optarg); break;
        case 'R': o->shared_rate = atof(optarg); break;
        case 'o': o->own_fmt = optarg; break;
        case 'S': o->shared_channel = optarg; break;
        case 'd': o->duration = atof(optarg); break;
        case 'z': o->server_pid = (pid_t)atoi(optarg); break;
        case 'N': o->scenario = optarg; break;
        case 'Z': o->server_name = optarg; break;
        case 'e': o->settle = atof(optarg); break;
        case 'I': o->baton_in = optarg; break;
        case 'J': o->baton_out = optarg; break;
        case 'F': o->ready_file = optarg; break;
        default: usage(); return -1;
        }
    }
    if (o->port <= 0 || !o->clients || !o->per_src || o->messages >= LG_MAX_SEQ ||
        (o->proto != LG_PROTO_GENERIC && !o->secret)) {
        usage();
        return -1;
    }
    if (!o->procs) o->procs = (o->clients + 17999) / 18000;
    if (o->procs > LG_MAX_PROCS) o->procs = LG_MAX_PROCS;
    /* One process holds at most ~19,000 sockets under a 20,000 fd limit. */
    if ((o->clients + o->procs - 1) / o->procs > 19000) {
        fprintf(stderr, "loadgen: %u clients need more than %u processes\n", o->clients, o->procs);
        return -1;
    }
    if (o->src_base + o->clients / o->per_src > 254) {
        fprintf(stderr, "loadgen: not enough 127.0.0.x source addresses\n");
        return -1;
    }
    return 0;
}

static int spawn(const struct lg_opts *o)
{
    for (unsigned i = 0; i < o->procs; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
        unsigned first = (unsigned)((unsigned long long)o->clients * i / o->procs);
        unsigned last = (unsigned)((unsigned long long)o->clients * (i + 1) / o->procs);
        pid_t p = fork();
        if (p < 0) return -1;
        if (p == 0) {
            close(sv[0]);
            for (unsigned j = 0; j < nkids; j++) close(kids[j].fd);
            _exit(lg_child_run(o, first, last - first, sv[1]));
        }
        close(sv[1]);
        kids[nkids++] = (struct kid){.pid = p, .fd = sv[0], .done_seq = -1};
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct lg_opts o;
    int pubfd = -1;
    if (parse_args(argc, argv, &o) != 0) return 2;
    if (baton_open(o.baton_in, o.baton_out) != 0) return 2;
    signal(SIGPIPE, SIG_IGN);
    double mem0 = o.server_pid ? lg_proc_mem_kib(o.server_pid) : 0;
    double cpu_c0 = o.server_pid ? lg_proc_cpu_s(o.server_pid) : 0;
    if (spawn(&o) != 0) {
        perror("loadgen: spawn");
        return 1;
    }
    for (unsigned i = 0; i < nkids; i++)
        if (write(kids[i].fd, "G", 1) != 1) return 1;
    /* Connect phase: every child reports READY by its own deadline. */
    uint64_t limit = lg_mono_ns() + (uint64_t)((o.connect_timeout + 10) * 1e9);
    int rc = 0;
    for (;;) {
        unsigned got = 0;
        for (unsigned i = 0; i < nkids; i++) got += kids[i].got_ready;
        if (got == nkids) break;
        if (lg_mono_ns() > limit || pump(100) != 0) {
            fprintf(stderr, "loadgen: children did not finish connecting\n");
            rc = 1;
            goto out;
        }
    }
    double cpu_c1 = o.server_pid ? lg_proc_cpu_s(o.server_pid) : 0;
    unsigned ready = 0, refused = 0, failed = 0;
    unsigned long long connect_ns = 0;
    for (unsigned i = 0; i < nkids; i++) {
        ready += kids[i].ready;
        refused += kids[i].refused;
        failed += kids[i].failed;
        if (kids[i].connect_ns > connect_ns) connect_ns = kids[i].connect_ns;
    }
    lg_sleep(o.settle);
    double mem1 = o.server_pid ? lg_proc_mem_kib(o.server_pid) : 0;
    if (o.ready_file) {
        int fd = open(o.ready_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "loadgen: creating %s: %s\n", o.ready_file, strerror(errno));
            rc = 1;
            goto out;
        }
        close(fd);
    }

    double cpu_a = 0, cpu_b = 0, window = 0;
    unsigned timeouts = 0;
    struct rate_stats rs = {0};
    if (ready && (o.mode == LG_MODE_FANOUT || o.mode == LG_MODE_RATE)) {
        pubfd = lg_pub_open(&o);
        if (pubfd < 0) {
            fprintf(stderr, "loadgen: cannot reach the publisher %s:%d\n", o.pub_host, o.pub_port);
            rc = 1;
            goto out;
        }
    }
    if (ready && o.mode == LG_MODE_FANOUT) {
        /* The first turn waits for the partners' connect phases as well
         * (run.sh lets them connect one after the other, then gives the
         * first turn, also when one of them died). */
        if (baton_take(LG_FIRST_TURN_S) != 0) { rc = 1; goto out; }
        if (fanout_one(&o, pubfd, 0) < 0) { rc = 1; goto out; } /* warm-up, not measured */
        lg_sleep(o.gap);
        baton_pass();
        /* With a partner, only our own turns count: its messages run between them. */
        for (unsigned s = 1; s <= o.messages; s++) {
            if (baton_take(o.msg_timeout + o.gap + 30) != 0) { rc = 1; goto out; }
            double c0 = o.server_pid ? lg_proc_cpu_s(o.server_pid) : 0;
            uint64_t t0 = lg_mono_ns();
            int r = fanout_one(&o, pubfd, s);
            if (r < 0) { rc = 1; goto out; }
            timeouts += r;
            lg_sleep(o.gap);
            window += (double)(lg_mono_ns() - t0) / 1e9;
            cpu_b += (o.server_pid ? lg_proc_cpu_s(o.server_pid) : 0) - c0;
            baton_pass();
        }
    } else if (ready && o.mode == LG_MODE_RATE) {
        cpu_a = o.server_pid ? lg_proc_cpu_s(o.server_pid) : 0;
        if (rate_run(&o, pubfd, &rs) != 0) { rc = 1; goto out; }
        /* Let the last deliveries arrive before sampling. */
        for (int i = 0; i < 20; i++) pump(100);
        cpu_b = o.server_pid ? lg_proc_cpu_s(o.server_pid) : 0;
        window = rs.secs + 2.0;
    } else if (ready && o.mode == LG_MODE_IDLE) {
        cpu_a = o.server_pid ? lg_proc_cpu_s(o.server_pid) : 0;
        uint64_t end = lg_mono_ns() + (uint64_t)(o.duration * 1e9);
        while (lg_mono_ns() < end) pump(200);
        cpu_b = o.server_pid ? lg_proc_cpu_s(o.server_pid) : 0;
        window = o.duration;
    }

    /* Memory again once the measurement is over (idle: after the server's
     * keep-alives went out): what the connections cost when in use. */
    double mem2 = o.server_pid ? lg_proc_mem_kib(o.server_pid) : 0;

    /* Collect the children's reports. */
    for (int i = 0; i < 5; i++) pump(20);
    uint64_t *lat = NULL, *seqmax = NULL;
    size_t nlat = 0, nseq = 0;
    unsigned long long dropped = 0, bad = 0;
    unsigned live = 0;
    for (unsigned i = 0; i < nkids; i++) {
        struct kid *k = &kids[i];
        if (write(k->fd, "R", 1) != 1) { rc = 1; goto out; }
        while (!k->got_report) {
            ssize_t r = read(k->fd, k->buf + k->len, sizeof k->buf - k->len);
            if (r <= 0) { rc = 1; goto out; }
            k->len += (size_t)r;
            parse_lines(k);
        }
        struct lg_report rp;
        if (read_exact(k, &rp, sizeof rp) != 0) { rc = 1; goto out; }
        uint64_t *nl = realloc(lat, (nlat + rp.lat_count + 1) * sizeof *lat);
        if (!nl) { rc = 1; goto out; }
        lat = nl;
        if (read_exact(k, lat + nlat, rp.lat_count * sizeof *lat) != 0) { rc = 1; goto out; }
        nlat += rp.lat_count;
        if (rp.seq_count) {
            uint64_t *sm = malloc(rp.seq_count * sizeof *sm);
            if (!sm || read_exact(k, sm, rp.seq_count * sizeof *sm) != 0) { free(sm); rc = 1; goto out; }
            if (!seqmax) {
                seqmax = calloc(rp.seq_count, sizeof *seqmax);
                nseq = rp.seq_count;
            }
            for (size_t s = 0; seqmax && s < nseq && s < rp.seq_count; s++)
                if (sm[s] > seqmax[s]) seqmax[s] = sm[s];
            free(sm);
        }
        dropped += rp.dropped;
        bad += rp.bad_frames;
        live += (unsigned)rp.ready;
    }
    qsort(lat, nlat, sizeof *lat, cmp_u64);

    /* Time until the last subscriber has each message (seq 0 is the warm-up). */
    double last_p50 = -1, last_max = -1, fan_rate = -1;
    if (nseq > 1 && nlat > 0) {
        uint64_t *l = malloc((nseq - 1) * sizeof *l);
        if (l) {
            memcpy(l, seqmax + 1, (nseq - 1) * sizeof *l);
            qsort(l, nseq - 1, sizeof *l, cmp_u64);
            last_p50 = pct_ms(l, nseq - 1, 0.5);
            last_max = pct_ms(l, nseq - 1, 1.0);
            if (last_p50 > 0) fan_rate = (double)ready / (last_p50 / 1e3);
            free(l);
        }
    }
    double cpu = cpu_b - cpu_a;
    unsigned long long expected = o.mode == LG_MODE_FANOUT ? (unsigned long long)ready * o.messages
                                  : o.mode == LG_MODE_RATE ? rs.own + rs.shared * ready : 0;
    printf("{\"scenario\":\"%s\",\"server\":\"%s\",\"mode\":\"%s\",\"clients\":%u,\"procs\":%u,"
           "\"ready\":%u,\"refused\":%u,\"failed\":%u,\"dropped\":%llu,\"bad_frames\":%llu,"
           "\"connect_s\":%.3f,\"connect_cpu_s\":%.3f,\"mem_kib_before\":%.0f,\"mem_kib_after\":%.0f,"
           "\"mem_kib_per_conn\":%.3f,\"mem_kib_end\":%.0f,\"messages\":%u,\"msg_timeouts\":%u,"
           "\"publishes_own\":%llu,\"publishes_shared\":%llu,"
           "\"deliveries\":%zu,\"expected\":%llu,\"lat_p50_ms\":%.3f,\"lat_p99_ms\":%.3f,"
           "\"lat_max_ms\":%.3f,\"last_p50_ms\":%.3f,\"last_max_ms\":%.3f,"
           "\"fanout_deliveries_per_s\":%.0f,\"deliveries_per_s\":%.0f,\"window_s\":%.3f,"
           "\"server_cpu_s\":%.3f,\"cpu_us_per_delivery\":%.3f,\"cpu_pct\":%.3f,\"live_at_end\":%u}\n",
           o.scenario, o.server_name,
           o.mode == LG_MODE_FANOUT ? "fanout" : o.mode == LG_MODE_RATE ? "rate"
           : o.mode == LG_MODE_IDLE ? "idle" : "storm",
           o.clients, o.procs, ready, refused, failed, dropped, bad, (double)connect_ns / 1e9,
           cpu_c1 - cpu_c0, mem0, mem1, ready ? (mem1 - mem0) / ready : 0.0, mem2, o.messages, timeouts,
           rs.own, rs.shared, nlat, expected, pct_ms(lat, nlat, 0.5), pct_ms(lat, nlat, 0.99),
           pct_ms(lat, nlat, 1.0), last_p50, last_max, fan_rate,
           window > 0 ? (double)nlat / window : 0.0, window, cpu,
           nlat ? cpu * 1e6 / (double)nlat : 0.0, window > 0 ? cpu * 100.0 / window : 0.0, live);
    fflush(stdout);
    free(lat);
    free(seqmax);
out:
    if (pubfd >= 0) close(pubfd);
    for (unsigned i = 0; i < nkids; i++) {
        if (write(kids[i].fd, "Q", 1) != 1) kill(kids[i].pid, SIGTERM);
        close(kids[i].fd);
    }
    for (unsigned i = 0; i < nkids; i++) waitpid(kids[i].pid, NULL, 0);
    return rc;
}
