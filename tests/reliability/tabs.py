"""tests/reliability/tabs.py - one client process of the campaign: several
browser tabs, each behaving as the drop-in script does
(clients/js/src/core/client.js), each writing what it saw to the process's
log (records: eventlog.py).

A tab's life is a series of page loads. A page load renders: it reads the
application's data (appdb.py) and mints a token whose iat is that moment
(from the private API, given the read as iat - a call that waits on a
busy or restarting livegate must not move the render later - or with
PyJWT where the API cannot answer or for a share of the loads); some random
0.1-2 s later, as a browser would after loading the page, it connects
(WebSocket, or the event stream POST /sse for some tabs) and subscribes.
Then it follows its channels until its next page load (a navigation or
reload at a random moment). A lost connection is retried with the script's
full-jitter backoff and the same token; once a connection that had been up
is subscribed again, the tab refetches (label "reconnect"), as the script
does. Every invalidation with a reason (resync, missed, coalesced) is a
refetch of its channel: the tab reads the data again at that moment. An
invalidation without a reason is a delivery of its message.

  /usr/bin/python3 tabs.py CONFIG_JSON
SIGUSR1: finish (every tab gets subscribed, lets in-flight frames arrive,
closes and records the end); SIGTERM: stop now.
"""

import asyncio
import json
import random
import signal
import sys
import time

import jwt  # PyJWT

from appdb import AppDb
from eventlog import LineLog, now
from links import Lost, SseLink, WsLink, close_quietly, read_into

SUBSCRIBED_TIMEOUT = 60.0   # livegate answers once Redis confirmed: an outage delays it
API_TIMEOUT = 2.0
STABLE_S = 30.0             # the script's STABLE_MS: a longer-lived link resets the backoff
QUIET_BEFORE_RELOAD_S = 0.3
STALLED_S = 0.2             # a wait overrun by this much: the process was stopped
FINISH_DRAIN_S = 2.0        # subscribed this long after the finish signal: done
FINISH_DEADLINE_S = 60.0    # a tab not subscribed by then ends as not converged
TOKEN_TTL = 6 * 3600


class Tab:
    def __init__(self, proc, spec):
        self.proc = proc
        self.cfg = proc.cfg
        self.id = spec["id"]
        self.transport = spec["transport"]
        self.chans = spec["channels"]                  # indices
        self.names = [self.cfg["names"][c] for c in self.chans]
        self.index = {n: c for n, c in zip(self.names, self.chans)}
        self.rng = random.Random(f"{self.cfg['seed']}-{self.id}")
        self.log = proc.log
        self.pl = 0
        self.conn = 0

    # -- page loads -------------------------------------------------------

    async def page_load(self):
        """Renders: reads the data, then mints the token the page carries."""
        self.pl += 1
        t_read, wall_read = now(), time.time()
        vals = [self.proc.db.read(c) for c in self.chans]
        token, how = None, "pyjwt"
        if self.rng.random() < self.cfg["api_mint_share"]:
            token = await self.proc.mint_api(self.names, round(wall_read, 3))
            how = "api"
        if token is None:  # livegate's API is down (restarting): the backend signs itself
            token, how = self.mint_pyjwt(wall_read), "pyjwt"
        iat = jwt.decode(token, options={"verify_signature": False})["iat"]
        self.log.rec("R", self.id, self.pl, t_read, ",".join(map(str, vals)), iat,
                     f"{wall_read:.3f}", how)
        return token

    def mint_pyjwt(self, wall):
        claims = {"channels": self.names, "iat": round(wall, 3), "exp": int(wall) + TOKEN_TTL}
        return jwt.encode(claims, self.cfg["secret"], algorithm="HS256")

    def refetch(self, label, chans):
        t = now()
        for c in chans:
            self.log.rec("F", self.id, self.conn, label, c, t, self.proc.db.read(c))

    # -- the tab ----------------------------------------------------------

    async def run(self):
        self.log.rec("A", self.id, self.transport, ",".join(map(str, self.chans)))
        while True:
            token = await self.page_load()
            await asyncio.sleep(self.rng.uniform(*self.cfg["subscribe_delay"]))
            if await self.follow(token):
                return

    def backoff(self, attempt):
        ceiling = min(self.cfg["backoff_cap"], self.cfg["backoff_base"] * 2 ** attempt)
        return self.rng.random() * ceiling

    async def follow(self, token):
        """Follows the channels with this page's token until the next page
        load (returns False) or the end of the campaign (returns True)."""
        ever_up, attempt = False, 0
        reload_at = now() + self.rng.expovariate(1.0 / self.cfg["reload_mean"])
        while True:
            if self.proc.finishing and now() > self.proc.finish_deadline:
                self.log.rec("E", self.id, now(), 0)
                return True
            self.conn += 1
            self.log.rec("C", self.id, self.pl, self.conn, now())
            link = None
            try:
                link = await self.open(token)
                self.log.rec("S", self.id, self.pl, self.conn, now())
                if ever_up:
                    self.refetch("reconnect", self.chans)  # as the script does after a gap
                ever_up, up_at = True, now()
                outcome = await self.pump(link, reload_at)
            except Lost as e:
                self.log.rec("X", self.id, self.pl, self.conn, now(), e.code, e.why.replace(" ", "_") or "-")
                if ever_up and now() - up_at >= STABLE_S:
                    attempt = 0
                await asyncio.sleep(self.backoff(attempt))
                attempt += 1
                continue
            finally:
                if link is not None:
                    await close_quietly(link)
            self.log.rec("X", self.id, self.pl, self.conn, now(), 1000, outcome)
            if outcome == "finished":
                self.log.rec("E", self.id, now(), 1)
                return True
            return False

    async def open(self, token):
        """Connects and subscribes; returns the link once "subscribed" came."""
        cls = SseLink if self.transport == "sse" else WsLink
        try:
            link = await cls.open(self.cfg, token)
        except Lost:
            raise
        except Exception as e:  # refused, reset, timed out, bad handshake: all a lost link
            raise Lost(0, type(e).__name__)
        deadline = now() + SUBSCRIBED_TIMEOUT
        try:
            while True:
                frame = await asyncio.wait_for(link.recv(), max(0.0, deadline - now()))
                if frame.get("type") == "subscribed":
                    return link
                # Clients ignore frames they do not know; livegate tells a
                # client waiting on a Redis outage that Redis is down.
                self.on_frame(frame)
        except asyncio.TimeoutError:
            await close_quietly(link)
            raise Lost(0, "no_subscribed_in_time")
        except BaseException:
            await close_quietly(link)
            raise

    async def pump(self, link, reload_at):
        """Handles frames until it is time to reload or to finish; a lost
        connection raises Lost."""
        frames = asyncio.Queue()
        reader = asyncio.create_task(read_into(link, frames))
        finish_at = None
        try:
            while True:
                due = False
                if self.proc.finishing:
                    finish_at = finish_at or now() + FINISH_DRAIN_S
                    if now() >= finish_at:
                        return "finished"
                elif now() >= reload_at:
                    due = True
                # A due reload still waits for a moment without frames: a tab
                # that resumes from a stall reads what waited for it first,
                # as a browser runs the socket's events queued before the timer.
                wait = QUIET_BEFORE_RELOAD_S if due else 0.5 if self.proc.finishing \
                    else min(0.5, reload_at - now())
                asked = now()
                try:
                    item = await asyncio.wait_for(frames.get(), wait)
                except asyncio.TimeoutError:
                    # (a wait that took far longer was a stall: wait again)
                    if due and now() - asked < wait + STALLED_S:
                        return "reload"
                    continue
                if isinstance(item, Lost):
                    raise item
                self.on_frame(item)
        finally:
            reader.cancel()

    def on_frame(self, f):
        kind = f.get("type")
        if kind == "invalidate" and f.get("channel") in self.index:
            ch = self.index[f["channel"]]
            reason = f.get("reason")
            if reason is None:
                data = f.get("data")
                if isinstance(data, dict) and isinstance(data.get("seq"), int):
                    self.log.rec("D", self.id, self.conn, ch, data["seq"], now())
                    return
            else:
                self.refetch(reason, [ch])
                return
        elif kind == "status" and f.get("redis") in ("up", "down"):
            self.log.rec("T", self.id, self.conn, now(), f["redis"])
            return
        self.log.rec("W", self.id, now(), "frame", json.dumps(f, separators=(",", ":")))


