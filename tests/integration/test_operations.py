"""Operating livegate: a drain spreads its 1012 closes over the window and
exits 0 before it ends; /metrics passes promtool; no log line of a whole
session ever carries a token, key or secret."""

import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import unittest

import harness
from harness import LivegateTestCase, mint_pyjwt, recv_json, send_json

KEY1 = "operations-key-one-0123456789abcdefghij"
KEY2 = "operations-key-two-0123456789abcdefghij"


class DrainTest(LivegateTestCase):
    CLIENTS = 200
    DRAIN_MS = 3000

    async def test_closes_are_spread_and_exit_is_in_time(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_DRAIN_MS": str(self.DRAIN_MS),
                                             "LIVEGATE_WORKERS": "2"})
        token = mint_pyjwt(["todos"])
        clients = []
        for _ in range(self.CLIENTS):
            ws, _ = await self.open_sub(lg, token)
            clients.append(ws)
        closed_at = []

        async def wait_close(ws):
            try:
                await ws.recv()
            except harness.ConnectionClosed as e:
                closed_at.append((time.monotonic(), e.rcvd.code if e.rcvd else None))

        waiters = [asyncio.create_task(wait_close(ws)) for ws in clients]
        t0 = time.monotonic()
        lg.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(*waiters), self.DRAIN_MS / 1000 + 5)
        status = await asyncio.to_thread(lg.proc.wait, 10)
        exit_after = time.monotonic() - t0

        self.assertEqual(status, 0)
        self.assertEqual({code for _, code in closed_at}, {1012})
        self.assertEqual(len(closed_at), self.CLIENTS)
        offsets = sorted(t - t0 for t, _ in closed_at)
        window = self.DRAIN_MS / 1000
        # Spread: the middle 80% of closes span at least half the window,
        # and no tenth of the window holds more than a quarter of them.
        p10, p90 = offsets[len(offsets) // 10], offsets[len(offsets) * 9 // 10]
        self.assertGreater(p90 - p10, window * 0.5, f"closes bunched: p10 {p10:.2f} p90 {p90:.2f}")
        buckets = [0] * 10
        for o in offsets:
            buckets[min(9, int(o / window * 10))] += 1
        self.assertLessEqual(max(buckets), self.CLIENTS // 4, f"per-tenth counts {buckets}")
        self.assertLess(exit_after, window + 0.5, "livegate outlived its drain window")
        self.assertGreater(statistics.median(offsets), window * 0.2)


class BurstTest(LivegateTestCase):
    """A client that keeps up gets every message of a burst, in order: the
    contract's one invalidate per PUBLISH. (Only a client that falls behind
    has its older invalidations collapsed: test_limits.)"""

    async def test_pipelined_burst_arrives_whole(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        ws, _ = await self.open_sub(lg, mint_pyjwt(["todos", "other"]))
        n = 200
        script = "".join(f"PUBLISH {'todos' if i % 3 else 'other'} m{i}\n" for i in range(n))
        # One redis-cli process pipelines them: Redis hands livegate many
        # messages per read, before any socket write.
        subprocess.run(["redis-cli", "-p", str(redis.port)], input=script, text=True,
                       capture_output=True, check=True, timeout=30)
        got = [(await recv_json(ws))["data"] for _ in range(n)]
        self.assertEqual(got, [f"m{i}" for i in range(n)])
        self.assertEqual(lg.metrics().get("livegate_invalidations_coalesced_total"), 0.0)


class SpreadHintTest(LivegateTestCase):
    """Big audiences get a "spread" hint so their refetches do not hit the
    origin in the same millisecond (gateway/worker.h LG_SPREAD_*)."""

    async def test_spread_hint_grows_with_the_audience(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        small, _ = await self.open_sub(lg, mint_pyjwt(["small"]))
        redis.publish("small", "x")
        self.assertNotIn("spread", await recv_json(small))
        token = mint_pyjwt(["big"])
        clients = [(await self.open_sub(lg, token))[0] for _ in range(600)]
        redis.publish("big", "x")
        frames = [await recv_json(ws) for ws in (clients[0], clients[-1])]
        for f in frames:
            self.assertEqual(f["spread"], 600 // 5)   # ms: audience / 5, capped at 3 s


class WorkerRestartTest(LivegateTestCase):
    async def test_a_killed_worker_is_restarted(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_WORKERS": "2"})
        token = mint_pyjwt(["todos"])
        clients = [(await self.open_sub(lg, token))[0] for _ in range(20)]
        before = lg.worker_pids()
        self.assertEqual(len(before), 2)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        # Its clients see the connection drop (and would reconnect); the
        # others keep their subscription.
        dropped = 0
        for ws in clients:
            try:
                await asyncio.wait_for(ws.recv(), 1.0)
            except harness.ConnectionClosed:
                dropped += 1
            except asyncio.TimeoutError:
                pass
        self.assertGreater(dropped, 0, "no client was on the killed worker")
        await asyncio.to_thread(harness.wait_until,
                                lambda: len(lg.worker_pids()) == 2 and victim not in lg.worker_pids(),
                                5, 0.05, "worker restarted")
        await asyncio.to_thread(harness.wait_until, lambda: lg.http_status("/readyz") == 200,
                                5, 0.05, "/readyz 200 again")
        self.assertEqual(lg.metrics().get("livegate_worker_restarts_total"), 1.0)
        # New clients are served on both workers again.
        fresh = [(await self.open_sub(lg, token))[0] for _ in range(dropped)]
        redis.publish("todos", "after")
        for ws in fresh:
            self.assertEqual((await recv_json(ws))["data"], "after")
        self.assertIn("worker_died", lg.log_text())


class RestartBacklogTest(LivegateTestCase):
    async def test_handshakes_waiting_for_a_restarting_worker_are_checked(self):
        """Connections that queue while a worker restarts reach the new one
        in its first moments: each must still meet the Origin check and the
        WebSocket protocol (a worker must not accept before its protocols
        are set up)."""
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_ALLOWED_ORIGINS": "http://good.example"})
        victim = lg.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        # Queue requests in the listen backlog while no worker takes them
        # (main restarts the worker after 100 ms).
        socks = []
        for i in range(40):
            s = socket.create_connection(("127.0.0.1", lg.public_port), timeout=10)
            origin = "http://evil.example" if i % 2 else "http://good.example"
            s.sendall(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n").encode())
            socks.append((origin, s))
        try:
            for origin, s in socks:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = await asyncio.to_thread(s.recv, 4096)
                    if not chunk:
                        break
                    data += chunk
                status = data.split(b" ", 2)[1] if data.startswith(b"HTTP/") else data[:40]
                with self.subTest(origin=origin):
                    self.assertEqual(status, b"403" if "evil" in origin else b"101", data[:80])
        finally:
            for _, s in socks:
                s.close()
        # The accepted ones are livegate's WebSockets: no subscribe, 4003.
        ws = await harness.connect(lg.ws_url, origin="http://good.example")
        await self.assertClosedWith(ws, 4003, timeout=15, what="no subscribe after restart")


class MetricsFormatTest(LivegateTestCase):
    @unittest.skipUnless(shutil.which("promtool") or os.environ.get("CI"),
                         "promtool (Debian package prometheus) not installed")
    async def test_promtool_accepts_metrics(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        ws, _ = await self.open_sub(lg, mint_pyjwt(["todos"]))
        redis.publish("todos", "x")
        await recv_json(ws)
        status, _, body = lg.http("GET", "/metrics")
        self.assertEqual(status, 200)
        text = body.decode() if isinstance(body, bytes) else body
        for name in ("livegate_connections", "livegate_frames_delivered_total",
                     "livegate_delivery_seconds_bucket", "livegate_closes_total"):
            self.assertIn(f"\n{name}", "\n" + text)
        proc = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                              capture_output=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


class LogSecrecyTest(LivegateTestCase):
    """Runs a session that touches every path that could log credentials,
    then greps everything livegate wrote."""

    async def test_no_secret_in_any_log_line(self):
        redis = self.start_redis(password="redis-pass-0123456789")
        workdir = tempfile.mkdtemp(prefix="livegate-ops-")
        self.addCleanup(shutil.rmtree, workdir, True)
        keys = os.path.join(workdir, "keys")
        with open(keys, "w") as f:
            f.write(f"k1:{KEY1}\n")
        lg = self.start_livegate(redis, env={
            "LIVEGATE_SECRET": None, "LIVEGATE_SECRETS_FILE": keys,
            "LIVEGATE_REDIS_URL": f"redis://:redis-pass-0123456789@127.0.0.1:{redis.port}",
            "LIVEGATE_LOG_LEVEL": "debug"})
        good = lg.mint_api(["todos"])
        forged = mint_pyjwt(["todos"], secret=KEY2, headers={"kid": "k1"})
        ws, _ = await self.open_sub(lg, good)
        lg.api("POST", "/v1/publish", {"channel": "todos", "data": {"n": 1}})
        await recv_json(ws)
        bad = await self.open_ws(lg)
        await send_json(bad, {"type": "subscribe", "token": forged})
        await self.assertClosedWith(bad, 4001)
        lg.api("POST", "/v1/tokens", {"channels": ["todos"]}, key="wrong-key-0123456789")
        # A broken keys file on SIGHUP is logged; its content must not be.
        with open(keys, "w") as f:
            f.write(f"k1:{KEY1}\nbroken line with {KEY2}\n")
        lg.proc.send_signal(signal.SIGHUP)
        await asyncio.sleep(0.5)
        redis.kill()          # Redis errors are logged with their reason
        await asyncio.sleep(0.5)
        await ws.close()
        lg.stop()
        log = lg.log_text()
        self.assertIn("keys_reload_failed", log)
        self.assertIn("redis_", log)
        for secret in (KEY1, KEY2, harness.API_KEY, "redis-pass-0123456789", good, forged,
                       good.split(".")[2], forged.split(".")[2], "wrong-key-0123456789"):
            self.assertNotIn(secret, log, "a credential reached the log")


if __name__ == "__main__":
    harness.main()
