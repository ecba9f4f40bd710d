"""livegate and Redis: one SUBSCRIBE per channel however many clients, and
UNSUBSCRIBE after the last; surviving a Redis crash and restart with one
resync invalidation per followed channel; password and db from the URL.
Contract: "Redis", "Public endpoint" step 3, "Private API" /readyz."""

import asyncio
import json
import signal
import socket
import threading
import time

import harness
from harness import invalidate, mint_pyjwt, recv_json, send_json

OUTAGE_READY_TIMEOUT = 20.0   # reconnect backoff is capped; be generous


class SubscriptionCountTest(harness.LivegateTestCase):
    """One pattern subscription per worker on the channel prefix, whatever
    the clients and channels (pubsub/sub.h): it sees every message under
    the prefix, which the catch-up needs (a first visitor's channel is
    usually cold), and Redis holds no per-channel subscription of it."""

    def setUp(self):
        self.redis = self.start_redis()
        self.lg = self.start_livegate(self.redis)

    def _channels_become(self, n):
        harness.wait_until(lambda: self.lg.metrics().get("livegate_channels") == float(n), 2,
                           what=f"livegate_channels == {n}")

    async def test_one_pattern_however_many_clients_and_channels(self):
        self.assertEqual(self.redis.numpat(), 1)
        clients = []
        for _ in range(3):
            ws, _ = await self.open_sub(self.lg, mint_pyjwt(["todos"]))
            clients.append(ws)
        b, _ = await self.open_sub(self.lg, mint_pyjwt(["users", "orders"]))
        self.assertEqual(self.redis.numpat(), 1)
        for ch in ("todos", "users", "orders"):
            self.assertEqual(self.redis.numsub(ch), 0, ch)
        self.assertEqual(self.lg.metrics().get("livegate_channels"), 3.0)
        self.assertEqual(self.lg.metrics().get("livegate_connections"), 4.0)
        # Closing in any order keeps the channel until the last leaves.
        await clients[1].close()
        await clients[0].close()
        await asyncio.sleep(0.3)
        self.assertEqual(self.redis.publish("todos", "left"), 1)
        self.assertFrame(await recv_json(clients[2]), invalidate("todos", "left"))
        await clients[2].close()
        # b re-subscribes away from users.
        await send_json(b, {"type": "subscribe", "token": mint_pyjwt(["orders"])})
        self.assertEqual((await recv_json(b))["type"], "subscribed")
        await asyncio.to_thread(self._channels_become, 1)
        self.redis.publish("users", "gone")
        self.redis.publish("orders", "kept")
        self.assertFrame(await recv_json(b), invalidate("orders", "kept"))
        await b.close()
        await asyncio.to_thread(self._channels_become, 0)
        self.assertEqual(self.redis.numpat(), 1)   # still watching for the catch-up

    async def test_dropped_client_leaves(self):
        ws, _ = await self.open_sub(self.lg, mint_pyjwt(["solo"]))
        self.assertEqual(self.lg.metrics().get("livegate_channels"), 1.0)
        ws.transport.abort()  # TCP reset, no close handshake
        await asyncio.to_thread(self._channels_become, 0)


