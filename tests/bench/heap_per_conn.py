#!/usr/bin/python3
"""Where an idle connection's bytes go (issue 15): live heap bytes per
connection of livegate's worker for WebSockets and event streams.

run.sh's memory figure (Pss after minus before, per connection) counts every
page the worker touched, freed or not, so it moves by a few hundred bytes per
connection between two runs of the same thing: buffers of the handshakes in
flight are freed, but their pages stay resident, and how many were in flight
at once depends on timing. This asks glibc itself: `malloc_stats()` (called
in the worker with gdb) before the clients connect and once they are all
subscribed and settled; *in use* is the bytes of live allocations, *system*
what the heap took from the kernel. One fresh livegate (1 worker) per
measurement, the load generator's clients (tests/bench/loadgen.c) idle.

    sudo /usr/bin/python3 tests/bench/heap_per_conn.py --livegate BIN \\
        [--sizes 1000,5000,18000] [--rounds 1] [--write-doc docs/benchmarks.md]

Needs gcc, libssl-dev, redis-server and gdb (ptrace of the worker: root).
About 20 s per measurement.
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from report import splice_section  # noqa: E402

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
TRANSPORTS = (("WebSocket", "livegate", "/ws"), ("stream", "sse", "/sse"))
LG_SOURCES = ("loadgen.c", "lg_child.c", "lg_ws.c", "lg_sse.c", "lg_http.c", "lg_sys.c")
TOTAL_RE = re.compile(r"Total \(incl\. mmap\):\s*system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise SystemExit("heap_per_conn: timed out waiting for %s" % what)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def heap(worker, log):
    """(system, in use) bytes of the worker's heap: malloc_stats() writes
    them to the worker's stderr, which is log."""
    before = os.path.getsize(log)
    res = subprocess.run(["gdb", "-p", str(worker), "-batch", "-ex", "call (void)malloc_stats()"],
                         capture_output=True, text=True, timeout=60)
    text = ""
    for _ in range(100):
        with open(log, encoding="utf-8", errors="replace") as f:
            f.seek(before)
            text = f.read()
        if TOTAL_RE.search(text):
            break
        time.sleep(0.05)
    m = TOTAL_RE.search(text)
    if not m:
        raise SystemExit("heap_per_conn: no malloc_stats from the worker (gdb: %s)"
                         % (res.stderr.strip().splitlines() or ["?"])[-1])
    return int(m.group(1)), int(m.group(2))


def measure(args, loadgen, redis_port, work, n, proto, path):
    pub, priv = free_port(), free_port()
    log = os.path.join(work, "livegate-%s-%d.log" % (proto, n))
    env = dict(os.environ, LIVEGATE_SECRET=SECRET, LIVEGATE_REDIS_URL="redis://127.0.0.1:%d" % redis_port,
               LIVEGATE_PUBLIC_ADDR="127.0.0.1:%d" % pub, LIVEGATE_PRIVATE_ADDR="127.0.0.1:%d" % priv,
               LIVEGATE_WORKERS="1", LIVEGATE_LOG_LEVEL="error")
    with open(log, "w") as errf:
        lg = subprocess.Popen([args.livegate], env=env, stderr=errf, stdout=subprocess.DEVNULL)
    try:
        def ready():
            try:
                return urllib.request.urlopen("http://127.0.0.1:%d/readyz" % priv, timeout=2).status == 200
            except OSError:
                return False
        wait_until(ready, 30, "livegate's /readyz")
        wait_until(lambda: children(lg.pid), 10, "livegate's worker")
        worker = children(lg.pid)[0]
        time.sleep(0.3)
        h0 = heap(worker, log)
        flag = os.path.join(work, "ready-%s-%d" % (proto, n))
        cmd = [loadgen, "--port", str(pub), "--proto", proto, "--path", path, "--secret", SECRET,
               "--channels", "bench", "--pub-port", str(redis_port), "--mode", "idle",
               "--clients", str(n), "--duration", "3", "--settle", "1", "--server-pid", str(lg.pid),
               "--scenario", "heap", "--server-name", proto, "--ready-file", flag]
        gen = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        wait_until(lambda: os.path.exists(flag) or gen.poll() is not None, 180, "the clients")
        h1 = heap(worker, log)
        out, _ = gen.communicate(timeout=120)
        if gen.returncode != 0:
            raise SystemExit("heap_per_conn: loadgen failed: %s" % " ".join(cmd))
        r = json.loads(out)
        ready_n = r["ready"]
        return {"clients": n, "proto": proto, "ready": ready_n,
                "system_b": (h1[0] - h0[0]) / max(ready_n, 1), "in_use_b": (h1[1] - h0[1]) / max(ready_n, 1),
                "pss_kib": r["mem_kib_per_conn"], "load1": float(open("/proc/loadavg").read().split()[0])}
    finally:
        stop(lg)


