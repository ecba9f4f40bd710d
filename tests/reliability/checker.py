"""tests/reliability/checker.py - decides, for every page load and every
message published on a channel it follows, whether the page got that
message or a later invalidation that covers it; and computes the
campaign's figures.

The coverage rule (docs/reliability.md states it for users):

  A message belongs to one page load of each tab following its channel:
  the page whose render read the data before the message was written and
  the next render read it after (by value: page P read r_P on channel ch;
  message N on ch belongs to P when r_P < N <= r_P' of the tab's next page
  load P', or <= the last message for the tab's last page). A message
  written before the tab's first render is not its concern.
  That page must cover it, by the first of these that applies:
    direct     an invalidation carrying N arrived (on any connection of
               the tab);
    resync, missed, coalesced, reconnect
               an invalidation of ch with that reason arrived on one of
               P's connections (or, reconnect: one of P's connections that
               had been up was subscribed again), the refetch it caused
               read >= N, and it answers the event that may have lost N
               (Page.caused_by_loss): a resync an outage livegate told the
               page of ("status: down") that began after N was published or
               at most IN_FLIGHT_S before; a missed the render-to-subscribe
               gap, or like a reconnect the loss of P's subscribed
               connection that happened after N was published or at most
               IN_FLIGHT_S before; a coalesced comes less than IN_FLIGHT_S
               after, its arrival less the backlog the tab was reading
               then (when a message read on that page at most BACKLOG_S
               before it had been published: livegate wrote the coalesced
               in that stream right behind it). "Began" and "happened"
               are the fault's own start when the tab learnt of it while
               that fault was under way (or at most IN_FLIGHT_S after its
               end), else the moment the tab learnt of it: a busy client
               reads its socket seconds late, and the loss was not its
               reading. Spans count only the time the tab's process was
               not stopped (a tab that resumes from SIGSTOP reads first
               what happened while it was stopped);
    reload     P was unloaded (the tab loaded its next page) before N
               could reach it - N was published less than IN_FLIGHT_S
               before P's end (not counting time its process was stopped),
               or livegate had told P "status: redis down" (of an outage
               that began at most IN_FLIGHT_S after N was published) and
               not yet "up" - and no later message of ch had reached P;
               the next page's render covers it (it read >= N).
  "Published" is the latest moment Redis may have published N (published_by:
  its answer; for a PUBLISH that timed out in a hang, Redis's resumption).
  A read returns >= N exactly when it happened after N was written (the
  data only grows), so "a refetch that read >= N" is "a refetch after N".
  A later invalidation of another message (N+1 arrived, N did not) does NOT
  cover N: the page was stale in between without being told. Nor does an
  invalidation that merely happens to come later (a resync after an
  unrelated outage half a minute on).
  A message nothing covers is a silent miss, classified:
    gap          P was not yet subscribed when N's PUBLISH was sent: the
                 render-to-subscribe gap, which livegate's "missed"
                 catch-up closes;
    unconverged  P is the tab's last page, the tab was not subscribed at
                 the end of the run, and N came after its last subscription;
    unexplained  every other: the defect this campaign exists to find.

Extra refetches: an invalidation with a reason (or a reconnect refetch)
that was not the first cover of any message justified nothing: it cost
the origin a refetch for no news.

Convergence after a fault: at the fault's end t_f, L(ch) is the last
sequence number written on ch; a tab has converged on ch once what it
knows (the most recent of: what its page loads read, the sequence numbers
delivered, what its refetches read) reaches L(ch). The fault's time to
converge is the longest, over every tab that existed at t_f and every
channel it follows, from t_f to that moment (0 if it already knew).

  /usr/bin/python3 checker.py RUN_DIR     prints the figures as JSON
"""

import bisect
import glob
import json
import math
import os
import sys
from collections import Counter, defaultdict

from eventlog import records

