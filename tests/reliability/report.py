"""tests/reliability/report.py - the campaign's figures as Markdown (the
block docs/reliability.md carries), and its verdict: the list of reasons
the run fails (none: it passes). Timing figures are reported, never judged.
"""

import re

BEGIN = "<!-- campaign-figures:begin -->"
END = "<!-- campaign-figures:end -->"

FAULT_NAMES = {
    "redis_kill": "Redis killed (SIGKILL), restarted on its port",
    "redis_hang": "Redis hung (SIGSTOP ... SIGCONT)",
    "pubsub_kill": "`CLIENT KILL TYPE pubsub`",
    "worker_kill": "a livegate worker SIGKILLed",
    "livegate_restart": "livegate restarted (SIGTERM, start)",
    "client_stall": "a client process stalled (SIGSTOP ... SIGCONT)",
}

COVER_ROWS = [
    ("direct", "direct: the message itself"),
    ("resync", "a `resync` invalidation"),
    ("missed", "a `missed` invalidation (catch-up)"),
    ("coalesced", "a `coalesced` invalidation"),
    ("reconnect", "the refetch after a reconnect"),
    ("reload", "a later page load's render"),
    ("silent_gap", "**silent miss**: render-to-subscribe gap"),
    ("silent_unconverged", "**silent miss**: tab never back"),
    ("silent_unexplained", "**silent miss**: anything else"),
]


def secs(v):
    if v is None:
        return "-"
    return f"{v:.2f} s" if v < 10 else f"{v:.1f} s"


def markdown(fig, info):
    t, m, c = fig["tabs"], fig["messages"], fig["coverage"]
    p = info["params"]
    out = []
    ms, me = info["machine_start"], info.get("machine_end", {})
    out.append(f"Run `{info['size']}` (seed {info['seed']}) started {info['started']}, "
               f"{info.get('seconds', 0) // 60} min {info.get('seconds', 0) % 60} s; "
               f"{ms['cpus']} CPUs shared with other work (load average {' '.join(ms['loadavg'])} "
               f"at the start, {' '.join(me.get('loadavg', ['?']))} at the end), "
               f"kernel {ms['kernel']}; livegate sha256 {info['livegate']['sha256']} with "
               f"{info['workers']} workers, {info['redis'].split(' sha')[0]}.")
    out.append("")
    rates = ", ".join(f"{r:g}" for r in info["rates"])
    out.append(f"{t['total']} tabs ({t['ws']} WebSocket, {t['sse']} event stream) in "
               f"{p['procs']} client processes, {m['channels']} channels (messages per second: "
               f"{rates}), each tab following 1-3 of them; {t['page_loads']} page loads "
               f"({t['api_minted']} tokens from the API, the rest PyJWT; a reload every "
               f"{p['reload_mean_s']:g} s on average), {t['connections']} connections opened, "
               f"{t['subscribed']} subscribed; {t['ended_subscribed']} of {t['total']} tabs "
               f"subscribed at the end.")
    out.append("")
    out.append("| fault | injected | median length | converged p50 | p99 | max | not converged "
               "| beside the gap p50 | p99 |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    total = 0
    for kind, f in fig["faults"].items():
        total += f["count"]
        out.append(f"| {FAULT_NAMES.get(kind, kind)} | {f['count']} | {secs(f['median_s'])} | "
                   f"{secs(f['converge_p50_s'])} | {secs(f['converge_p99_s'])} | "
                   f"{secs(f['converge_max_s'])} | {f['never_converged']} | "
                   f"{secs(f['beside_gap_p50_s'])} | {secs(f['beside_gap_p99_s'])} |")
    out.append(f"| all | {total} | | | | | | | |")
    out.append("")
    out.append(f"Messages: {m['written']} written and published ({m['published']} acknowledged by "
               f"Redis, {m['failed']} failed, {m['timeout']} timed out: Redis down or hung), "
               f"{m['bursts']} bursts of {p['burst']}.")
    out.append("")
    checked = c["checked"] or 1
    out.append("| each (tab, message) it had to get: covered by | count | share |")
    out.append("|---|---:|---:|")
    for key, label in COVER_ROWS:
        out.append(f"| {label} | {c[key]} | {100.0 * c[key] / checked:.3f} % |")
    out.append(f"| all | {c['checked']} | |")
    out.append("")
    out.append("| refetch by | count | justified (covered a missed message) | extra |")
    out.append("|---|---:|---:|---:|")
    for label, r in fig["refetches"].items():
        out.append(f"| {label} | {r['total']} | {r['justified']} | {r['extra']} |")
    out.append("")
    missed, g = fig["refetches"]["missed"], fig["gap_by_publish"]
    out.append(f"Page loads with a silent miss in their render-to-subscribe gap: "
               f"{fig['gap_pageloads']} of {t['page_loads']}. Of those messages {g['seen']} reached "
               f"livegate, {g['no_subscriber']} found no livegate subscriber in Redis and "
               f"{g['failed']} failed to publish (Redis down or hung); once the catch-up watches "
               f"the whole prefix, the last two are what its \"cannot know\" rule is for. "
               f"`missed` invalidations with no publish at all on their channel since the "
               f"token's iat less the render slack: {missed['no_publish']} "
               f"({100.0 * missed['no_publish'] / max(1, t['page_loads']):.2f} % of page loads); "
               f"that covered nothing the page lacked: {missed['extra']}. Duplicated deliveries: "
               f"{fig['duplicates']}; out of order: {fig['out_of_order']}; status frames "
               f"seen: {fig['tabs']['status_frames'] or 'none'}; renders slower than the "
               f"render slack: {t['slow_renders']}.")
    return "\n".join(out) + "\n"


def write_doc(path, text):
    """Replaces the figures between the markers of the doc's campaign section."""
    with open(path) as f:
        doc = f.read()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(doc):
        raise RuntimeError(f"{path} has no {BEGIN} ... {END} block")
    doc = pattern.sub(lambda _: f"{BEGIN}\n{text}{END}", doc)
    with open(path, "w") as f:
        f.write(doc)


def verdict(fig, info, require_catchup):
    """Why the run fails; empty when it passes."""
    c = fig["coverage"]
    fails = []
    if c["silent_unexplained"]:
        fails.append(f"{c['silent_unexplained']} messages silently missed outside the "
                     "render-to-subscribe gap (samples in report.json)")
    if c["silent_unconverged"] or fig["tabs"]["ended_subscribed"] < fig["tabs"]["total"]:
        fails.append(f"{fig['tabs']['total'] - fig['tabs']['ended_subscribed']} tabs not "
                     f"subscribed at the end, {c['silent_unconverged']} messages never reached them")
    if require_catchup and c["silent_gap"]:
        fails.append(f"{c['silent_gap']} messages silently missed in the render-to-subscribe gap "
                     f"({fig['gap_pageloads']} page loads)")
    if fig["duplicates"]:
        fails.append(f"{fig['duplicates']} messages delivered twice")
    if fig["out_of_order"]:
        fails.append(f"{fig['out_of_order']} messages delivered out of order")
    want = info["params"]["faults_each"]
    for kind, f in fig["faults"].items():
        if f["count"] != want:
            fails.append(f"{kind}: {f['count']} faults injected, {want} planned")
    if not c["direct"] or not fig["messages"]["published"]:
        fails.append("nothing was published or delivered: the campaign did not run")
    return fails