class Process:
    def __init__(self, cfg):
        self.cfg = cfg
        self.db = AppDb(cfg["db_path"], len(cfg["names"]))
        self.log = LineLog(cfg["log_path"])
        self.finishing = False
        self.finish_deadline = None

    def finish(self):
        if not self.finishing:
            self.finishing = True
            self.finish_deadline = now() + FINISH_DEADLINE_S

    async def mint_api(self, names, iat):
        """POST /v1/tokens for a render that read its data at iat; None
        when the API does not answer 201."""
        body = json.dumps({"channels": names, "ttl": TOKEN_TTL, "iat": iat}).encode()
        req = (b"POST /v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
               b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (self.cfg["api_key"].encode(), len(body), body))
        writer = None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.cfg["private_port"]), API_TIMEOUT)
            writer.write(req)
            raw = await asyncio.wait_for(reader.read(), API_TIMEOUT)
        except (OSError, asyncio.TimeoutError):
            return None
        finally:
            if writer is not None:
                writer.transport.abort()
        head, _, payload = raw.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 201"):
            return None
        try:
            return json.loads(payload)["token"]
        except (ValueError, KeyError):
            return None

    async def run(self):
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self.finish)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        tabs = [asyncio.create_task(Tab(self, spec).run()) for spec in self.cfg["tabs"]]
        flusher = asyncio.create_task(self.flush_every_second())
        done = asyncio.create_task(asyncio.wait(tabs))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([done, stopped], return_when=asyncio.FIRST_COMPLETED)
        for t in tabs:
            t.cancel()
        flusher.cancel()
        stopped.cancel()
        failed = [t for t in tabs if t.done() and not t.cancelled() and t.exception()]
        for t in failed:
            self.log.rec("W", -1, now(), "tab_crashed", repr(t.exception()).replace(" ", "_"))
        self.log.close()
        return 1 if failed or stop.is_set() else 0

    async def flush_every_second(self):
        while True:
            await asyncio.sleep(1)
            self.log.flush()


def main():
    cfg = json.loads(sys.argv[1])

    async def amain():
        return await Process(cfg).run()
    sys.exit(asyncio.run(amain()))


if __name__ == "__main__":
    main()
