"""Connection lifecycle: 1013 past LIVEGATE_MAX_CONNECTIONS, 1012 on SIGTERM
(with a clean exit 0 and /readyz 503 while draining), and the Origin check at
the handshake (LIVEGATE_ALLOWED_ORIGINS). Contract: "Close codes",
"Public endpoint", "Private API"."""

import asyncio
import json
import signal
import time

import harness
from harness import InvalidStatusCode, invalidate, mint_pyjwt, recv_json


class CapacityTest(harness.LivegateTestCase):

    async def test_over_max_connections_closes_1013(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_MAX_CONNECTIONS": "2"})
        first, _ = await self.open_sub(lg, mint_pyjwt(["todos"]))
        second, _ = await self.open_sub(lg, mint_pyjwt(["todos"]))
        try:
            third = await self.open_ws(lg)
        except InvalidStatusCode as e:
            self.fail(f"third connection refused with HTTP {e.status_code}; "
                      "the contract wants a WebSocket close 1013")
        await self.assertClosedWith(third, 1013, what="third connection")
        # The two admitted clients are untouched.
        redis.publish("todos", "x")
        self.assertFrame(await recv_json(first), invalidate("todos", "x"))
        self.assertFrame(await recv_json(second), invalidate("todos", "x"))
        # A freed slot can be used again.
        await first.close()

        async def fourth_subscribes():
            deadline = time.monotonic() + 3
            while True:
                ws = await harness.connect(lg.ws_url)
                await harness.send_json(ws, {"type": "subscribe", "token": mint_pyjwt(["todos"])})
                try:
                    frame = await recv_json(ws)
                    self.addAsyncCleanup(ws.close)
                    return frame
                except harness.ConnectionClosed as e:
                    if time.monotonic() > deadline or not e.rcvd or e.rcvd.code != 1013:
                        raise
                await asyncio.sleep(0.1)
        self.assertEqual((await fourth_subscribes())["type"], "subscribed")


class ShutdownTest(harness.LivegateTestCase):

    async def test_sigterm_closes_1012_and_exits_0(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_DRAIN_MS": "500"})
        clients = [(await self.open_sub(lg, mint_pyjwt(["todos"])))[0] for _ in range(3)]
        idle = await self.open_ws(lg)  # not yet subscribed: also closed
        lg.proc.send_signal(signal.SIGTERM)
        for ws in clients + [idle]:
            await self.assertClosedWith(ws, 1012, timeout=5, what="after SIGTERM")
        status = await asyncio.to_thread(lg.proc.wait, 10)
        self.assertEqual(status, 0, "livegate exit status after SIGTERM")
        # Its Redis subscriptions are gone with it.
        harness.wait_until(lambda: redis.numsub("todos") == 0, 2, what="NUMSUB todos == 0")

    async def test_drain_ms_zero_still_closes_everyone_with_1012(self):
        """Issue 10, finding 6: a zero drain window means 'close everyone
        now', not 'reset every socket'."""
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_DRAIN_MS": "0"})
        token = mint_pyjwt(["todos"])

        def open_many(n):
            out = []
            for _ in range(n):
                c = harness.RawWsClient(lg.public_port, timeout=10)
                c.send_text(json.dumps({"type": "subscribe", "token": token}))
                out.append(c)
            for c in out:
                c.recv_frame(10)   # subscribed
            return out
        clients = await asyncio.to_thread(open_many, 500)
        self.addCleanup(lambda: [c.close() for c in clients])
        lg.proc.send_signal(signal.SIGTERM)

        def close_codes():
            codes = []
            for c in clients:
                try:
                    opcode, payload = c.recv_frame(10)
                except (EOFError, TimeoutError) as e:
                    codes.append(type(e).__name__)
                    continue
                codes.append(int.from_bytes(payload[:2], "big") if opcode == 8 else opcode)
            return codes
        codes = await asyncio.to_thread(close_codes)
        self.assertEqual(codes, [1012] * len(clients))
        self.assertEqual(await asyncio.to_thread(lg.proc.wait, 10), 0)

    async def test_readyz_is_503_while_draining(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_DRAIN_MS": "3000"})
        clients = [(await self.open_sub(lg, mint_pyjwt(["todos"])))[0] for _ in range(4)]
        lg.proc.send_signal(signal.SIGTERM)
        status = await asyncio.to_thread(
            harness.wait_until, lambda: lg.http_status("/readyz") == 503, 1.5,
            0.05, "/readyz 503 while draining")
        self.assertTrue(status)
        for ws in clients:
            await self.assertClosedWith(ws, 1012, timeout=6, what="after SIGTERM")
        self.assertEqual(await asyncio.to_thread(lg.proc.wait, 10), 0)


class WorkersShutdownTest(harness.LivegateTestCase):

    async def test_sigterm_with_two_workers(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_WORKERS": "2",
                                             "LIVEGATE_DRAIN_MS": "300"})
        clients = [(await self.open_sub(lg, mint_pyjwt(["todos"])))[0] for _ in range(6)]
        lg.proc.send_signal(signal.SIGTERM)
        for ws in clients:
            await self.assertClosedWith(ws, 1012, timeout=5, what="after SIGTERM")
        self.assertEqual(await asyncio.to_thread(lg.proc.wait, 10), 0)
        # No worker outlives the main process: the port is free again.
        harness.wait_until(lambda: lg.http_status("/healthz") is None, 2,
                           what="private port closed")
        with self.assertRaises(OSError):
            await harness.connect(lg.ws_url)
        harness.wait_until(lambda: redis.numsub("todos") == 0, 2, what="NUMSUB todos == 0")


class ScriptTest(harness.LivegateTestCase):

    def test_livegate_js_is_served_cacheable(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        status, headers, body = lg.http("GET", "/livegate.js", port=lg.public_port)
        self.assertEqual(status, 200)
        self.assertIn("javascript", headers.get("content-type", ""))
        self.assertGreater(len(body), 100)
        etag = headers.get("etag")
        self.assertTrue(etag, f"no ETag: {headers}")
        status, _, body = lg.http("GET", "/livegate.js", port=lg.public_port,
                                  headers={"If-None-Match": etag})
        self.assertEqual(status, 304)
        self.assertEqual(body, b"")


class OriginTest(harness.LivegateTestCase):

    def setUp(self):
        self.redis = self.start_redis()

    ALLOWED = "http://good.example,https://also.example"
    REFUSED = ["http://evil.example", "http://good.example.evil.example",
               "https://good.example", "http://also.example", "null"]

    async def test_allowed_origins_list(self):
        lg = self.start_livegate(self.redis, env={"LIVEGATE_ALLOWED_ORIGINS": self.ALLOWED})
        for origin in self.REFUSED:
            with self.subTest(origin=origin):
                line, status, _ = harness.raw_handshake(lg.public_port, origin=origin)
                self.assertEqual(status, 403, line)
        for origin in ["http://good.example", "https://also.example", None]:
            with self.subTest(origin=origin):
                line, status, headers = harness.raw_handshake(lg.public_port, origin=origin)
                self.assertEqual(status, 101, line)
                ws, frame = await self.open_sub(lg, mint_pyjwt(["todos"]), origin=origin)
                self.redis.publish("todos", "ok")
                self.assertFrame(await recv_json(ws), invalidate("todos", "ok"))
                await ws.close()

    async def test_403_is_readable_by_websocket_clients(self):
        # A standard client must see the refusal as an HTTP 403; websockets
        # refuses a status line that is not HTTP/1.1.
        lg = self.start_livegate(self.redis, env={"LIVEGATE_ALLOWED_ORIGINS": self.ALLOWED})
        line, _, _ = harness.raw_handshake(lg.public_port, origin="http://evil.example")
        with self.assertRaises(InvalidStatusCode, msg=f"server answered {line!r}") as cm:
            ws = await harness.connect(lg.ws_url, origin="http://evil.example")
            await ws.close()
        self.assertEqual(cm.exception.status_code, 403)

    async def test_star_allows_any_origin(self):
        lg = self.start_livegate(self.redis)  # default: *
        ws, frame = await self.open_sub(lg, mint_pyjwt(["todos"]),
                                        origin="http://anything.example")
        self.assertEqual(frame["channels"], ["todos"])


if __name__ == "__main__":
    harness.main()
