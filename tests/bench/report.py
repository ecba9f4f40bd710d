#!/usr/bin/python3
"""Writes docs/benchmarks.md (and its PNG plot) from one run.sh run.

Input: the JSON lines of loadgen and wrk2json (one per measurement), the
commands that produced them, and facts about the machine gathered here.
Rounds of the same measurement are summarised by their median."""
import argparse
import datetime
import hashlib
import json
import re
import os
import statistics
import subprocess
from collections import defaultdict

SERVER_LABEL = {
    "floor": "floor (bare send loop)",
    "livegate-w1": "livegate, 1 worker",
    "livegate-w2": "livegate, 2 workers",
    "livegate-w4": "livegate, 4 workers",
    "livegate-sse-w1": "livegate, 1 worker, event stream",
    "nchan-w1": "Nchan, 1 nginx worker",
    "nchan-w2": "Nchan, 2 nginx workers",
    "node": "Node.js ws + ioredis",
}
ORDER = ["livegate-w1", "livegate-sse-w1", "livegate-w2", "livegate-w4", "floor", "nchan-w1",
         "nchan-w2", "node"]


def sh(cmd):
    try:
        out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20)
        return (out.stdout + out.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def livegate_desc(root, livegate):
    """The binary measured: path, digest and the source it was built from."""
    if not livegate or not os.path.exists(livegate):
        return "not run"
    digest = hashlib.sha256(open(livegate, "rb").read()).hexdigest()[:12]
    rev = sh("git -C %s rev-parse --short HEAD 2>/dev/null" % root) or "no commit yet"
    return "%s (sha256 %s, source %s, release build)" % (livegate, digest, rev)


def machine(root, livegate):
    lscpu = {}
    for line in sh("lscpu").splitlines():
        k, _, v = line.partition(":")
        lscpu[k.strip()] = v.strip()

    def npm_version(pkg):
        path = os.path.join(root, "tests/bench/node/node_modules", pkg, "package.json")
        try:
            return json.load(open(path, encoding="utf-8"))["version"]
        except (OSError, ValueError, KeyError):
            return "?"

    mem = sh("free -g | awk '/Mem:/{print $2}'")
    return [
        ("CPU", "%s, %s CPUs (%s), %s" % (lscpu.get("Model name", "?"), lscpu.get("CPU(s)", "?"),
                                          lscpu.get("Hypervisor vendor", "bare metal"),
                                          lscpu.get("Virtualization type", ""))),
        ("Memory", "%s GiB" % mem),
        ("Kernel", sh("uname -sr")),
        ("OS", "Debian " + sh("cat /etc/debian_version")),
        ("Open files per process", sh("bash -c 'ulimit -n'")),
        ("livegate", livegate_desc(root, livegate)),
        ("Nchan", sh("dpkg-query -W -f='${Version}' libnginx-mod-nchan") + " on nginx "
         + sh("nginx -v 2>&1").replace("nginx version: ", "")),
        ("Node.js", "%s, ws %s, ioredis %s" % (sh("node --version"), npm_version("ws"),
                                                npm_version("ioredis"))),
        ("Redis", sh("redis-server --version").split(" sha=")[0]),
        ("wrk", sh("dpkg-query -W -f='${Version}' wrk")),
        ("Compiler", sh("gcc --version | head -1")),
    ]


def load(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line:
            rows.append(json.loads(line))
    return rows


def summarise(rows):
    """(scenario, server, clients) -> dict of medians over rounds, plus n."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["scenario"], r["server"], r.get("clients", 0))].append(r)
    out = {}
    for key, rs in groups.items():
        agg = {"n": len(rs)}
        for k in rs[0]:
            vals = [r[k] for r in rs if isinstance(r.get(k), (int, float))]
            if vals and len(vals) == len(rs):
                agg[k] = statistics.median(vals)
        agg["min_ready_ratio"] = min(r.get("ready", 0) / max(r.get("clients", 1), 1) for r in rs)
        out[key] = agg
    return out


def fmt(v, nd=1):
    if v is None or (isinstance(v, (int, float)) and v < 0):
        return "–"
    if isinstance(v, float) and nd == 0:
        return "{:,.0f}".format(v)
    return ("{:,.%df}" % nd).format(v)


def fanout_table(summ, scenario, floor_key=True):
    keys = sorted((k for k in summ if k[0] == scenario),
                  key=lambda k: (k[2], ORDER.index(k[1]) if k[1] in ORDER else 99))
    if not keys:
        return ["_not run_", ""]
    lines = ["| subscribers | server | subscribed | p50 ms | p99 ms | max ms | last one ms "
             "| deliveries/s in a fan-out | server CPU µs/delivery | × floor | KiB per connection | runs |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for k in keys:
        s = summ[k]
        fl = summ.get((scenario, "floor", k[2])) if floor_key else None
        ratio = "–"
        if fl and fl.get("cpu_us_per_delivery", 0) > 0:
            ratio = "%.2f" % (s["cpu_us_per_delivery"] / fl["cpu_us_per_delivery"])
        lines.append("| {:,} | {} | {:,}/{:,} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            k[2], SERVER_LABEL.get(k[1], k[1]), int(s["ready"]), k[2], fmt(s["lat_p50_ms"]),
            fmt(s["lat_p99_ms"]), fmt(s["lat_max_ms"]), fmt(s["last_p50_ms"]),
            fmt(s["fanout_deliveries_per_s"], 0), fmt(s["cpu_us_per_delivery"], 2), ratio,
            fmt(s["mem_kib_per_conn"], 2), s["n"]))
    return lines + [""]


def plot(summ, png, workdir):
    """Two panels against subscribers: time until the last subscriber has the
    message, and server CPU per delivery (one-channel runs, one core each)."""
    series = []
    for srv in ORDER:
        pts = sorted((k[2], summ[k]) for k in summ if k[0] == "one-channel" and k[1] == srv)
        if not pts:
            continue
        dat = os.path.join(workdir, "plot-%s.dat" % srv)
        with open(dat, "w", encoding="utf-8") as f:
            for n, s in pts:
                f.write("%d %.3f %.3f %.3f\n" % (n, s["last_p50_ms"], s["lat_p50_ms"],
                                                   s["cpu_us_per_delivery"]))
        series.append((srv, dat))
    # Both-core runs of the largest size: points of their own, in the key.
    two = []
    for srv in ORDER:
        for k in summ:
            if k[0] == "two-cores" and k[1] == srv:
                dat = os.path.join(workdir, "plot-two-%s.dat" % srv)
                with open(dat, "w", encoding="utf-8") as f:
                    f.write("%d %.3f\n" % (k[2], summ[k]["last_p50_ms"]))
                two.append((srv, dat))
    if not series:
        return False
    style = {"livegate-w1": "lc rgb '#d62728' lw 3 pt 7", "floor": "lc rgb '#555555' lw 2 dt 2 pt 6",
             "nchan-w1": "lc rgb '#1f77b4' lw 2 pt 5", "node": "lc rgb '#2ca02c' lw 2 pt 9"}
    gp = ["set terminal pngcairo size 1400,560 font 'DejaVu Sans,12'",
          "set output '%s'" % png,
          "set multiplot layout 1,2 title 'One channel, server on CPU 0, load generator on CPU 1 (medians of the run)'",
          "set grid", "set key top left", "set xlabel 'subscribers'",
          "set format x '%.0s%c'", "set yrange [0:*]", "set offsets graph 0.03, graph 0.03, graph 0.08, 0",
          "set title 'Time until the last subscriber has the message'",
          "set ylabel 'ms (PUBLISH to receipt)'"]
    parts = []
    for srv, dat in series:
        parts.append("'%s' using 1:2 with linespoints %s title '%s'"
                     % (dat, style.get(srv, "lw 2"), SERVER_LABEL.get(srv, srv)))
    two_style = {"livegate-w2": "pt 3 ps 2.2 lc rgb '#d62728'", "nchan-w1": "pt 4 ps 2 lc rgb '#1f77b4'",
                 "nchan-w2": "pt 8 ps 2 lc rgb '#1f77b4'"}
    for srv, dat in two:
        parts.append("'%s' using 1:2 with points %s title '%s, both cores'"
                     % (dat, two_style.get(srv, "pt 2 ps 2"), SERVER_LABEL.get(srv, srv)))
    gp.append("plot " + ", ".join(parts))
    gp += ["set title 'Server CPU per delivery'", "set ylabel 'µs of server CPU per delivered frame'",
           "set key bottom right"]
    gp.append("plot " + ", ".join("'%s' using 1:4 with linespoints %s title '%s'"
                                  % (dat, style.get(srv, "lw 2"), SERVER_LABEL.get(srv, srv))
                                  for srv, dat in series))
    gp.append("unset multiplot")
    script = os.path.join(workdir, "plot.gp")
    open(script, "w", encoding="utf-8").write("\n".join(gp) + "\n")
    res = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if res.returncode != 0:
        print("gnuplot failed:", res.stderr)
        return False
    return True


def pair_rounds(rows):
    """[(subscribers, round, livegate row, floor row)] of the cpu-pair
    scenario, where both ran, in order."""
    by = defaultdict(dict)
    for r in rows:
        if r.get("scenario") == "cpu-pair":
            by[(r["clients"], r.get("round"))][r["server"]] = r
    return [(n, rnd, v["livegate-w1"], v["floor"]) for (n, rnd), v in sorted(by.items())
            if "livegate-w1" in v and "floor" in v]


def pair_ratios(rows):
    """[(subscribers, [livegate/floor CPU per delivery, one per round])] of
    the cpu-pair runs in which every client of both subscribed."""
    out = defaultdict(list)
    for n, rnd, lg, fl in pair_rounds(rows):
        if all(r.get("cpu_us_per_delivery", 0) > 0 and r.get("ready") == r.get("clients")
               for r in (lg, fl)):
            out[n].append(lg["cpu_us_per_delivery"] / fl["cpu_us_per_delivery"])
    return sorted(out.items())


def back_to_back(summ):
    """The table 1 ratios (medians of separate runs), for comparison."""
    cells = []
    for n in sorted({k[2] for k in summ if k[0] == "one-channel"}):
        lg, fl = summ.get(("one-channel", "livegate-w1", n)), summ.get(("one-channel", "floor", n))
        if lg and fl and fl.get("cpu_us_per_delivery", 0) > 0:
            cells.append("%.2f× at %s" % (lg["cpu_us_per_delivery"] / fl["cpu_us_per_delivery"],
                                          "{:,}".format(n)))
    return ", ".join(cells) or "nothing"


def pair_table(rows):
    """Table 1b: every side-by-side run, round by round."""
    runs = pair_rounds(rows)
    if not runs:
        return ["_not run_", ""]
    lines = ["| subscribers | round | first turn | livegate µs/delivery | floor µs/delivery | livegate ÷ floor "
             "| subscribed (livegate, floor) |", "|---:|---:|---|---:|---:|---:|---:|"]
    for n, rnd, lg, fl in runs:
        first = "livegate" if lg.get("turn") == 0 else "floor"
        lines.append("| {:,} | {} | {} | {:.2f} | {:.2f} | {:.2f} | {:,}, {:,} |".format(
            n, rnd, first, lg["cpu_us_per_delivery"], fl["cpu_us_per_delivery"],
            lg["cpu_us_per_delivery"] / fl["cpu_us_per_delivery"], int(lg["ready"]), int(fl["ready"])))
    return lines + [""]


STREAM, WS = "livegate-sse-w1", "livegate-w1"


def median_of(rows, fn):
    vals = [fn(r) for r in rows]
    return statistics.median(vals) if vals else None


def end_kib_per_conn(r):
    """Memory per connection once the idle period is over (keep-alives sent)."""
    return (r["mem_kib_end"] - r["mem_kib_before"]) / r["ready"] if r.get("ready") else 0.0


def stream_memory(rows):
    """[(connections, {server: [rows]})] of the sse-idle scenario."""
    by = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r.get("scenario") == "sse-idle":
            by[r["clients"]][r["server"]].append(r)
    return sorted(by.items())


def stream_memory_table(rows):
    lines = ["| connections | subscribed (WebSocket, stream) | WebSocket KiB/connection | stream KiB/connection "
             "| stream − WebSocket, bytes/connection | after the idle period: WebSocket, stream KiB/connection "
             "| server CPU % of a core while idle: WebSocket, stream | runs |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    verdicts = []
    for n, by in stream_memory(rows):
        ws, st = by.get(WS, []), by.get(STREAM, [])
        if not ws or not st:
            continue
        med = {k: {"kib": median_of(v, lambda r: r["mem_kib_per_conn"]),
                   "end": median_of(v, end_kib_per_conn),
                   "cpu": median_of(v, lambda r: r["cpu_pct"]),
                   "ready": min(int(r["ready"]) for r in v)} for k, v in (("ws", ws), ("st", st))}
        diff = (med["st"]["kib"] - med["ws"]["kib"]) * 1024
        # The method's own noise, in bytes per connection: the WebSocket's
        # range over its rounds (transient handshake buffers freed but still
        # resident depend on timing), and never less than one page of heap
        # between two fresh servers.
        spread = (max(r["mem_kib_per_conn"] for r in ws) - min(r["mem_kib_per_conn"] for r in ws)) * 1024
        tol = max(4096.0 / n, spread)
        verdicts.append((n, diff, tol, med["ws"]["ready"] == n and med["st"]["ready"] == n))
        lines.append("| {:,} | {:,}, {:,} | {:.2f} | {:.2f} | {:+.0f} | {:.2f}, {:.2f} | {:.2f}, {:.2f} | {}, {} |".format(
            n, med["ws"]["ready"], med["st"]["ready"], med["ws"]["kib"], med["st"]["kib"], diff,
            med["ws"]["end"], med["st"]["end"], med["ws"]["cpu"], med["st"]["cpu"], len(ws), len(st)))
    if not verdicts:
        return ["_not run_", ""], None
    return lines + [""], verdicts


def stream_cpu_rounds(rows):
    """[(subscribers, round, {server: row})] of the sse-pair runs."""
    by = defaultdict(dict)
    for r in rows:
        if r.get("scenario") == "sse-pair":
            by[(r["clients"], r.get("round"))][r["server"]] = r
    return [(n, rnd, v) for (n, rnd), v in sorted(by.items())
            if all(k in v for k in ("floor", WS, STREAM))]


def stream_cpu_table(rows):
    runs = stream_cpu_rounds(rows)
    if not runs:
        return ["_not run_", ""], []
    lines = ["| subscribers | round | first turn | floor µs/delivery | WebSocket µs/delivery | stream µs/delivery "
             "| WebSocket ÷ floor | stream ÷ floor | stream ÷ WebSocket | subscribed (floor, WebSocket, stream) |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    ratios = defaultdict(list)
    names = {"floor": "floor", WS: "WebSocket", STREAM: "stream"}
    for n, rnd, v in runs:
        cpu = {k: v[k]["cpu_us_per_delivery"] for k in v}
        first = next((names[k] for k in v if v[k].get("turn") == 0), "?")
        full = all(v[k].get("ready") == n and cpu[k] > 0 for k in ("floor", WS, STREAM))
        cell = lambda a, b: "%.2f" % (cpu[a] / cpu[b]) if cpu[b] > 0 else "–"
        lines.append("| {:,} | {} | {} | {:.2f} | {:.2f} | {:.2f} | {} | {} | {} | {:,}, {:,}, {:,} |".format(
            n, rnd, first, cpu["floor"], cpu[WS], cpu[STREAM], cell(WS, "floor"), cell(STREAM, "floor"),
            cell(STREAM, WS), int(v["floor"]["ready"]), int(v[WS]["ready"]), int(v[STREAM]["ready"])))
        if full:
            ratios[n].append((cpu[WS] / cpu["floor"], cpu[STREAM] / cpu["floor"], cpu[STREAM] / cpu[WS]))
    return lines + [""], sorted(ratios.items())


def stream_section(summ, rows, a):
    """Section 4 (issue 15): the event stream beside the WebSocket, between
    event-stream markers so that `run.sh --only sse-idle,sse-pair --splice`
    can rewrite it alone. Empty when this run measured neither."""
    mem, verdicts = stream_memory_table(rows)
    cpu, ratios = stream_cpu_table(rows)
    own = [r for r in rows if r.get("scenario") in ("sse-idle", "sse-pair")]
    if not own:
        return []
    loads = [r["load1"] for r in own if isinstance(r.get("load1"), (int, float))]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    idle_s = median_of([r for r in own if r["scenario"] == "sse-idle"], lambda r: r["window_s"])
    out = ["<!-- event-stream:begin (tests/bench/run.sh writes this section: scenarios sse-idle and "
           "sse-pair; `--only sse-idle,sse-pair --splice` rewrites it alone) -->",
           "## 4. The event stream beside the WebSocket (issue 15)", "",
           "Generated by `%s` on %s (%s s for the whole run, %s round(s), tables show medians); do not "
           "edit by hand, run it again.%s The machine is shared: its load average (1 min) was %s as the "
           "measurements of this section ended. livegate: %s." % (
               a.argv, now, a.elapsed, a.rounds,
               " **A smoke run: its figures say nothing about the target.**" if a.quick == "1" else "",
               "%.1f–%.1f (median %.1f)" % (min(loads), max(loads), statistics.median(loads))
               if loads else "not recorded",
               livegate_desc(a.root, a.livegate)), "",
           "The clients are the load generator's own (`loadgen --proto sse`): `POST /sse` with the "
           "subscribe message as a `text/plain` body, the `200 text/event-stream` head checked, events "
           "parsed from a bounded 2 KiB buffer per client, subscribed on the `subscribed` event; every "
           "delivery is timestamped and counted by the same code as a WebSocket frame's.", ""]
    if verdicts:
        ok = all(d <= t and full for _, d, t, full in verdicts)
        out += ["**Target: the stream costs no more memory per connection than a WebSocket does** "
                "(at each size, stream minus WebSocket, medians, at most the method's noise: the "
                "WebSocket's range over its rounds, and at least one 4 KiB page ÷ connections; "
                "every client subscribed in every run): %s — %s." % (
                    "; ".join("{:,}: {:+.0f} bytes per connection (noise {:.0f}){}".format(
                        n, d, t, "" if full else ", not every client subscribed")
                        for n, d, t, full in verdicts), verdict(ok)), ""]
    out += ["### Memory per idle connection", "",
            "One fresh livegate (1 worker, CPU 0) per measurement, its clients on CPU 1: WebSockets "
            "(`--proto livegate`) or streams (`--proto sse`). The same method as table 3's *idle*: Pss "
            "of all livegate's processes after every client is subscribed, minus before, divided by the "
            "clients; *after the idle period* samples again once the clients have been idle for "
            "%s s, %s both keep-alives (a stream's `: ping` every 25 s, a WebSocket ping after 30 s "
            "of silence). Kernel socket memory is not included." % (
                fmt(idle_s, 0), "past" if idle_s and idle_s > 30 else "before"), ""]
    out += mem
    out += ["### CPU per delivery: stream, WebSocket and the floor taking turns", "",
            "The cpu-pair method of table 1b with three: the floor, livegate with WebSocket clients and "
            "livegate with stream clients (two livegates, 1 worker each) run at once on CPU 0, each "
            "with its own clients, channel and load generator on CPU 1; the load generators pass a "
            "baton around (one message to one server until all its clients have it, plus 0.2 s, then "
            "to the next), each counting its server's CPU over its own turns. Which one goes first "
            "rotates with the round.", ""]
    out += cpu
    partial = sorted({n for n, _, _ in stream_cpu_rounds(rows)} - {n for n, _ in ratios})
    if partial:
        out += ["No round at {} subscribers had every client of all three subscribed: no median "
                "there.".format(", ".join("{:,}".format(n) for n in partial)), ""]
    if ratios:
        out += ["Medians over the rounds in which every client of all three subscribed: " + "; ".join(
            "{:,} subscribers ({} round(s)): WebSocket **{:.2f}×** the floor, stream **{:.2f}×** the floor, "
            "stream ÷ WebSocket **{:.2f}**".format(
                n, len(rs), statistics.median(x[0] for x in rs), statistics.median(x[1] for x in rs),
                statistics.median(x[2] for x in rs)) for n, rs in ratios) + ".", ""]
    cmds = [l.rstrip() for l in open(a.commands, encoding="utf-8") if "sse-" in l]
    out += ["Commands (`$RING`: the FIFOs of one sse-pair run):", "", "```"] + cmds + ["```", "",
            "<details><summary>Raw results of this section</summary>", "", "```"]
    out += [json.dumps(r, separators=(",", ":")) for r in own]
    out += ["```", "", "</details>", "", "<!-- event-stream:end -->"]
    return out


def verdict(ok):
    return "**met**" if ok else "**not met**"


def targets(summ, rows):
    out = ["| target | where it stands (this run) | verdict |", "|---|---|---|"]
    g = summ.get

    # 1. CPU per delivery vs floor, one worker, one core each, judged on the
    # side-by-side runs (cpu-pair) when there are any: the machine's speed
    # drifts within a minute by more than the margin asked, and only turns
    # taken message by message put the same drift on both.
    per_size = pair_ratios(rows)
    if per_size:
        txt = "; ".join("{:,} subscribers: **{:.2f}×** (per round: {})".format(
                            n, statistics.median(rs), ", ".join("%.2f" % x for x in rs))
                        for n, rs in per_size)
        ok = all(statistics.median(rs) <= 1.10 for n, rs in per_size)
        out.append("| Server CPU per delivery ≤ 1.10× the floor (1 worker vs 1 floor process; "
                   "side by side, taking turns message by message; median over rounds) | %s "
                   "(table 1b; the back-to-back runs of table 1 give %s) | %s |"
                   % (txt, back_to_back(summ), verdict(ok)))
    else:
        out.append("| Server CPU per delivery ≤ 1.10× the floor | livegate not run side by side "
                   "with the floor (cpu-pair) | – |")

    # 2. Memory per idle connection.
    idle = g(("idle", "livegate-w1", max([k[2] for k in summ if k[0] == "idle"] or [0])))
    if idle:
        peers = "; ".join("%s %.2f KiB" % (SERVER_LABEL[k[1]], v["mem_kib_per_conn"])
                          for k, v in summ.items() if k[0] == "idle" and k[1] != "livegate-w1")
        out.append("| ≤ 3 KiB server memory per idle connection (Nchan: 10.2) | livegate **%.2f KiB** "
                   "over %s idle connections (Pss of all its processes, after minus before); %s "
                   "(table 3) | %s |" % (idle["mem_kib_per_conn"], fmt(idle["ready"], 0), peers,
                                        verdict(idle["mem_kib_per_conn"] <= 3.0)))
    else:
        out.append("| ≤ 3 KiB per idle connection | livegate not run | – |")

    # 3. Time to the last of the largest one-channel fan-out, both cores.
    two = {k[1]: v for k, v in summ.items() if k[0] == "two-cores"}
    if "livegate-w2" in two and "nchan-w1" in two and "nchan-w2" in two:
        lg, n1, n2 = two["livegate-w2"]["last_p50_ms"], two["nchan-w1"]["last_p50_ms"], two["nchan-w2"]["last_p50_ms"]
        ok = lg <= 0.6 * n1 and lg <= n2
        out.append("| {:,} subscribers on one channel: last one ≤ 0.6× Nchan 1 worker and ≤ Nchan 2 workers "
                   "(both cores) | livegate 2 workers **{:.0f} ms**; Nchan 1 worker {:.0f} ms (ratio {:.2f}); "
                   "Nchan 2 workers {:.0f} ms (table 2) | {} |".format(
                       int(two["livegate-w2"]["clients"]), lg, n1, lg / n1, n2, verdict(ok)))
    else:
        out.append("| Last of 18k subscribers vs Nchan | livegate not run | – |")

    # 4. 72k connections with 4 workers.
    w4 = [v for k, v in summ.items() if k[0] == "workers-4"]
    if w4:
        s = w4[0]
        ok = s["ready"] == s["clients"] and s["deliveries"] == s["expected"] and s["refused"] == 0
        out.append("| 72k connections held by one gateway with 4 workers on one Redis | {:,} of {:,} subscribed, "
                   "{:,} of {:,} deliveries, last one {:.0f} ms, {:.2f} KiB per connection (table 3) | {} |".format(
                       int(s["ready"]), int(s["clients"]), int(s["deliveries"]), int(s["expected"]),
                       s["last_p50_ms"], s["mem_kib_per_conn"], verdict(ok)))
    else:
        out.append("| 72k connections with 4 workers | livegate not run | – |")

    # 5. Connect storm.
    st = [(k, v) for k, v in summ.items() if k[0] == "storm" and k[1] == "livegate-w1"]
    if st:
        k, s = st[0]
        ok = s["connect_s"] <= 3.0 and s["refused"] == 0 and s["failed"] == 0 and s["ready"] == s["clients"]
        peers = "; ".join("%s %.2f s" % (SERVER_LABEL[p[1]], v["connect_s"])
                          for p, v in sorted(summ.items()) if p[0] == "storm" and p[1] != "livegate-w1")
        out.append("| Connect storm: 18k clients subscribed within 3 s per worker, none refused | {:,} clients "
                   "at once on 1 worker: all subscribed in **{:.2f} s**, {} refused, {} failed; same storm against "
                   "{} (server on CPU 0, load generator on CPU 1) (table 3) | {} |".format(
                       k[2], s["connect_s"], int(s["refused"]), int(s["failed"]), peers, verdict(ok)))
    else:
        out.append("| Connect storm | livegate not run | – |")

    # 6. Idle CPU.
    if idle:
        out.append("| 18k idle connections use < 2%% of one core | livegate **%.2f%%** of one core over %.0f s "
                   "with %s connections, pings included (table 3) | %s |" % (
                       idle["cpu_pct"], idle["window_s"], fmt(idle["ready"], 0), verdict(idle["cpu_pct"] < 2.0)))
    else:
        out.append("| Idle CPU | livegate not run | – |")

    # 7. Tokens.
    tok = [r for r in rows if r["scenario"] == "tokens"]
    if tok:
        t = tok[0]
        ok = t["requests_per_s"] >= 20000 and t["non_2xx"] == 0 and t["socket_errors"] == 0
        out.append("| Private API: ≥ 20,000 tokens/s | **{:,.0f} tokens/s** (wrk, 2 threads, 64 keep-alive "
                   "connections), {} non-2xx, {} socket errors, p99 {:.2f} ms | {} |".format(
                       t["requests_per_s"], t["non_2xx"], t["socket_errors"], t["lat_p99_ms"], verdict(ok)))
    else:
        out.append("| Private API tokens/s | livegate not run | – |")
    return out + [""]


def deliveries_cell(s):
    """Deliveries, expected, and what livegate says it merged: an invalidation
    still queued for a client absorbs the next one on the same channel."""
    cell = "{:,} ({:,})".format(int(s["deliveries"]), int(s["expected"]))
    merged = s.get("livegate_invalidations_coalesced_total")
    if merged:
        cell += ", {:,} coalesced".format(int(merged))
    return cell


def other_table(summ, rows):
    lines = ["| scenario | server | clients | subscribed | refused / failed | connect s | "
             "p50 ms | p99 ms | last one ms | deliveries (expected) | deliveries/s | server CPU µs/delivery "
             "| server CPU % of a core | KiB per connection |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for scen in ("workers-2", "workers-4", "multi-channel", "storm", "idle"):
        for k in sorted((k for k in summ if k[0] == scen),
                        key=lambda k: ORDER.index(k[1]) if k[1] in ORDER else 99):
            s = summ[k]
            fan = scen in ("workers-2", "workers-4", "multi-channel")
            lines.append("| {} | {} | {:,} | {:,} | {}/{} | {:.2f} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                scen, SERVER_LABEL.get(k[1], k[1]), k[2], int(s["ready"]), int(s["refused"]), int(s["failed"]),
                s["connect_s"], fmt(s["lat_p50_ms"]) if fan else "–", fmt(s["lat_p99_ms"]) if fan else "–",
                fmt(s["last_p50_ms"]) if scen != "multi-channel" and fan else "–",
                deliveries_cell(s) if fan else "–",
                fmt(s["deliveries_per_s"], 0) if scen == "multi-channel" else
                (fmt(s["fanout_deliveries_per_s"], 0) if fan else "–"),
                fmt(s["cpu_us_per_delivery"], 2) if fan else "–",
                fmt(s["cpu_pct"], 2) if scen in ("idle", "multi-channel") else "–",
                fmt(s["mem_kib_per_conn"], 2)))
    for t in (r for r in rows if r["scenario"] == "tokens"):
        lines.append("| tokens (wrk) | {} | 64 keep-alive | – | {} non-2xx / {} errors | – | {:.2f} | {:.2f} | – "
                     "| {:,} requests | **{:,.0f} tokens/s** | – | – | – |".format(
                         SERVER_LABEL[t["server"]], t["non_2xx"], t["socket_errors"], t["lat_p50_ms"],
                         t["lat_p99_ms"], t["requests"], t["requests_per_s"]))
    return lines + [""]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--commands", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", default="0")
    ap.add_argument("--elapsed", default="0")
    ap.add_argument("--rounds", default="1")
    ap.add_argument("--livegate", default="")
    ap.add_argument("--root", required=True)
    ap.add_argument("--splice", default="0",
                    help="1: write only this run's own sections into --out, keep the rest")
    ap.add_argument("--argv", default="tests/bench/run.sh", help="the run.sh command, as quoted")
    a = ap.parse_args()
    rows = load(a.results)
    summ = summarise(rows)
    stream = stream_section(summ, rows, a)
    if a.splice == "1":
        if not stream:
            raise SystemExit("report.py --splice: this run measured no section of its own "
                             "(run.sh --only sse-idle,sse-pair)")
        splice_section(a.out, "event-stream", stream)
        return
    png = os.path.splitext(a.out)[0] + ".png"
    have_plot = plot(summ, png, os.path.dirname(a.results))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    quick = a.quick == "1"

    md = ["# Benchmarks", "",
          "Generated by `tests/bench/run.sh%s` on %s in %s s; do not edit by hand, run it again. "
          "%s" % (" --quick" if quick else "", now, a.elapsed,
                  "**This is a smoke run with small client counts: its figures say nothing about the targets.**"
                  if quick else ""),
          "",
          "livegate against the servers people use for the same job, measured by the same load generator "
          "on the same machine in the same run, interleaved (each measurement starts a fresh server; the "
          "order of servers rotates between rounds; %s round(s), tables show medians). Runs on this kind "
          "of virtual machine vary by about 20%%: compare figures within this page, not across runs." % a.rounds,
          "", "## Machine", "", "| | |", "|---|---|"]
    md += ["| %s | %s |" % (k, v.replace("|", "/")) for k, v in machine(a.root, a.livegate)]
    md += ["", "## How it is measured", "",
           "- **Load generator** (`tests/bench/loadgen.c`, C, epoll, non-blocking sockets, its own WebSocket "
           "client): clients are spread over source addresses 127.0.0.2, .3, … (15,000 each) and over several "
           "processes of at most 18,000 clients (the machine allows 20,000 open files per process). livegate "
           "clients send `{\"type\":\"subscribe\",\"token\":…}` with an HS256 token minted with the shared "
           "secret and count as subscribed on `{\"type\":\"subscribed\"}`; the peers' clients count on the "
           "101 upgrade.",
           "- **Latency** is PUBLISH to receipt: the publisher writes the `CLOCK_REALTIME` time in ns into the "
           "payload (`{\"seq\":N,\"t\":…}`) just before it sends the `PUBLISH` to Redis (livegate, Node, floor) "
           "or the HTTP POST to Nchan's publisher location; each client subtracts it from its clock on "
           "receipt. *last one* is the median over the messages of the time until the last subscriber had it; "
           "*deliveries/s in a fan-out* is subscribers divided by that. One warm-up message is not counted; "
           "each message is published once the previous one has reached every client, plus 0.2 s.",
           "- **Server CPU per delivery**: the run time of every thread of the server's processes (the sum of "
           "`/proc/PID/task/*/schedstat`, ns resolution; the same quantity as utime+stime of `/proc/PID/stat`) "
           "from just before each measured publish to the end of the 0.2 s after its last delivery, summed "
           "over the messages and divided by the deliveries. On loopback the sender is also billed for much of the receiver's TCP work.",
           "- **Memory per connection**: the sum of `Pss` (`/proc/PID/smaps_rollup`) of the server's "
           "processes after the clients are connected and subscribed minus before, divided by the clients. "
           "Kernel socket memory is not included (the same for every server).",
           "- **Peers**: the *floor* (`tests/bench/floor.c`) receives the message from its Redis subscription "
           "like the others and writes one prebuilt frame to every socket with one `send()` each: the kernel's "
           "cost. *Nchan*: Debian `nginx` + `libnginx-mod-nchan`, memory store, `nchan_subscriber websocket`, "
           "published by HTTP POST to an `nchan_publisher` location (configuration generated by `run.sh`). "
           "*Node.js*: `tests/bench/node/server.js`, `ws` + `ioredis`, one Buffer per message sent to every "
           "client. livegate, Node and the floor wrap the payload the same way "
           "(`{\"type\":\"invalidate\",\"channel\":\"bench\",\"data\":…}`); Nchan sends the payload as it is.",
           "- **Placement**: *one core each* = server on CPU 0 and load generator on CPU 1 (`taskset`); "
           "*both cores* = no pinning, server and load generator share both cores. Redis is not pinned.",
           "- livegate runs a release build with `LIVEGATE_WORKERS` as stated and `LIVEGATE_MAX_CONNECTIONS=19000`.",
           ""]
    md += ["## Targets of issue 5", ""] + targets(summ, rows)
    if have_plot:
        md += ["## Plot", "", "![delivery latency and CPU per delivery against subscribers](%s)"
               % os.path.basename(png), "",
               "Left: time until the last subscriber has the message (lines: one core each; single points: "
               "both cores, the largest size, table 2). Right: server CPU per delivery.", ""]
    md += ["## 1. One channel, one core each", ""] + fanout_table(summ, "one-channel")
    md += ["## 1b. CPU per delivery, livegate and the floor side by side", "",
           "The CPU target's measurement. Both servers run at once on CPU 0 (livegate with one worker), "
           "each with its own clients, channel and load generator on CPU 1; the two load generators take "
           "turns (`loadgen --baton-in/--baton-out`: one message to one server, until all its clients "
           "have it, plus 0.2 s, then one to the other), and each counts its server's CPU over its own "
           "turns only. A change of the machine's speed during the run falls on both alike; which one "
           "goes first alternates with the round. Both servers' caches are colder than in table 1, "
           "where a server runs alone.", ""]
    md += pair_table(rows)
    md += ["## 2. One channel, both cores", "",
           "Multi-process servers against Nchan with one and two nginx workers; nothing pinned.", ""]
    md += fanout_table(summ, "two-cores", floor_key=False)
    md += ["## 3. Scale, channels, storms, idle and the private API", "",
           "- *workers-2*, *workers-4*: livegate with 2 and 4 worker processes on one Redis, one channel; one "
           "publish reaches every connection (both cores).",
           "- *multi-channel*: every client on its own channel plus one shared channel; paced publishes on "
           "random own channels plus one per second on the shared one; one core each.",
           "- *storm*: every client connects at once (2 load generator processes); time until all are subscribed.",
           "- *idle*: connections held with no traffic; server CPU over the period (livegate's pings and "
           "their pongs included).",
           "- *tokens*: `POST /v1/tokens` with `{\"channels\":[\"todos\"]}` and the bearer key, wrk with keep-alive.",
           ""]
    md += other_table(summ, rows)
    md += stream + [""] if stream else []
    md += ["## Commands", "", "Reproduce everything with `tests/bench/run.sh` (as root, Debian 12; add "
           "`--quick` for a smoke run). It ran these measurements, in this order:", "", "```"]
    md += [l.rstrip() for l in open(a.commands, encoding="utf-8")]
    md += ["```", "", "<details><summary>Raw results (one JSON line per measurement)</summary>", "", "```"]
    md += [json.dumps(r, separators=(",", ":")) for r in rows]
    md += ["```", "", "</details>", ""]
    # A section this run wrote itself replaces the one kept from the file.
    md += kept_sections(a.out, skip={"event-stream"} if stream else set())
    open(a.out, "w", encoding="utf-8").write("\n".join(md))


SECTION_RE = r"(<!-- ([a-z0-9-]+):begin.*?-->.*?<!-- \2:end -->)"


def kept_sections(path, skip=frozenset()):
    """The sections other benchmarks write into the same file (each between
    <!-- NAME:begin ... --> and <!-- NAME:end --> markers), kept as they are
    when this run rewrites the rest; not those named in skip."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return []
    out = []
    for block, name in re.findall(SECTION_RE, text, re.S):
        if name not in skip:
            out += block.split("\n") + [""]
    return out


def splice_section(path, name, lines):
    """Replaces section name of path (its markers included) by lines, or
    appends it; the rest of the file stays as it is."""
    try:
        text = open(path, encoding="utf-8").read()
    except FileNotFoundError:
        text = ""
    new = "\n".join(lines)
    for block, found in re.findall(SECTION_RE, text, re.S):
        if found == name:
            text = text.replace(block, new, 1)
            break
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + new + "\n"
    open(path, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