COVER_LABELS = ("resync", "missed", "coalesced", "reconnect", "reload")
IN_FLIGHT_S = 5.0   # a hung Redis is noticed within 2-4 s (README, "Redis outages")
# The faults that cause what a tab learns: a "status: down" (an outage of
# livegate's Redis link), a lost connection.
OUTAGE_FAULTS = ("redis_kill", "redis_hang", "pubsub_kill")
LOSS_FAULTS = ("worker_kill", "livegate_restart")
BACKLOG_S = 1.0     # a message read this close before a frame dates the stream
INVALIDATION_REASONS = ("resync", "missed", "coalesced")


class TabRec:
    def __init__(self, tab, transport, chans):
        self.id, self.transport, self.chans = tab, transport, chans
        self.renders = []    # (pl, t_read, vals, iat, wall_read, how)
        self.subs = []       # (pl, conn, t)
        self.closes = []     # (pl, conn, t, code, why)
        self.connects = 0
        self.conn_pl = {}    # conn -> the page load it belongs to
        self.stalls = []     # (start, end) of its client process's stalls
        self.direct = defaultdict(list)    # ch -> [(t, seq, conn)]
        self.refetches = defaultdict(list)  # ch -> [(t, val, label, conn)]
        self.status = []     # (t, state, conn)
        self.warnings = []
        self.end = None      # (t, ok)


class Run:
    """Everything the campaign's processes recorded."""

    def __init__(self, out):
        self.out = out
        with open(os.path.join(out, "run.json")) as f:
            self.info = json.load(f)
        n = len(self.info["names"])
        # per channel, index seq-1: (t_write, t_sent, t_done, result)
        self.msgs = [[] for _ in range(n)]
        self.bursts, self.skipped = [], 0
        for r in records(os.path.join(out, "publisher.log")):
            if r[0] == "P":
                ch, seq = int(r[1]), int(r[2])
                if seq != len(self.msgs[ch]) + 1:
                    raise ValueError(f"publisher.log: channel {ch} seq {seq} out of order")
                self.msgs[ch].append((float(r[3]), float(r[4]), float(r[5]), r[6]))
            elif r[0] == "B":
                self.bursts.append((float(r[1]), int(r[2]), int(r[3])))
            elif r[0] == "K":
                self.skipped += int(r[2])
        self.tabs = {}
        self.faults = []
        for r in records(os.path.join(out, "faults.log")):
            self.faults.append((r[1], float(r[2]), float(r[3]), " ".join(r[4:])))
        self.outage_faults = sorted((t0, t1) for k, t0, t1, _ in self.faults if k in OUTAGE_FAULTS)
        self.loss_faults = sorted((t0, t1) for k, t0, t1, _ in self.faults if k in LOSS_FAULTS)
        hangs = [(t0, t1) for kind, t0, t1, _ in self.faults if kind == "redis_hang"]
        # per channel, index seq-1: the latest moment Redis may have published it
        self.published_by = [[published_by(m, hangs) for m in msgs] for msgs in self.msgs]
        for path in sorted(glob.glob(os.path.join(out, "tabs-*.log"))):
            self._read_tabs(path, int(path.rsplit("-", 1)[1].split(".")[0]))

    def stalls_of(self, proc):
        """(start, end) of every stall of client process proc."""
        return [(t0, t1) for kind, t0, t1, detail in self.faults
                if kind == "client_stall" and f"proc={proc} " in detail + " "]

    def _read_tabs(self, path, proc):
        stalls = self.stalls_of(proc)
        for r in records(path):
            kind, tab = r[0], int(r[1])
            if kind == "A":
                self.tabs[tab] = TabRec(tab, r[2], [int(c) for c in r[3].split(",")])
                self.tabs[tab].stalls = stalls
                continue
            t = self.tabs.get(tab)
            if t is None:
                raise ValueError(f"{path}: record for unannounced tab: {r}")
            if kind == "R":
                t.renders.append((int(r[2]), float(r[3]), [int(v) for v in r[4].split(",")],
                                  float(r[5]), float(r[6]), r[7]))
            elif kind == "C":
                t.connects += 1
                t.conn_pl[int(r[3])] = int(r[2])
            elif kind == "S":
                t.subs.append((int(r[2]), int(r[3]), float(r[4])))
            elif kind == "X":
                t.closes.append((int(r[2]), int(r[3]), float(r[4]), int(r[5]), r[6]))
            elif kind == "D":
                t.direct[int(r[3])].append((float(r[5]), int(r[4]), int(r[2])))
            elif kind == "F":
                t.refetches[int(r[4])].append((float(r[5]), int(r[6]), r[3], int(r[2])))
            elif kind == "T":
                t.status.append((float(r[3]), r[4], int(r[2])))
            elif kind == "W":
                t.warnings.append(" ".join(r[2:]))
            elif kind == "E":
                t.end = (float(r[2]), r[3] == "1")


