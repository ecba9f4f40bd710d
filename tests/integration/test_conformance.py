"""Conformance of the public port, byte by byte from raw sockets (issue 10,
findings 5, 8 and 10): what RFC 6455 requires of a WebSocket server, what
RFC 9110/9112 require of an HTTP server that sits behind proxies, and the
contract's limits (16 KiB messages, 20 frames in 10 s, text only, 16 KiB of
request head)."""

import json
import os
import socket
import struct
import time
import unittest

import harness
from harness import LivegateTestCase, mint_pyjwt


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """One client frame built exactly as told (the harness's helper builds
    only well-formed ones)."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def close_payload(code, reason=b""):
    return struct.pack(">H", code) + reason


class Raw:
    """A plain socket to the public port, for requests as written."""

    def __init__(self, port, timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def response(self, head=False):
        """(status, headers dict, body) of the next HTTP response (no body
        when it answers a HEAD)."""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        top, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = top.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = 0 if head else int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._more()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed; had {self.buf[:200]!r}")
        self.buf += chunk

    def closed(self, timeout=5):
        """True when the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def upgrade_request(port, extra="", key="dGhlIHNhbXBsZSBub25jZQ==", version="13",
                    path="/ws"):
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
             "Connection: Upgrade"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


class WebSocketFramesTest(LivegateTestCase):
    """Finding 8: every frame a browser may not send is answered by the
    close code RFC 6455 names, as a close frame, never a silent drop."""

    def setUp(self):
        self.redis = self.start_redis()
        self.lg = self.start_livegate(self.redis)

    def client(self):
        c = harness.RawWsClient(self.lg.public_port, timeout=10)
        self.addCleanup(c.close)
        return c

    def subscribed(self):
        c = self.client()
        c.send_text(json.dumps({"type": "subscribe", "token": mint_pyjwt(["todos"])}))
        op, body = c.recv_frame(10)
        self.assertEqual((op, json.loads(body)["type"]), (0x1, "subscribed"))
        return c

    def assertCloses(self, c, code, what):
        """The next frames end with a close frame carrying code; returns its
        reason."""
        for _ in range(10):
            op, body = c.recv_frame(10)
            if op == 0x8:
                got = struct.unpack(">H", body[:2])[0] if len(body) >= 2 else None
                self.assertEqual(got, code, f"{what}: close {body!r}")
                return body[2:].decode()
        self.fail(f"{what}: no close frame")

    def test_unmasked_frame_is_a_protocol_error(self):
        c = self.client()
        c.sock.sendall(frame(0x1, b'{"type":"ping"}', mask=False))
        self.assertIn("unmasked", self.assertCloses(c, 1002, "unmasked"))

    def test_reserved_bits_and_unknown_opcodes(self):
        c = self.client()
        c.sock.sendall(frame(0x1, b"{}", rsv=4))
        self.assertCloses(c, 1002, "rsv")
        c = self.client()
        c.sock.sendall(frame(0x3, b"x"))
        self.assertCloses(c, 1002, "opcode 3")

    def test_ping_flood_is_rate_limited(self):
        c = self.subscribed()   # the subscribe is frame 1 of 20
        c.sock.sendall(b"".join(frame(0x9, b"") for _ in range(40)))
        pongs = 0
        while True:
            op, body = c.recv_frame(10)
            if op == 0x8:
                self.assertEqual(struct.unpack(">H", body[:2])[0], 4008)
                self.assertEqual(body[2:], b"too many frames")
                break
            self.assertEqual(op, 0xA)
            pongs += 1
        self.assertLessEqual(pongs, 19)

    def test_close_codes_a_peer_may_not_send_are_answered_1002(self):
        for code in (5000, 65535, 999, 1004, 1005, 1006, 1015, 2000):
            with self.subTest(code=code):
                c = self.client()
                c.sock.sendall(frame(0x8, close_payload(code)))
                self.assertCloses(c, 1002, f"close {code}")

    def test_valid_close_codes_are_echoed(self):
        for code in (1000, 1001, 3000, 4999):
            with self.subTest(code=code):
                c = self.client()
                c.sock.sendall(frame(0x8, close_payload(code, b"bye")))
                self.assertCloses(c, code, f"close {code}")
                with self.assertRaises(EOFError):   # and the server closes the socket
                    c.recv_frame(5)
        c = self.client()
        c.sock.sendall(frame(0x8, b""))             # no code: answered 1000
        self.assertCloses(c, 1000, "empty close")

    def test_malformed_close_payloads(self):
        c = self.client()
        c.sock.sendall(frame(0x8, b"\x03"))          # one byte: no code fits
        self.assertCloses(c, 1002, "1-byte close")
        c = self.client()
        c.sock.sendall(frame(0x8, close_payload(1000, b"\xff\xfe")))
        self.assertCloses(c, 1007, "reason not UTF-8")

    def test_control_frames_must_be_short_and_whole(self):
        c = self.client()
        c.sock.sendall(frame(0x9, b"p" * 126))
        self.assertIn("125", self.assertCloses(c, 1002, "ping of 126 bytes"))
        c = self.client()
        c.sock.sendall(frame(0x9, b"p", fin=False))
        self.assertCloses(c, 1002, "fragmented ping")

    def test_text_must_be_utf8(self):
        c = self.client()
        c.sock.sendall(frame(0x1, b'{"type":"ping","x":"\xc3\x28"}'))
        self.assertCloses(c, 1007, "invalid UTF-8")

    def test_fragmented_messages(self):
        # A subscribe in three fragments, a ping between two of them.
        msg = json.dumps({"type": "subscribe", "token": mint_pyjwt(["todos"])}).encode()
        a, b = len(msg) // 3, 2 * len(msg) // 3
        c = self.client()
        c.sock.sendall(frame(0x1, msg[:a], fin=False) + frame(0x9, b"mid") +
                       frame(0x0, msg[a:b], fin=False) + frame(0x0, msg[b:]))
        self.assertEqual(c.recv_frame(10), (0xA, b"mid"))
        op, body = c.recv_frame(10)
        self.assertEqual(json.loads(body)["type"], "subscribed")
        c = self.client()
        c.sock.sendall(frame(0x0, b"{}"))
        self.assertCloses(c, 1002, "continuation without a message")
        c = self.client()
        c.sock.sendall(frame(0x1, b"{", fin=False) + frame(0x1, b"}"))
        self.assertCloses(c, 1002, "a message inside a message")

    def test_contract_limits(self):
        c = self.client()
        c.sock.sendall(frame(0x2, b"\x00\x01"))
        self.assertEqual(self.assertCloses(c, 4008, "binary"), "binary frame")
        c = self.client()
        # Refused from its header alone: the 16 KiB never has to arrive.
        c.sock.sendall(frame(0x1, b"x" * 10, length=16385)[:14])
        self.assertEqual(self.assertCloses(c, 4008, "17 KiB"), "frame too large")
        c = self.client()
        c.sock.sendall(frame(0x1, b"x" * 10000, fin=False) + frame(0x0, b"y" * 7000))
        self.assertEqual(self.assertCloses(c, 4008, "fragments over 16 KiB"), "frame too large")

    def test_refused_token_says_why(self):
        cases = [(harness.tamper_signature(mint_pyjwt(["todos"])), 4001, "bad_signature"),
                 (mint_pyjwt(["todos"], exp="soon"), 4001, "bad_claims: exp"),
                 (mint_pyjwt(["has space"]), 4001, "bad_claims: channels"),
                 (mint_pyjwt(["todos"], exp=int(time.time() * 1000)), 4001, "exp_too_far"),
                 (mint_pyjwt(["todos"], ttl=-5), 4002, "expired")]
        for token, code, reason in cases:
            with self.subTest(reason=reason):
                c = self.client()
                c.send_text(json.dumps({"type": "subscribe", "token": token}))
                self.assertEqual(self.assertCloses(c, code, reason), reason)


