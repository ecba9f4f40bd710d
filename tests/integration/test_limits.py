"""What happens at livegate's resource limits: a client that stops reading
(its pending invalidations collapse, memory stays flat, it is dropped after
the choke limit while other clients keep getting messages), and the
open-file limit (connections past it are refused, the process keeps
serving, and takes new connections again once some close)."""

import asyncio
import json
import os
import random
import socket
import subprocess

import harness
from harness import (LivegateTestCase, invalidate, mint_pyjwt, recv_json,
                     subscribe)

CHOKE_LIMIT_S = 20          # gateway/worker.h LG_CHOKE_LIMIT_S
PAYLOAD = "x" * 32000       # not JSON: arrives as a string


def sanitized(path):
    """True for an AddressSanitizer build: its quarantine keeps freed memory
    resident, so RSS says nothing about livegate's own bounds there."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    return "libasan" in out


def worker_rss_kib(lg):
    """VmRSS of livegate's worker processes."""
    total = 0
    for pid in lg.worker_pids():
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue  # gone meanwhile
    return total


class SlowClientTest(LivegateTestCase):
    async def test_slow_reader_collapses_then_is_dropped(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        token = mint_pyjwt(["feed"])
        fast, _ = await self.open_sub(lg, token)
        # websockets stops reading the socket once max_queue messages wait
        # unread (and read_limit bytes are buffered), so a client that never
        # calls recv() falls behind at once.
        slow = await harness.websockets.connect(lg.ws_url, max_queue=1, read_limit=4096,
                                                ping_interval=None)
        self.addAsyncCleanup(slow.close)
        slow.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET,
                                                           socket.SO_RCVBUF, 4096)
        await harness.send_json(slow, {"type": "subscribe", "token": token})
        self.assertEqual((await recv_json(slow))["type"], "subscribed")

        rss0 = worker_rss_kib(lg)
        self.assertGreater(rss0, 1000, "could not read the worker's memory")
        n = 120
        for i in range(n):
            redis.publish("feed", f"{i}:{PAYLOAD}")
            # the fast client keeps up; reading in step also paces the test
            frame = await recv_json(fast, timeout=10)
            self.assertTrue(frame["data"].startswith(f"{i}:"), frame["data"][:20])
        m = lg.metrics()
        # ~3.8 MB went out to the fast client; the slow one's queue stopped
        # at its limit (channels + 16 frames), older ones collapsed.
        self.assertGreater(m["livegate_invalidations_coalesced_total"], 0)
        if not sanitized(harness.livegate_bin()):
            self.assertLess(worker_rss_kib(lg) - rss0, 4096,
                            "worker memory grew with the slow client's backlog")
        # The choke clock runs while livegate holds data the socket will not
        # take: keep the channel busy and the slow client is dropped within
        # the limit (plus a wheel tick or two).
        deadline = asyncio.get_running_loop().time() + CHOKE_LIMIT_S + 20
        while lg.metrics().get("livegate_slow_clients_closed_total") != 1.0:
            self.assertLess(asyncio.get_running_loop().time(), deadline, "slow client not dropped")
            redis.publish("feed", "tick:" + PAYLOAD)
            self.assertFrame(await recv_json(fast), invalidate("feed", "tick:" + PAYLOAD))
            await asyncio.sleep(0.5)
        # The fast client never noticed.
        redis.publish("feed", "after")
        self.assertFrame(await recv_json(fast), invalidate("feed", "after"))