class Page:
    """One page load of a tab: what it read, its connections' times, and
    the Redis status livegate told it."""

    def __init__(self, tab, render, t_end, run, reads):
        self.pl, self.t_read, self.vals = render[0], render[1], render[2]
        self.iat = render[1] + (render[3] - render[4])  # the token's iat on the monotonic clock
        self.t_end = t_end
        subs = [s[2] for s in tab.subs if s[0] == self.pl]
        self.first_sub = subs[0] if subs else None
        self.last_sub = subs[-1] if subs else None
        self.status = [(t, state) for t, state, conn in tab.status if tab.conn_pl.get(conn) == self.pl]
        # (when the tab learnt of it, when it began), by the former
        self.downs = sorted((t, began(t, run.outage_faults))
                            for t, state in self.status if state == "down")
        up = {conn for pl, conn, _ in tab.subs if pl == self.pl}
        # when a subscribed connection of this page was lost (not unloaded)
        self.losses = sorted((t, began(t, run.loss_faults)) for pl, conn, t, _, why in tab.closes
                             if conn in up and why not in ("reload", "finished"))
        self.stalls = tab.stalls
        self.reads = reads  # sorted (t_read, when it was published) of its direct messages

    def backlog(self, t):
        """How far behind the page's stream was when it read a frame at t:
        the delay of the message it read last before, if at most BACKLOG_S
        before (else none known)."""
        i = bisect.bisect_right(self.reads, (t, math.inf))
        if not i or t - self.reads[i - 1][0] > BACKLOG_S:
            return 0.0
        return max(0.0, self.reads[i - 1][0] - self.reads[i - 1][1])

    def awake(self, t0, t1):
        """Seconds from t0 to t1 that the tab's process was not stopped."""
        span = t1 - t0
        for s0, s1 in self.stalls:
            span -= max(0.0, min(s1, t1) - max(s0, t0))
        return span

    def within_flight(self, t_pub, t_event):
        """Whether a message published by t_pub may have been lost by an
        event that began at t_event: after it, or at most IN_FLIGHT_S of
        the tab's running time before."""
        return t_pub >= t_event or self.awake(t_pub, t_event) < IN_FLIGHT_S

    def unloaded_before(self, t_pub):
        """Whether the page went away before a message published by t_pub
        could reach it: less than IN_FLIGHT_S after it, not counting the time its
        process was stopped, or while livegate said Redis was down (an
        outage that began at most IN_FLIGHT_S after the message)."""
        if self.awake(t_pub, self.t_end) < IN_FLIGHT_S:
            return True
        told = [(t, state) for t, state in self.status if t <= self.t_end]
        if not told or told[-1][1] != "down":
            return False
        return last_before(self.downs, self.t_end) <= t_pub + IN_FLIGHT_S

    def caused_by_loss(self, label, t_cover, t_pub):
        """Whether an invalidation (or reconnect refetch) at t_cover answers
        the event that may have lost a message published by t_pub, rather than
        happening to come later (within_flight: the event began before
        the message was published, or less than IN_FLIGHT_S of the tab's
        running time after): a resync follows an outage livegate told the
        page of (down); a reconnect or a missed the loss of the page's
        subscribed connection (a missed also the render: the message came
        in the render-to-subscribe gap); a coalesced is its own event,
        dated by its arrival less the backlog of the stream it came in.
        Outages and losses are dated by began()."""
        if label == "resync":
            t = last_before(self.downs, t_cover)
            return t is not None and self.within_flight(t_pub, t)
        if label in ("reconnect", "missed"):
            t = last_before(self.losses, t_cover)
            if t is None:
                return label == "missed"
            return self.within_flight(t_pub, t)
        if label == "coalesced":
            return self.within_flight(t_pub, t_cover - self.backlog(t_cover))
        return False  # a reason the campaign does not know covers nothing