class HandshakeTest(LivegateTestCase):
    """Finding 8, the opening handshake (RFC 6455 4.2)."""

    def setUp(self):
        self.redis = self.start_redis()
        self.lg = self.start_livegate(self.redis)
        self.port = self.lg.public_port

    def answer(self, data):
        r = Raw(self.port)
        self.addCleanup(r.close)
        r.send(data)
        return r.response()

    def test_version_must_be_13(self):
        for version in (None, "8", "14"):
            with self.subTest(version=version):
                status, headers, _ = self.answer(upgrade_request(self.port, version=version))
                self.assertEqual(status, 426)
                self.assertEqual(headers.get("sec-websocket-version"), "13")

    def test_key_must_be_16_bytes_of_base64(self):
        for key in (None, "", "short==", "dGhlIHNhbXBsZSBub25jZQ"):
            with self.subTest(key=key):
                status, _, _ = self.answer(upgrade_request(self.port, key=key))
                self.assertEqual(status, 400)

    def test_accept_is_computed(self):
        status, headers, _ = self.answer(upgrade_request(self.port))
        self.assertEqual(status, 101)
        # RFC 6455 section 1.3's own example.
        self.assertEqual(headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")

    def test_plain_get_of_ws_asks_for_an_upgrade(self):
        status, headers, _ = self.answer(
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode())
        self.assertEqual(status, 426)
        self.assertEqual(headers.get("upgrade"), "websocket")


class HttpTest(LivegateTestCase):
    """Findings 5 and 10: the public port as an HTTP/1.1 server behind a
    proxy that forwards the site's cookies."""

    def setUp(self):
        self.redis = self.start_redis()
        self.lg = self.start_livegate(self.redis)
        self.port = self.lg.public_port

    def raw(self):
        r = Raw(self.port)
        self.addCleanup(r.close)
        return r

    def get(self, path="/livegate.js", extra="", method="GET", version="HTTP/1.1"):
        r = self.raw()
        r.send(f"{method} {path} {version}\r\nHost: 127.0.0.1:{self.port}\r\n{extra}\r\n".encode())
        return r.response()

    def etag(self):
        return self.get()[1]["etag"]

    def test_big_cookies_are_fine(self):
        for size in (4100, 8000, 15000):
            with self.subTest(size=size):
                cookie = f"Cookie: session={'c' * size}\r\n"
                status, headers, body = self.get(extra=cookie)
                self.assertEqual(status, 200)
                self.assertEqual(len(body), int(headers["content-length"]))
                r = self.raw()
                r.send(upgrade_request(self.port, extra=cookie))
                self.assertEqual(r.response()[0], 101)

    def test_head_over_16_kib_is_431(self):
        status, _, body = self.get(extra=f"Cookie: session={'c' * 17000}\r\n")
        self.assertEqual(status, 431)
        self.assertIn(b"16 KiB", body)

    def test_body_on_get_is_read_and_the_script_is_whole(self):
        r = self.raw()
        req = (f"GET /livegate.js HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
               f"GET /livegate.js HTTP/1.1\r\nHost: x\r\n\r\n").encode()
        r.send(req)
        for _ in range(2):   # and the next request on the socket is in step
            status, headers, body = r.response()
            self.assertEqual(status, 200)
            self.assertGreater(len(body), 1000)
            self.assertEqual(len(body), int(headers["content-length"]))

    def test_two_content_lengths_are_400(self):
        status, _, _ = self.get(method="POST", path="/sse",
                                extra="Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}")
        self.assertEqual(status, 400)

    def test_absolute_form_is_served(self):
        status, _, body = self.get(path=f"http://127.0.0.1:{self.port}/livegate.js")
        self.assertEqual(status, 200)
        self.assertGreater(len(body), 1000)

    def test_if_none_match(self):
        etag = self.etag()
        cases = {"*": 304, etag: 304, f"W/{etag}": 304, f'"nope", {etag}': 304,
                 f"{etag}x": 200, '"nope"': 200}
        for value, want in cases.items():
            with self.subTest(value=value):
                status, headers, body = self.get(extra=f"If-None-Match: {value}\r\n")
                self.assertEqual(status, want)
                if want == 304:
                    self.assertEqual(body, b"")
                    self.assertEqual(headers["etag"], etag)

    def test_other_methods_and_paths_get_plain_answers(self):
        for method in ("TRACE", "POST", "DELETE"):
            with self.subTest(method=method):
                status, headers, body = self.get(method=method)
                self.assertEqual(status, 405)
                self.assertEqual(headers.get("allow"), "GET, HEAD")
                self.assertTrue(headers["content-type"].startswith("text/plain"))
                self.assertNotIn(b"<", body)
        status, headers, body = self.get(path="/nope")
        self.assertEqual(status, 404)
        self.assertNotIn(b"<", body)
        r = self.raw()
        r.send(b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(r.response()[0], 400)
        r = self.raw()
        r.send(b"GET /livegate.js HTTP/2.0\r\nHost: x\r\n\r\n")
        self.assertIn(r.response()[0], (400, 505))

    def test_http11_needs_host_http10_does_not(self):
        r = self.raw()
        r.send(b"GET /livegate.js HTTP/1.1\r\n\r\n")
        self.assertEqual(r.response()[0], 400)
        status, headers, _ = self.get(version="HTTP/1.0")
        self.assertEqual(status, 200)

    def test_keep_alive_and_pipelining(self):
        r = self.raw()
        one = f"GET /livegate.js HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        r.send(one)
        self.assertEqual(r.response()[0], 200)
        r.send(one + b"HEAD /livegate.js HTTP/1.1\r\nHost: x\r\n\r\n" + one)
        self.assertEqual(r.response()[0], 200)
        status, headers, _ = r.response(head=True)
        self.assertEqual(status, 200)
        self.assertGreater(int(headers["content-length"]), 1000)
        self.assertEqual(r.response()[0], 200)

    def test_error_answer_is_read_before_the_close(self):
        # Bytes the server never reads (a body after a refused head) must not
        # turn its answer into a reset: it closes lingering.
        r = self.raw()
        r.send(f"GET /livegate.js HTTP/1.1\r\nHost: x\r\nCookie: {'c' * 17000}\r\n\r\n".encode() +
               b"z" * 50000)
        self.assertEqual(r.response()[0], 431)
        self.assertTrue(r.closed())


class PrivateApiFramingTest(LivegateTestCase):
    """Finding 10 on the private port: a body whose length is said two ways
    is refused, whatever libmicrohttpd would make of it."""

    def test_conflicting_lengths_are_400(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        body = b'{"channel":"a"}'
        for extra in (b"Content-Length: 15\r\nContent-Length: 25\r\n",
                      b"Content-Length: 15\r\nTransfer-Encoding: chunked\r\n"):
            with self.subTest(extra=extra):
                r = Raw(lg.private_port)
                self.addCleanup(r.close)
                r.send(b"POST /v1/publish HTTP/1.1\r\nHost: x\r\n"
                       b"Authorization: Bearer " + harness.API_KEY.encode() + b"\r\n" +
                       extra + b"\r\n" + body + b" " * 10)
                status, headers, reply = r.response()
                self.assertEqual(status, 400)
                self.assertEqual(json.loads(reply)["error"], "bad_request")
                self.assertEqual(headers.get("connection"), "close")


if __name__ == "__main__":
    harness.main()