class BehindReaderTest(LivegateTestCase):
    async def test_reader_that_falls_behind_gets_every_frame_intact(self):
        """Frames go straight to the socket while it takes them; one the
        kernel takes only in part has its rest held until the socket drains,
        ahead of everything queued after it. A reader that stalls and then
        catches up gets every frame whole and in order."""
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        token = mint_pyjwt(["feed"])
        lagging = await harness.websockets.connect(lg.ws_url, max_queue=1, read_limit=4096,
                                                   ping_interval=None, max_size=None)
        self.addAsyncCleanup(lagging.close)
        lagging.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET,
                                                              socket.SO_RCVBUF, 4096)
        await harness.send_json(lagging, {"type": "subscribe", "token": token})
        self.assertEqual((await recv_json(lagging))["type"], "subscribed")
        # 6 x 20 kB: under the per-client queue's byte limit, nothing
        # collapses; more than the socket's 16 kB send buffer, so the kernel
        # takes one of them only in part.
        n, payload = 6, "x" * 20000
        for i in range(n):
            redis.publish("feed", f"{i}:{payload}")
        deadline = asyncio.get_running_loop().time() + 10
        while not lg.metrics().get("livegate_partial_writes_total"):
            self.assertLess(asyncio.get_running_loop().time(), deadline,
                            "no frame was ever cut short by the kernel")
            await asyncio.sleep(0.1)
        for i in range(n):
            self.assertFrame(await recv_json(lagging, timeout=10),
                             invalidate("feed", f"{i}:{payload}"))
        redis.publish("feed", "after")
        self.assertFrame(await recv_json(lagging), invalidate("feed", "after"))
        m = lg.metrics()
        self.assertEqual(m["livegate_invalidations_coalesced_total"], 0)
        self.assertEqual(m["livegate_frames_delivered_total"], n + 1)


class PingingReaderTest(LivegateTestCase):
    async def test_pongs_and_frames_never_interleave(self):
        """A client's WebSocket ping is answered by a pong that must never
        land inside a frame the kernel took only in part, nor a frame go out
        inside it. A reader with a tiny window that pings while frames of
        every size stream at it, reading only now and then, gets a stream
        that parses: every pong carries its ping's payload, in order; every
        invalidation is whole and in publish order (a backlog may collapse,
        skipping some); the last one arrives. This drives pongs through
        full sockets, direct writes, cut-short writes and the queue
        together. The pings stay within the rate limit (20 frames in 10 s,
        the subscribe and a last ping included)."""
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        c = harness.RawWsClient(lg.public_port, rcvbuf=4096, timeout=10)
        self.addCleanup(c.close)
        c.send_text(json.dumps({"type": "subscribe", "token": mint_pyjwt(["feed"])}))
        op, body = c.recv_frame(10)
        self.assertEqual((op, json.loads(body)["type"]), (0x1, "subscribed"))
        rnd = random.Random(7)
        sent, pings, pongs, data = [], [], [], []

        def take(op, body):
            if op == 0xA:
                pongs.append(body)
                return
            self.assertEqual(op, 0x1, f"unexpected opcode {op:#x}: the stream is corrupt")
            frame = json.loads(body)
            self.assertEqual((frame["type"], frame["channel"]), ("invalidate", "feed"))
            data.append(frame["data"])

        for _ in range(18):
            burst = [f"{len(sent) + k}:" + "x" * rnd.choice((10, 300, 3000, 20000))
                     for k in range(rnd.randint(1, 6))]
            sent += burst
            redis.publish_many("feed", burst)
            ping = os.urandom(rnd.randint(1, 125))   # a long pong is likelier cut short
            c.sock.sendall(harness.masked_frame(0x9, ping))
            pings.append(ping)
            for _ in range(rnd.randint(0, 3)):
                take(*c.recv_frame(10))
        sent.append("last")
        redis.publish("feed", "last")
        while not data or data[-1] != "last":
            take(*c.recv_frame(10))
        # A ping that comes while a pong is still owed replaces it (RFC 6455
        # 5.5.3 allows answering only the newest), so each pong answers one
        # ping, in order; one last ping on a quiet connection is always
        # answered.
        await asyncio.sleep(0.3)
        pings.append(b"final")
        c.sock.sendall(harness.masked_frame(0x9, b"final"))
        while not pongs or pongs[-1] != b"final":
            take(*c.recv_frame(10))
        it = iter(pings)
        self.assertTrue(all(p in it for p in pongs), "a pong that answers no ping, or out of order")
        self.assertGreater(len(pongs), 1)
        # Whole and in order: each one is a payload as published, later than the one before.
        at = [sent.index(d) for d in data]
        self.assertEqual(at, sorted(set(at)))
        self.assertGreater(len(data), len(sent) // 4)


class HandshakeLimitTest(LivegateTestCase):
    HANDSHAKES_MAX = 1024   # gateway/worker.h LG_HANDSHAKES_MAX
    ESTABLISH_S = 5         # gateway/worker.h LG_HANDSHAKE_S: an accepted socket's time to ask

    async def test_sockets_that_never_ask_hold_the_queue_only_briefly(self):
        """At most HANDSHAKES_MAX accepted sockets wait for their first
        request in a worker; the rest wait in the kernel's backlog. Sockets
        that connect and say nothing fill that room, a real client waits
        behind them, and is served once lws drops them."""
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = self.HANDSHAKES_MAX + 200
        if soft < need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need + 100), hard))
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        token = mint_pyjwt(["queue"])
        silent = []
        self.addCleanup(lambda: [s.close() for s in silent])
        for _ in range(self.HANDSHAKES_MAX + 20):
            silent.append(socket.create_connection(("127.0.0.1", lg.public_port)))
        t0 = asyncio.get_running_loop().time()
        await asyncio.sleep(0.5)   # livegate accepts what it may
        held = asyncio.ensure_future(harness.websockets.connect(
            lg.ws_url, open_timeout=self.ESTABLISH_S + 10, ping_interval=None, compression=None))
        done, _ = await asyncio.wait([held], timeout=1.5)
        self.assertFalse(done, "a client was served while the handshake room was full")
        ws = await held
        waited = asyncio.get_running_loop().time() - t0
        self.addAsyncCleanup(ws.close)
        await harness.send_json(ws, {"type": "subscribe", "token": token})
        self.assertEqual((await recv_json(ws))["type"], "subscribed")
        self.assertGreater(waited, 2)
        self.assertLess(waited, self.ESTABLISH_S + 4)
        # The silent ones were dropped, not served.
        dropped = 0
        for s in silent[: self.HANDSHAKES_MAX]:
            s.settimeout(2)
            try:
                if s.recv(1) == b"":
                    dropped += 1
            except (ConnectionResetError, socket.timeout):
                dropped += 1
        self.assertEqual(dropped, self.HANDSHAKES_MAX)
        self.assertEqual(lg.http_status("/readyz"), 200)