def last_before(events, t):
    """When the latest of events (sorted (learnt, began)) learnt at or
    before t began, or None."""
    i = bisect.bisect_right(events, (t, math.inf))
    return events[i - 1][1] if i else None


def began(t_learnt, faults):
    """When an event a tab learnt of at t_learnt began: the start of the
    latest of faults (sorted (t0, t1)) under way then, or at most
    IN_FLIGHT_S over, else t_learnt itself."""
    i = bisect.bisect_right(faults, (t_learnt, math.inf))
    if i and t_learnt <= faults[i - 1][1] + IN_FLIGHT_S:
        return min(t_learnt, faults[i - 1][0])
    return t_learnt


def pages_of(tab, run):
    """The tab's page loads, each ending where the tab unloaded it."""
    ends = {}
    for pl, conn, t, code, why in tab.closes:
        if why in ("reload", "finished"):
            ends[pl] = t
    reads = defaultdict(list)
    for ch, got in tab.direct.items():
        pub = run.published_by[ch]
        for t, seq, conn in got:
            if seq <= len(pub):
                reads[tab.conn_pl.get(conn)].append((t, pub[seq - 1]))
    out = []
    for i, r in enumerate(tab.renders):
        if r[0] in ends:
            t_end = ends[r[0]]
        elif i + 1 < len(tab.renders):
            t_end = tab.renders[i + 1][1]
        else:
            t_end = tab.end[0] if tab.end else math.inf
        out.append(Page(tab, r, t_end, run, sorted(reads[r[0]])))
    return out


def publish_outcome(result):
    """What Redis made of a PUBLISH: seen by livegate, published with no
    livegate subscribed (it was down or restarting), or lost with Redis."""
    if result in ("E", "T"):
        return "failed"
    return "no_subscriber" if result == "0" else "seen"


def refetch_key(tab, conn, label, ch, t):
    """One refetch: a reconnect refetches every channel at once."""
    if label == "reconnect":
        return ("F", tab, conn, label)
    return ("F", tab, conn, label, ch, t)


def published_by(msg, hangs):
    """The latest moment Redis may have published a message: when it
    answered; for a PUBLISH that timed out in a hang, when Redis resumed
    (it still runs what waited in its socket); for a failed one, its send."""
    _, t_sent, t_done, result = msg
    if result == "T":
        return max([t1 for t0, t1 in hangs if t0 <= t_done and t1 >= t_sent] + [t_done])
    return t_sent if result == "E" else t_done


def percentile(values, p):
    """Nearest-rank percentile of a list (None when empty)."""
    if not values:
        return None
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


