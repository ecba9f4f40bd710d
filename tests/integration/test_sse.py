"""The event-stream fallback (contract, "Streaming fallback"; issue 15):
POST /sse with the subscribe message as its body, answered with the
WebSocket's frames as `data:` events, a close event before the server ends
the stream, 401/403/503/413 refusals, and the same bounds as a WebSocket
for a stream that does not read."""

import asyncio
import json
import signal
import socket
import time

import harness
from harness import LivegateTestCase, mint_pyjwt


class Stream:
    """POST /sse over a plain socket; events parsed as a browser would."""

    def __init__(self, port, token=None, body=None, origin=None, rcvbuf=None, timeout=10):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        if body is None:
            body = json.dumps({"type": "subscribe", "token": token})
        if isinstance(body, str):
            body = body.encode()
        head = [f"POST /sse HTTP/1.1", f"Host: 127.0.0.1:{port}",
                "Content-Type: text/plain;charset=UTF-8", f"Content-Length: {len(body)}"]
        if origin:
            head.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        top, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = top.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.comments = 0

    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("stream closed")
        self.buf += chunk

    def body(self):
        """The whole body of a refusal (it has a Content-Length)."""
        n = int(self.headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._more()
        return self.buf[:n]

    def event(self, timeout=10):
        """The next event's data, parsed as JSON; comments are counted."""
        self.sock.settimeout(timeout)
        while True:
            while b"\n\n" not in self.buf:
                self._more()
            raw, self.buf = self.buf.split(b"\n\n", 1)
            data = [ln[6:] for ln in raw.split(b"\n") if ln.startswith(b"data: ")]
            if not data:
                self.comments += 1
                continue
            return json.loads(b"\n".join(data))

    def closed(self, timeout=10):
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        self.sock.close()


class SseTest(LivegateTestCase):

    def open(self, lg, **kw):
        s = Stream(lg.public_port, **kw)
        self.addCleanup(s.close)
        return s

    async def test_subscribe_publish_and_resync(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        s = self.open(lg, token=mint_pyjwt(["todos", "users"]), origin="https://app.example")
        self.assertEqual(s.status, 200)
        self.assertEqual(s.headers["content-type"], "text/event-stream")
        self.assertEqual(s.headers["cache-control"], "no-store")
        self.assertEqual(s.headers["x-accel-buffering"], "no")
        self.assertEqual(s.headers["access-control-allow-origin"], "https://app.example")
        self.assertEqual(s.event(), {"type": "subscribed", "channels": ["todos", "users"]})
        redis.publish("todos", '{"id":1,\n "multi":"line"}')   # JSON with a line break
        self.assertEqual(s.event(), {"type": "invalidate", "channel": "todos",
                                     "data": {"id": 1, "multi": "line"}})
        redis.publish("users", "plain text")
        self.assertEqual(s.event(), {"type": "invalidate", "channel": "users",
                                     "data": "plain text"})
        redis.kill()
        self.assertEqual(s.event(), {"type": "status", "redis": "down"})
        redis.start()
        self.assertEqual(s.event(20), {"type": "status", "redis": "up"})
        got = sorted((s.event(20), s.event(20)), key=lambda f: f["channel"])
        for f, ch in zip(got, ("todos", "users")):
            self.assertEqual(f, {"type": "invalidate", "channel": ch, "data": None,
                                 "reason": "resync"})
        m = lg.metrics()
        self.assertEqual(m["livegate_connections"], 1.0)

    async def test_refusals(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={
            "LIVEGATE_ALLOWED_ORIGINS": "https://app.example", "LIVEGATE_MAX_CONNECTIONS": "1"})
        s = self.open(lg, token=harness.tamper_signature(mint_pyjwt(["todos"])))
        self.assertEqual(s.status, 401)
        self.assertEqual(json.loads(s.body())["error"], "bad_signature")
        s = self.open(lg, token=mint_pyjwt(["todos"], ttl=-10))
        self.assertEqual(s.status, 401)
        self.assertEqual(json.loads(s.body())["error"], "expired")
        s = self.open(lg, token=mint_pyjwt(["todos"]), origin="https://evil.example")
        self.assertEqual(s.status, 403)
        s = self.open(lg, body='{"type":"ping"}')
        self.assertEqual(s.status, 400)
        s = self.open(lg, body='{"type":"subscribe","token":"' + "x" * 17000 + '"}')
        self.assertEqual(s.status, 413)
        first = self.open(lg, token=mint_pyjwt(["todos"]))
        self.assertEqual(first.status, 200)
        full = self.open(lg, token=mint_pyjwt(["todos"]))
        self.assertEqual(full.status, 503)
        self.assertTrue(full.headers.get("retry-after"))
        self.assertEqual(json.loads(full.body())["error"], "over_capacity")

    async def test_close_event_at_exp_and_on_drain(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_DRAIN_MS": "500"})
        short = self.open(lg, token=mint_pyjwt(["todos"], ttl=2))
        self.assertEqual(short.event()["type"], "subscribed")
        self.assertEqual(short.event(6), {"type": "close", "code": 4002, "reason": "token expired"})
        self.assertTrue(short.closed())
        s = self.open(lg, token=mint_pyjwt(["todos"]))
        self.assertEqual(s.event()["type"], "subscribed")
        lg.proc.send_signal(signal.SIGTERM)
        self.assertEqual(s.event(), {"type": "close", "code": 1012, "reason": "server restarting"})
        self.assertTrue(s.closed())
        self.assertEqual(await asyncio.to_thread(lg.proc.wait, 10), 0)

    async def test_a_stream_that_does_not_read_is_bounded_like_a_websocket(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        token = mint_pyjwt(["feed"])
        slow = self.open(lg, token=token, rcvbuf=2048)
        self.assertEqual(slow.event()["type"], "subscribed")
        fast = self.open(lg, token=token, rcvbuf=1 << 20)
        self.assertEqual(fast.event()["type"], "subscribed")
        # 420 events of ~250 bytes: more than a client's queue (257 frames)
        # plus what a 2 KiB receive window and the server's 16 KiB send
        # buffer hold, far less than that queue plus the first receive
        # window a 1 MiB buffer opens (64 KiB, ~260 events). So the slow
        # stream is parked and the fast one is not, even though neither
        # reads during the burst: the outcome does not hang on how soon
        # this test is scheduled on a loaded machine (it did, with a burst
        # the fast client could only take by reading while it came).
        pad = "x" * 200
        n = 420
        redis.publish_many("feed", [json.dumps({"seq": i, "pad": pad}) for i in range(n)])
        deadline = time.monotonic() + 20
        while lg.metrics().get("livegate_clients_parked_total", 0.0) < 1.0:
            self.assertLess(time.monotonic(), deadline, "the slow stream was never parked")
            await asyncio.sleep(0.05)
        for i in range(n):
            self.assertEqual(fast.event()["data"]["seq"], i)
        self.assertEqual(lg.metrics()["livegate_clients_parked_total"], 1.0)
        # Once it reads, it learns what it missed, with the newest data.
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        while True:
            f = slow.event()
            if f.get("reason") == "coalesced":
                break
        self.assertEqual(f["data"]["seq"], n - 1)

    async def test_keepalive_comment(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        s = self.open(lg, token=mint_pyjwt(["todos"]), timeout=40)
        self.assertEqual(s.event()["type"], "subscribed")
        start = time.monotonic()
        redis_pub = asyncio.get_running_loop().run_in_executor(None, lambda: (
            time.sleep(28), redis.publish("todos", "late")))
        self.assertEqual(s.event(40)["data"], "late")
        await redis_pub
        self.assertGreaterEqual(s.comments, 1, "no ': ping' within 28 s")
        self.assertGreater(time.monotonic() - start, 25)


if __name__ == "__main__":
    harness.main()