class FileLimitTest(LivegateTestCase):
    NOFILE = 300

    def start_limited(self, redis):
        lg = harness.Livegate(redis=redis)
        # prlimit (util-linux) applies the limit to livegate and its workers.
        real_bin = harness.livegate_bin()
        wrapper = os.path.join(lg.workdir, "livegate-limited")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/sh\nexec prlimit --nofile={self.NOFILE}:{self.NOFILE} {real_bin} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        os.environ["LIVEGATE_BIN"] = wrapper
        self.addCleanup(os.environ.__setitem__, "LIVEGATE_BIN", real_bin)
        self.addCleanup(lg.stop)
        self.addCleanup(self._show_log_on_failure, lg)
        lg.start()
        return lg

    async def test_connections_past_the_file_limit_are_refused(self):
        redis = self.start_redis()
        lg = self.start_limited(redis)
        token = mint_pyjwt(["many"])
        ok, refused = [], 0
        for _ in range(self.NOFILE):
            try:
                ws, _ = await subscribe(lg.ws_url, token, timeout=3)
                ok.append(ws)
            except (OSError, asyncio.TimeoutError, harness.ConnectionClosed,
                    harness.websockets.exceptions.InvalidMessage):
                refused += 1
        try:
            self.assertGreater(refused, 0, "no connection was refused past the file limit")
            self.assertGreater(len(ok), self.NOFILE // 2)
            self.assertEqual(lg.http_status("/readyz"), 200)
            # Redis still works for the clients that got in.
            redis.publish("many", "still")
            self.assertFrame(await recv_json(ok[0]), invalidate("many", "still"))
            # Room again once some leave.
            for ws in ok[-50:]:
                await ws.close()
            del ok[-50:]
            await asyncio.sleep(0.5)
            ws, frame = await subscribe(lg.ws_url, token, timeout=5)
            ok.append(ws)
            self.assertEqual(frame["type"], "subscribed")
        finally:
            for ws in ok:
                await ws.close()


if __name__ == "__main__":
    harness.main()
