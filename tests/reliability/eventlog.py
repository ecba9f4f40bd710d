"""tests/reliability/eventlog.py - the campaign's records, written by every
process and read by the checker: one place that says what each line means.

Every time is CLOCK_MONOTONIC in seconds (time.monotonic()), which Linux
keeps system-wide, so times written by different processes compare
directly. Wall-clock times (a token's iat) are marked as such.

One record per line, fields separated by single spaces:

  publisher.log
    P ch seq t_write t_sent t_done result
        channel ch's data was written as seq at t_write, then PUBLISHed
        (sent at t_sent); result: receivers as Redis answered, E (failed:
        no connection or an error reply) or T (no answer within the
        timeout: Redis may still have published it)
    B t ch n        a burst of n messages on ch was asked for (stall faults)
    K t skipped     ticks dropped because the publisher was more than
                    MAX_LAG behind (only while Redis hangs)

  tabs-<k>.log (one client process; every line names its tab)
    A tab transport ch,ch,...      a browser tab and the channels it follows
    R tab pl t_read vals iat wall_read mint
        page load pl rendered: read the data (vals, one per channel in the
        tab's order) at t_read (wall clock wall_read), then minted its
        token (iat as the token says, wall clock; mint: api or pyjwt)
    C tab pl conn t                a connection is being opened
    S tab pl conn t                ... answered "subscribed"
    X tab pl conn t code why       ... ended (code: close code or 0)
    D tab conn ch seq t            an invalidation carrying seq arrived
    F tab conn label ch t val      a refetch of channel ch read val at t;
                                   label: resync, missed, coalesced (the
                                   invalidation's reason) or reconnect
    T tab conn t state             a status frame: Redis down / up
    W tab t text...                an unexpected frame or event
    E tab t ok                     the tab finished; ok=1: subscribed and
                                   drained at the end, 0: not subscribed
  faults.log
    F kind t_start t_end detail    a fault and the moment it ended
"""

import time


class LineLog:
    """Buffered writer of records; flushed by the owner (and on close)."""

    def __init__(self, path):
        self._f = open(path, "a", buffering=1 << 16)

    def rec(self, *fields):
        self._f.write(" ".join(_fmt(x) for x in fields) + "\n")

    def flush(self):
        self._f.flush()

    def close(self):
        self._f.close()


def _fmt(x):
    if isinstance(x, float):
        return f"{x:.6f}"
    return str(x)


def now():
    return time.monotonic()


def records(path):
    """Yields each line of a log as a list of fields."""
    with open(path) as f:
        for line in f:
            fields = line.split()
            if fields:
                yield fields