class Checker:
    def __init__(self, run):
        self.run = run
        self.covered = Counter()      # label -> messages
        self.misses = []              # (class, tab, ch, seq, detail)
        self.justified = set()        # ids of refetch events that covered something
        self.refetch_total = Counter()
        self.dupes = 0
        self.out_of_order = 0
        self.gap_pageloads = set()
        self.gap_by_publish = Counter()
        self._pages = {}              # tab id -> its page loads (pages_of), built once

    def pages(self, tab):
        if tab.id not in self._pages:
            self._pages[tab.id] = pages_of(tab, self.run)
        return self._pages[tab.id]

    # -- coverage ---------------------------------------------------------

    def check_tab(self, tab):
        pages = self.pages(tab)
        for j, ch in enumerate(tab.chans):
            got = self._direct_seqs(tab, ch)
            for i, page in enumerate(pages):
                nxt = pages[i + 1] if i + 1 < len(pages) else None
                last = len(self.run.msgs[ch])  # (a run cut short logged fewer)
                hi = min(nxt.vals[j], last) if nxt else last
                self._check_page(tab, ch, j, page, nxt, got, hi)

    def _check_page(self, tab, ch, j, page, nxt, got, hi):
        covers = []
        for t, val, label, conn in tab.refetches[ch]:
            if tab.conn_pl.get(conn) == page.pl:
                covers.append((t, val, label, refetch_key(tab.id, conn, label, ch, t)))
        covers.sort(key=lambda c: c[0])
        vals = [c[1] for c in covers]
        if any(b < a for a, b in zip(vals, vals[1:])):
            raise ValueError(f"tab {tab.id} channel {ch}: a later read saw less: {covers}")
        latest_direct = max((seq for _, seq, conn in tab.direct[ch]
                             if tab.conn_pl.get(conn) == page.pl), default=0)
        for seq in range(page.vals[j] + 1, hi + 1):
            if seq in got:
                self.covered["direct"] += 1
                continue
            t_pub = self.run.published_by[ch][seq - 1]
            cover = next((c for c in covers[bisect.bisect_left(vals, seq):]
                          if page.caused_by_loss(c[2], c[0], t_pub)), None)
            if cover:
                self.covered[cover[2]] += 1
                self.justified.add(cover[3])
                continue
            if nxt and latest_direct < seq and page.unloaded_before(t_pub):
                self.covered["reload"] += 1
                self.justified.add(("R", tab.id, nxt.pl))
                continue
            self._classify_miss(tab, ch, seq, page, nxt is None, latest_direct)

    def _direct_seqs(self, tab, ch):
        got = set()
        last = {}  # conn -> last acknowledged seq delivered on it
        for t, seq, conn in tab.direct[ch]:
            if seq in got:
                self.dupes += 1
            got.add(seq)
            if seq <= len(self.run.msgs[ch]) and self.run.msgs[ch][seq - 1][3] not in ("E", "T"):
                if seq < last.get(conn, 0):
                    self.out_of_order += 1
                last[conn] = max(last.get(conn, 0), seq)
        return got

    def _classify_miss(self, tab, ch, seq, page, last_page, latest_direct):
        t_write, t_sent, _, result = self.run.msgs[ch][seq - 1]
        detail = (f"pl={page.pl} rendered={page.t_read:.3f} subscribed={page.first_sub} "
                  f"ended={page.t_end:.3f} written={t_write:.3f} sent={t_sent:.3f} "
                  f"publish={result} latest_direct={latest_direct}")
        ended_ok = tab.end is not None and tab.end[1]
        if page.first_sub is None or page.first_sub > t_sent:
            kind = "gap"
            self.gap_pageloads.add((tab.id, page.pl))
        elif last_page and not ended_ok and (page.last_sub is None or t_write > page.last_sub):
            kind = "unconverged"
        else:
            kind = "unexplained"
        self.misses.append((kind, tab.id, ch, seq, detail))
        if kind == "gap":
            self.gap_by_publish[publish_outcome(result)] += 1

    # -- refetches that justified nothing -----------------------------------

    def refetch_counts(self):
        """Refetches livegate's invalidations (and the client's reconnects)
        caused, and how many of them covered a message the page lacked.
        Page loads are the user's own and not counted here."""
        out = {label: {"total": 0, "justified": 0} for label in INVALIDATION_REASONS + ("reconnect",)}
        seen = set()
        for tab in self.run.tabs.values():
            for ch in tab.chans:
                for t, val, label, conn in tab.refetches[ch]:
                    key = refetch_key(tab.id, conn, label, ch, t)
                    if key in seen:
                        continue
                    seen.add(key)
                    slot = out.setdefault(label, {"total": 0, "justified": 0})
                    slot["total"] += 1
                    slot["justified"] += key in self.justified
        for v in out.values():
            v["extra"] = v["total"] - v["justified"]
        out["missed"]["no_publish"] = self.missed_without_publish()
        return out

    def missed_without_publish(self):
        """`missed` invalidations with no PUBLISH at all on their channel
        between the token's iat less the render slack and their arrival
        (issue 13's target: at most 1 % of page loads in steady state)."""
        slack = self.run.info["render_slack_ms"] / 1000.0
        sent = [[m[1] for m in msgs] for msgs in self.run.msgs]
        count = 0
        for tab in self.run.tabs.values():
            iat = {p.pl: p.iat for p in self.pages(tab)}
            for ch in tab.chans:
                for t, _, label, conn in tab.refetches[ch]:
                    if label != "missed":
                        continue
                    start = iat[tab.conn_pl[conn]] - slack
                    if bisect.bisect_right(sent[ch], t) == bisect.bisect_left(sent[ch], start):
                        count += 1
        return count

    # -- convergence --------------------------------------------------------

    def knowledge(self, tab, j, ch):
        """(times, running max of what the tab knew of ch)."""
        ev = [(t, vals[j]) for _, t, vals, *_ in tab.renders]
        ev += [(t, seq) for t, seq, _ in tab.direct[ch]]
        ev += [(t, val) for t, val, *_ in tab.refetches[ch]]
        ev.sort()
        times, known, best = [], [], -1
        for t, v in ev:
            best = max(best, v)
            times.append(t)
            known.append(best)
        return times, known

    def convergence(self):
        """Per fault kind, the times to converge: over every tab, and over
        the tabs not waiting on a message lost in their render-to-subscribe
        gap (a figure of the faults themselves while the catch-up is absent)."""
        writes = [[m[0] for m in msgs] for msgs in self.run.msgs]
        gap = defaultdict(list)
        for kind, tab_id, ch, seq, _ in self.misses:
            if kind == "gap":
                gap[(tab_id, ch)].append(seq)
        pairs = []
        for tab in self.run.tabs.values():
            if not tab.renders:
                continue
            for j, ch in enumerate(tab.chans):
                pairs.append((tab.id, ch, tab.renders[0][1], *self.knowledge(tab, j, ch),
                              sorted(gap[(tab.id, ch)])))
        by_kind, beside_gap = defaultdict(list), defaultdict(list)
        never = Counter()
        slowest = []
        for kind, _, t_end, detail in self.run.faults:
            latest = [bisect.bisect_right(w, t_end) for w in writes]
            worst = worst_ng = 0.0
            who = None
            for tab_id, ch, born, times, known, gaps in pairs:
                if born > t_end or latest[ch] == 0:
                    continue
                i = bisect.bisect_left(known, latest[ch])
                wait = math.inf if i == len(known) else max(0.0, times[i] - t_end)
                if wait > worst:
                    worst, who = wait, (tab_id, ch)
                k = bisect.bisect_right(times, t_end)
                knew = known[k - 1] if k else -1
                # a gap miss it did not know of at t_f: waiting on the gap
                g = bisect.bisect_right(gaps, knew)
                if not (g < len(gaps) and gaps[g] <= latest[ch]):
                    worst_ng = max(worst_ng, wait)
            if math.isinf(worst):
                never[kind] += 1
            else:
                by_kind[kind].append(worst)
            if not math.isinf(worst_ng):
                beside_gap[kind].append(worst_ng)
            slowest.append((worst, kind, t_end, who, detail))
        slowest.sort(key=lambda s: -s[0])
        return by_kind, beside_gap, never, slowest[:10]

    # -- everything -------------------------------------------------------------

    def figures(self):
        run = self.run
        for tab in run.tabs.values():
            self.check_tab(tab)
        miss_kinds = Counter(m[0] for m in self.misses)
        by_kind, beside_gap, never, slowest = self.convergence()
        kinds = run.info["fault_kinds"]
        fault_count = Counter(f[0] for f in run.faults)
        fault_secs = defaultdict(list)
        for kind, t0, t1, _ in run.faults:
            fault_secs[kind].append(t1 - t0)
        results = Counter({"published": 0, "failed": 0, "timeout": 0})  # zeros kept: a run without faults
        for msgs in run.msgs:
            for m in msgs:
                results["timeout" if m[3] == "T" else "failed" if m[3] == "E" else "published"] += 1
        pageloads = sum(len(t.renders) for t in run.tabs.values())
        slack = run.info["render_slack_ms"] / 1000.0
        renders = [r for t in run.tabs.values() for r in t.renders]
        refetch = self.refetch_counts()
        return {
            "faults": {k: {"count": fault_count[k],
                           "median_s": percentile(fault_secs[k], 50),
                           "converge_p50_s": percentile(by_kind[k], 50),
                           "converge_p99_s": percentile(by_kind[k], 99),
                           "converge_max_s": max(by_kind[k]) if by_kind[k] else None,
                           "never_converged": never[k],
                           "beside_gap_p50_s": percentile(beside_gap[k], 50),
                           "beside_gap_p99_s": percentile(beside_gap[k], 99)} for k in kinds},
            "slowest_convergence": [{"seconds": s[0], "kind": s[1], "tab_channel": s[3], "detail": s[4]}
                                    for s in slowest],
            "tabs": {"total": len(run.tabs),
                     "ws": sum(t.transport == "ws" for t in run.tabs.values()),
                     "sse": sum(t.transport == "sse" for t in run.tabs.values()),
                     "page_loads": pageloads,
                     "api_minted": sum(r[5] == "api" for r in renders),
                     "slow_renders": sum(r[3] - r[4] > slack for r in renders),
                     "connections": sum(t.connects for t in run.tabs.values()),
                     "subscribed": sum(len(t.subs) for t in run.tabs.values()),
                     "ended_subscribed": sum(bool(t.end and t.end[1]) for t in run.tabs.values()),
                     "status_frames": dict(Counter(s[1] for t in run.tabs.values() for s in t.status)),
                     "warnings": sum(len(t.warnings) for t in run.tabs.values()),
                     "warning_samples": [w for t in run.tabs.values() for w in t.warnings][:10]},
            "messages": {"written": sum(len(m) for m in run.msgs), **results,
                         "channels": len(run.msgs), "bursts": len(run.bursts),
                         "ticks_skipped": run.skipped},
            "coverage": {**{k: self.covered[k] for k in ("direct",) + COVER_LABELS},
                         "silent_gap": miss_kinds["gap"],
                         "silent_unconverged": miss_kinds["unconverged"],
                         "silent_unexplained": miss_kinds["unexplained"],
                         "checked": sum(self.covered.values()) + len(self.misses)},
            "gap_pageloads": len(self.gap_pageloads),
            "gap_by_publish": {k: self.gap_by_publish[k] for k in ("seen", "no_subscriber", "failed")},
            "refetches": refetch,
            "duplicates": self.dupes,
            "out_of_order": self.out_of_order,
            "miss_samples": [{"class": m[0], "tab": m[1], "channel": m[2], "seq": m[3], "detail": m[4]}
                             for m in sorted(self.misses, key=lambda m: m[0] != "unexplained")[:20]],
        }


def check(out):
    return Checker(Run(out)).figures()


if __name__ == "__main__":
    json.dump(check(sys.argv[1]), sys.stdout, indent=1, default=str)
    print()