class RedisOutageTest(harness.LivegateTestCase):

    async def test_redis_killed_and_restarted(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        reconnects0 = lg.metrics().get("livegate_redis_reconnects_total", 0.0)
        a, _ = await self.open_sub(lg, mint_pyjwt(["todos", "users"]))
        b, _ = await self.open_sub(lg, mint_pyjwt(["todos"]))

        redis.kill()
        await asyncio.to_thread(harness.wait_until,
                                lambda: lg.http_status("/readyz") == 503, 5, 0.05,
                                "/readyz 503 while Redis is down")
        self.assertEqual(lg.http_status("/healthz"), 200)
        self.assertEqual(lg.metrics().get("livegate_redis_connected"), 0.0)
        # Clients are told, stay connected meanwhile and are still served.
        await harness.expect_status(a, "down")
        await harness.expect_status(b, "down")
        await send_json(a, {"type": "ping"})
        self.assertEqual((await recv_json(a))["type"], "pong")
        await asyncio.sleep(1.0)  # let livegate fail at least one reconnect

        redis.start()  # same port
        await asyncio.to_thread(harness.wait_until,
                                lambda: lg.http_status("/readyz") == 200,
                                OUTAGE_READY_TIMEOUT, 0.1, "/readyz 200 after Redis is back")

        await harness.expect_status(a, "up", OUTAGE_READY_TIMEOUT)
        await harness.expect_status(b, "up", OUTAGE_READY_TIMEOUT)
        resync_a = [await recv_json(a, OUTAGE_READY_TIMEOUT) for _ in range(2)]
        resync_b = [await recv_json(b, OUTAGE_READY_TIMEOUT)]
        for frames, channels in ((resync_a, ["todos", "users"]), (resync_b, ["todos"])):
            self.assertEqual(sorted(f.get("channel") for f in frames), channels, frames)
            for f in frames:
                self.assertFrame(f, {"type": "invalidate", "channel": f.get("channel"),
                                     "data": None, "reason": "resync"})
        # Exactly one per channel: nothing else is pending.
        await harness.expect_silence(a, 0.5)
        await harness.expect_silence(b, 0.2)

        # The subscription is back in Redis: a publish is delivered again.
        self.assertEqual(redis.numpat(), 1)
        self.assertEqual(redis.publish("todos", '{"after":true}'), 1)
        self.assertFrame(await recv_json(a), invalidate("todos", {"after": True}))
        self.assertFrame(await recv_json(b), invalidate("todos", {"after": True}))
        m = lg.metrics()
        self.assertEqual(m.get("livegate_redis_connected"), 1.0)
        self.assertGreater(m.get("livegate_redis_reconnects_total", 0.0), reconnects0)

    async def test_subscribe_during_outage_waits_for_redis(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        redis.kill()
        await asyncio.to_thread(harness.wait_until,
                                lambda: lg.http_status("/readyz") == 503, 5, 0.05,
                                "/readyz 503 while Redis is down")
        ws = await self.open_ws(lg)
        await send_json(ws, {"type": "subscribe", "token": mint_pyjwt(["todos"])})
        # "subscribed" promises delivery, which Redis cannot confirm now;
        # the client is told why it waits.
        await harness.expect_status(ws, "down")
        await harness.expect_silence(ws, 1.0)
        redis.start()
        await harness.expect_status(ws, "up", OUTAGE_READY_TIMEOUT)
        frame = await recv_json(ws, OUTAGE_READY_TIMEOUT)
        self.assertFrame(frame, {"type": "subscribed", "channels": ["todos"]})
        self.assertEqual(redis.numpat(), 1)
        redis.publish("todos", '{"late":1}')
        # A resync for the channel may come first; the publish must follow.
        frame = await recv_json(ws)
        if frame.get("reason") == "resync":
            self.assertFrame(frame, {"type": "invalidate", "channel": "todos", "data": None})
            frame = await recv_json(ws)
        self.assertFrame(frame, invalidate("todos", {"late": 1}))

    async def test_client_leaving_during_outage_is_not_resubscribed(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        stays, _ = await self.open_sub(lg, mint_pyjwt(["kept"]))
        leaves, _ = await self.open_sub(lg, mint_pyjwt(["gone"]))
        redis.kill()
        await asyncio.to_thread(harness.wait_until,
                                lambda: lg.http_status("/readyz") == 503, 5, 0.05,
                                "/readyz 503 while Redis is down")
        status, reply = lg.api("POST", "/v1/publish", {"channel": "kept"})
        self.assertIn(status, (502, 503), f"publish while Redis is down: {reply}")
        self.assertTrue(isinstance(reply, dict) and "error" in reply and "message" in reply,
                        reply)
        await leaves.close()
        await asyncio.sleep(0.2)
        redis.start()
        await asyncio.to_thread(harness.wait_until,
                                lambda: lg.http_status("/readyz") == 200,
                                OUTAGE_READY_TIMEOUT, 0.1, "/readyz 200 after Redis is back")
        await harness.expect_status(stays, "down")
        await harness.expect_status(stays, "up", OUTAGE_READY_TIMEOUT)
        self.assertFrame(await recv_json(stays, OUTAGE_READY_TIMEOUT),
                         {"type": "invalidate", "channel": "kept", "data": None,
                          "reason": "resync"})
        self.assertEqual(lg.metrics().get("livegate_channels"), 1.0)   # kept, not gone

    async def test_resubscribe_during_outage_still_gets_the_resync(self):
        """Finding 2: clients that send a new subscribe naming channels they
        already follow while Redis is unreachable must still learn that
        messages were missed once it is back."""
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        token = mint_pyjwt(["todos", "users"])
        idle, _ = await self.open_sub(lg, token)
        again = [(await self.open_sub(lg, token))[0] for _ in range(2)]
        # Break the link the way an operator's mistake does: livegate is
        # thrown out and cannot get back in.
        redis.cli("CONFIG", "SET", "requirepass", "now-locked")
        redis.password = "now-locked"
        redis.cli("CLIENT", "KILL", "TYPE", "pubsub")
        await asyncio.to_thread(harness.wait_until,
                                lambda: lg.http_status("/readyz") == 503, 5, 0.05,
                                "/readyz 503 while Redis refuses livegate")
        self.assertEqual(redis.publish("todos", "missed-1"), 0)
        self.assertEqual(redis.publish("users", "missed-2"), 0)
        for ws in again:
            await send_json(ws, {"type": "subscribe", "token": mint_pyjwt(["users", "todos"])})
        await asyncio.sleep(0.5)
        redis.cli("CONFIG", "SET", "requirepass", "")
        redis.password = None
        # Each gets a resync per channel; the re-subscribers also their
        # 'subscribed' (at once, or once Redis is back). Status frames
        # (Redis down, then up) come in between.
        for ws in [idle] + again:
            got, subscribed = {}, ws is idle
            while len(got) < 2 or not subscribed:
                frame = await recv_json(ws, OUTAGE_READY_TIMEOUT)
                if frame["type"] == "status":
                    continue
                if frame["type"] == "subscribed":
                    self.assertEqual(sorted(frame["channels"]), ["todos", "users"])
                    subscribed = True
                    continue
                self.assertEqual(frame.get("reason"), "resync", frame)
                got[frame["channel"]] = frame
            self.assertEqual(sorted(got), ["todos", "users"])

    async def test_hung_redis_is_noticed_and_resynced(self):
        """A Redis that stops answering (SIGSTOP) is a lost link: /readyz
        turns 503 (within 3 s of its last byte; docs/operations.md)
        and every client gets its resync once Redis answers again."""
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        ws, _ = await self.open_sub(lg, mint_pyjwt(["todos"]))
        redis.proc.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            await asyncio.to_thread(harness.wait_until,
                                    lambda: lg.http_status("/readyz") == 503, 10, 0.05,
                                    "/readyz 503 while Redis hangs")
            print(f"\nfigure: hung Redis noticed after {time.monotonic() - stopped:.1f} s",
                  flush=True)
        finally:
            redis.proc.send_signal(signal.SIGCONT)
        await harness.expect_status(ws, "down")
        await harness.expect_status(ws, "up", OUTAGE_READY_TIMEOUT)
        self.assertFrame(await recv_json(ws, OUTAGE_READY_TIMEOUT),
                         {"type": "invalidate", "channel": "todos", "data": None,
                          "reason": "resync"})
        redis.publish("todos", "after")
        self.assertFrame(await recv_json(ws), invalidate("todos", "after"))

    async def test_starts_without_redis_then_becomes_ready(self):
        redis = harness.RedisServer(port=harness.free_port())  # fixed port, not started yet
        self.addCleanup(redis.stop)
        lg = self.start_livegate(redis, ready=False)
        self.assertEqual(lg.http_status("/readyz"), 503)
        redis.start()
        await asyncio.to_thread(harness.wait_until,
                                lambda: lg.http_status("/readyz") == 200,
                                OUTAGE_READY_TIMEOUT, 0.1, "/readyz 200 once Redis is up")
        ws, _ = await self.open_sub(lg, mint_pyjwt(["todos"]))
        redis.publish("todos", "hi")
        self.assertFrame(await recv_json(ws), invalidate("todos", "hi"))


class ThrottledProxy:
    """A TCP proxy to Redis that passes what livegate sends at once and what
    Redis sends at `rate` bytes per second: a link that keeps delivering but
    falls behind, so an answer to livegate's heartbeat waits behind seconds
    of messages (issue 10, finding 1)."""

    def __init__(self, redis_port, rate):
        self.rate = rate
        self.redis_port = redis_port
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        self.stopping = False
        self.socks = [self.lsock]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            r = socket.create_connection(("127.0.0.1", self.redis_port))
            self.socks += [c, r]
            threading.Thread(target=self._pump, args=(c, r, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(r, c, self.rate), daemon=True).start()

    def _pump(self, src, dst, rate):
        start, sent = time.monotonic(), 0
        try:
            while True:
                data = src.recv(4096 if rate else 65536)
                if not data:
                    break
                dst.sendall(data)
                if rate:
                    sent += len(data)
                    ahead = sent / rate - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.stopping = True
        for s in self.socks:
            s.close()


class SlowLinkTest(harness.LivegateTestCase):

    async def test_a_link_that_delivers_is_not_declared_dead(self):
        redis = self.start_redis()
        proxy = ThrottledProxy(redis.port, rate=40_000)
        self.addCleanup(proxy.close)
        lg = self.start_livegate(redis, env={
            "LIVEGATE_REDIS_URL": f"redis://127.0.0.1:{proxy.port}"})
        ws, _ = await self.open_sub(lg, mint_pyjwt(["feed"]))
        # 80 KB/s for 12 s through a 40 KB/s link: by the end the heartbeat's
        # answer waits about 12 s behind messages that keep arriving.
        n, pad = 960, "x" * 1000

        def publish():
            for i in range(0, n, 8):
                redis.publish_many("feed", [json.dumps({"seq": k, "pad": pad})
                                            for k in range(i, i + 8)])
                time.sleep(0.1)
        publisher = threading.Thread(target=publish)
        publisher.start()
        self.addCleanup(publisher.join)
        seqs = []
        while len(seqs) < n:
            frame = await recv_json(ws, timeout=60)
            self.assertNotIn("reason", frame, "the link was dropped")
            seqs.append(frame["data"]["seq"])
        self.assertEqual(seqs, list(range(n)))
        self.assertNotIn("redis_down", lg.log_text())
        self.assertEqual(lg.metrics().get("livegate_redis_reconnects_total", 0.0), 0.0)


class RedisAuthTest(harness.LivegateTestCase):

    async def test_password_and_db_from_url(self):
        redis = self.start_redis(password="s3cret-pass")
        lg = self.start_livegate(redis, env={
            "LIVEGATE_REDIS_URL": f"redis://:s3cret-pass@127.0.0.1:{redis.port}/2"})
        ws, _ = await self.open_sub(lg, lg.mint_api(["todos"]))
        self.assertEqual(redis.numpat(), 1)
        self.assertEqual(redis.publish("todos", '{"id":1}'), 1)
        self.assertFrame(await recv_json(ws), invalidate("todos", {"id": 1}))
        status, reply = lg.api("POST", "/v1/publish", {"channel": "todos", "data": 5})
        self.assertEqual((status, reply), (202, {"receivers": 1}))
        self.assertFrame(await recv_json(ws), invalidate("todos", 5))

    async def test_wrong_password_is_not_ready(self):
        redis = self.start_redis(password="s3cret-pass")
        lg = self.start_livegate(redis, ready=False, env={
            "LIVEGATE_REDIS_URL": f"redis://:wrong-pass@127.0.0.1:{redis.port}"})
        # Serving (healthz) but not ready: Redis refused the password.
        for _ in range(10):
            self.assertEqual(lg.http_status("/healthz"), 200)
            self.assertEqual(lg.http_status("/readyz"), 503)
            await asyncio.sleep(0.2)
        # The log says what an operator must fix: the password (the PING
        # sent behind AUTH is refused too, and must not hide why).
        retries = [ln for ln in lg.log_text().splitlines() if "event=redis_retry" in ln]
        self.assertTrue(retries, lg.log_tail())
        self.assertIn("AUTH refused", retries[0])
        self.assertNotIn("PING", retries[0])


if __name__ == "__main__":
    harness.main()