def table(rows):
    by = {}
    for r in rows:
        by.setdefault((r["clients"], r["proto"]), []).append(r)
    out = ["| connections | transport | subscribed | live heap (in use), bytes/connection "
           "| heap taken from the kernel (system), bytes/connection | Pss, KiB/connection | runs |",
           "|---:|---|---:|---:|---:|---:|---:|"]
    diffs = []
    for n in sorted({k[0] for k in by}):
        med = {}
        for name, proto, _ in TRANSPORTS:
            rs = by.get((n, proto), [])
            if not rs:
                continue
            m = {k: statistics.median(r[k] for r in rs) for k in ("in_use_b", "system_b", "pss_kib")}
            med[proto] = m
            out.append("| {:,} | {} | {:,} | {:.0f} | {:.0f} | {:.2f} | {} |".format(
                n, name, min(r["ready"] for r in rs), m["in_use_b"], m["system_b"], m["pss_kib"], len(rs)))
        if len(med) == 2:
            diffs.append((n, med["sse"]["in_use_b"] - med["livegate"]["in_use_b"]))
    return out, diffs


def section(rows, args, took):
    tab, diffs = table(rows)
    loads = [r["load1"] for r in rows]
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return ["<!-- heap-per-conn:begin (tests/bench/heap_per_conn.py --write-doc writes this section) -->",
            "## 4b. Live heap per idle connection: stream and WebSocket", "",
            "Generated by `tests/bench/heap_per_conn.py` on %s in %.0f s (%d round(s), medians; load "
            "average %.1f–%.1f: the machine is shared). Section 4's memory figure is Pss, which also "
            "counts pages freed but still resident (the buffers of the handshakes that were in flight "
            "at once, a matter of timing); this one asks glibc: `malloc_stats()` in livegate's worker "
            "(via gdb) before the clients connect and once they are subscribed and settled, divided "
            "by the clients. One fresh livegate (1 worker) per row; the load generator's clients, "
            "idle." % (now, took, args.rounds, min(loads), max(loads)), "",
            ] + tab + ["",
            "Stream minus WebSocket, live heap: " + "; ".join(
                "{:,}: {:+.0f} bytes per connection".format(n, d) for n, d in diffs) + ".", "",
            "```",
            "/usr/bin/python3 tests/bench/heap_per_conn.py --livegate BIN --sizes %s --rounds %d "
            "--write-doc docs/benchmarks.md" % (",".join(str(n) for n in args.sizes), args.rounds),
            "```", "", "<!-- heap-per-conn:end -->"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--livegate", required=True, help="the livegate binary (a release build)")
    ap.add_argument("--sizes", default="1000,5000,18000",
                    type=lambda s: [int(x) for x in s.split(",") if x])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--write-doc", metavar="PATH", help="write the section into this file")
    args = ap.parse_args()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lg-heap-") as work:
        loadgen = os.path.join(work, "loadgen")
        subprocess.run(["gcc", "-O2", "-o", loadgen] + [os.path.join(HERE, s) for s in LG_SOURCES]
                       + ["-lcrypto"], check=True)
        redis_port = free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        rows = []
        try:
            def redis_up():
                try:
                    socket.create_connection(("127.0.0.1", redis_port), 1).close()
                    return True
                except OSError:
                    return False
            wait_until(redis_up, 10, "redis-server")
            for rnd in range(args.rounds):
                for n in args.sizes:
                    order = TRANSPORTS if (rnd + n) % 2 == 0 else TRANSPORTS[::-1]
                    for name, proto, path in order:
                        r = measure(args, loadgen, redis_port, work, n, proto, path)
                        rows.append(r)
                        print("%s %d: %d subscribed, in use %.0f B/conn, system %.0f B/conn, Pss %.2f KiB/conn"
                              % (name, n, r["ready"], r["in_use_b"], r["system_b"], r["pss_kib"]), flush=True)
        finally:
            stop(redis)
    print("\n".join(table(rows)[0]))
    if args.write_doc:
        splice_section(args.write_doc, "heap-per-conn", section(rows, args, time.monotonic() - t0))


if __name__ == "__main__":
    main()
