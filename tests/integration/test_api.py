"""The private API: bearer auth, POST /v1/tokens, POST /v1/publish, /healthz,
/readyz and /metrics. Contract: "Private API"."""

import base64
import http.client
import json
import threading
import time

import jwt

import harness
from harness import API_KEY, SECRET, invalidate, mint_pyjwt, recv_json, tamper_signature

METRIC_NAMES = [
    "livegate_connections",
    "livegate_channels",
    "livegate_redis_connected",
    "livegate_redis_messages_total",
    "livegate_frames_delivered_total",
    "livegate_tokens_issued_total",
    "livegate_auth_failures_total",
    "livegate_redis_reconnects_total",
    "livegate_closes_total",
    "livegate_delivery_seconds",
]


def decode(token):
    """The claims of an API token, verified by PyJWT. leeway=1: the API
    writes iat with milliseconds, and PyJWT 2.6 (Debian 12) compares it with
    a whole-second now, so within the second it was minted it would call
    the token "not yet valid (iat)" (pyjwt#814, fixed in 2.7)."""
    return jwt.decode(token, SECRET, algorithms=["HS256"], leeway=1)


class ApiTestBase(harness.LivegateTestCase):

    def setUp(self):
        self.redis = self.start_redis()
        self.lg = self.start_livegate(self.redis, env={"LIVEGATE_TOKEN_TTL": "120"})

    def assertError(self, status, body, expected_status, what):
        if isinstance(body, bytes):
            try:
                body = json.loads(body)
            except ValueError:
                self.fail(f"{what}: HTTP {status}, error body is not JSON: {body!r}")
        self.assertEqual(status, expected_status, f"{what}: body {body!r}")
        self.assertIsInstance(body, dict, f"{what}: error body must be JSON")
        self.assertIsInstance(body.get("error"), str, f"{what}: {body!r}")
        self.assertIsInstance(body.get("message"), str, f"{what}: {body!r}")
        self.assertTrue(body["error"] and body["message"], f"{what}: {body!r}")


class AuthTest(ApiTestBase):

    def test_v1_needs_the_bearer_key(self):
        for path, body in [("/v1/tokens", {"channels": ["todos"]}),
                           ("/v1/publish", {"channel": "todos"})]:
            for what, key in [("no key", None), ("wrong key", "wrong-key"),
                              ("empty key", ""), ("key prefix", API_KEY[:-1]),
                              ("key plus suffix", API_KEY + "x")]:
                with self.subTest(path=path, key=what):
                    status, reply = self.lg.api("POST", path, body, key=key)
                    self.assertError(status, reply, 401, f"{path} {what}")
        # Wrong scheme: Basic instead of Bearer.
        status, _, raw = self.lg.http("POST", "/v1/tokens", {"channels": ["todos"]},
                                      headers={"Authorization": f"Basic {API_KEY}"})
        self.assertEqual(status, 401, raw)

    def test_no_api_key_configured_answers_401(self):
        lg = self.start_livegate(self.redis, env={"LIVEGATE_API_KEY": None})
        for key in (None, "", API_KEY):
            status, reply = lg.api("POST", "/v1/tokens", {"channels": ["todos"]}, key=key)
            self.assertError(status, reply, 401, f"unconfigured API key, sent {key!r}")
        # The unauthenticated endpoints keep working.
        self.assertEqual(lg.http_status("/healthz"), 200)
        self.assertEqual(lg.http_status("/metrics"), 200)


class TokensTest(ApiTestBase):

    def test_token_is_issued(self):
        before = self.lg.metrics().get("livegate_tokens_issued_total", 0.0)
        now = int(time.time())
        status, reply = self.lg.api("POST", "/v1/tokens",
                                    {"channels": ["todos", "user:42"], "ttl": 600, "sub": "u42"})
        self.assertEqual(status, 201, reply)
        self.assertEqual(set(reply), {"token", "expires_at"})
        self.assertIsInstance(reply["expires_at"], int)
        self.assertTrue(now + 600 <= reply["expires_at"] <= int(time.time()) + 601, reply)
        # PyJWT, an independent implementation, accepts it with our secret.
        self.assertEqual(jwt.get_unverified_header(reply["token"])["alg"], "HS256")
        claims = decode(reply["token"])
        self.assertEqual(claims["channels"], ["todos", "user:42"])
        self.assertEqual(claims["exp"], reply["expires_at"])
        self.assertEqual(claims["sub"], "u42")
        after = self.lg.metrics().get("livegate_tokens_issued_total", 0.0)
        self.assertEqual(after - before, 1)

    def test_default_ttl_is_livegate_token_ttl(self):
        now = int(time.time())
        status, reply = self.lg.api("POST", "/v1/tokens", {"channels": ["todos"]})
        self.assertEqual(status, 201, reply)
        self.assertTrue(now + 120 <= reply["expires_at"] <= int(time.time()) + 121, reply)
        self.assertNotIn("sub", decode(reply["token"]))

    def test_ttl_bounds(self):
        for ttl in (1, 86400):
            with self.subTest(ttl=ttl):
                now = int(time.time())
                status, reply = self.lg.api("POST", "/v1/tokens", {"channels": ["a"], "ttl": ttl})
                self.assertEqual(status, 201, reply)
                self.assertTrue(now + ttl <= reply["expires_at"] <= int(time.time()) + ttl + 1)
        for ttl in (0, -5, 86401, 1.5, "600", True, [600]):
            with self.subTest(ttl=ttl):
                status, reply = self.lg.api("POST", "/v1/tokens", {"channels": ["a"], "ttl": ttl})
                self.assertError(status, reply, 400, f"ttl {ttl!r}")

    def test_bad_channels(self):
        bodies = [
            {},
            {"ttl": 60},
            {"channels": []},
            {"channels": "todos"},
            {"channels": None},
            {"channels": [""]},
            {"channels": ["has space"]},
            {"channels": ["tab\there"]},
            {"channels": ["caf\u00e9"]},
            {"channels": ["x" * 201]},
            {"channels": [42]},
            {"channels": ["ok", None]},
            {"channels": ["todos"], "sub": 42},
        ]
        for body in bodies:
            with self.subTest(body=json.dumps(body)[:80]):
                status, reply = self.lg.api("POST", "/v1/tokens", body)
                self.assertError(status, reply, 400, json.dumps(body)[:80])
        # The longest valid name is fine.
        status, reply = self.lg.api("POST", "/v1/tokens", {"channels": ["x" * 200]})
        self.assertEqual(status, 201, reply)

    def test_too_many_channels(self):
        status, reply = self.lg.api("POST", "/v1/tokens",
                                    {"channels": [f"c{i}" for i in range(1000)]})
        self.assertError(status, reply, 400, "1000 channels")

    def test_malformed_bodies(self):
        for raw in (b"{", b"not json", b"", b"[1,2]", b'"text"', b"null",
                    b'{"channels":["a"]} trailing'):
            with self.subTest(body=raw):
                status, _, body = self.lg.http("POST", "/v1/tokens", raw,
                                               headers={"Authorization": f"Bearer {API_KEY}"})
                self.assertError(status, body, 400, repr(raw))

    def test_wrong_method(self):
        status, _, _ = self.lg.http("GET", "/v1/tokens",
                                    headers={"Authorization": f"Bearer {API_KEY}"})
        self.assertIn(status, (404, 405))


class PublishTest(ApiTestBase):

    async def test_publish_reaches_ws_client(self):
        ws, _ = await self.open_sub(self.lg, self.lg.mint_api(["todos"]))
        status, reply = self.lg.api("POST", "/v1/publish",
                                    {"channel": "todos", "data": {"id": 1, "tags": ["a", "b"]}})
        self.assertEqual((status, reply), (202, {"receivers": 1}))
        self.assertFrame(await recv_json(ws), invalidate("todos", {"id": 1, "tags": ["a", "b"]}))

    async def test_publish_without_subscribers(self):
        # Redis counts livegate's workers (each watches the whole prefix),
        # not browsers: one here, whether anyone follows the channel or not.
        status, reply = self.lg.api("POST", "/v1/publish", {"channel": "nobody", "data": 1})
        self.assertEqual((status, reply), (202, {"receivers": 1}))

    def test_published_bytes_are_compact_json(self):
        sub = harness.RedisSubscriber(self.redis, "todos")
        self.addCleanup(sub.close)
        cases = [
            ({"channel": "todos"}, b"null"),
            ({"channel": "todos", "data": None}, b"null"),
            ({"channel": "todos", "data": {"entity": "todos", "ids": [1, 2, 3]}}, None),
            ({"channel": "todos", "data": "updated"}, b'"updated"'),
            ({"channel": "todos", "data": 42}, b"42"),
            ({"channel": "todos", "data": True}, b"true"),
            ({"channel": "todos", "data": [1, {"a": None}]}, b'[1,{"a":null}]'),
        ]
        for body, expected in cases:
            with self.subTest(body=body):
                # Pretty-printed on the way in, compact on the way out.
                status, _, raw = self.lg.http("POST", "/v1/publish", json.dumps(body, indent=2),
                                              headers={"Authorization": f"Bearer {API_KEY}"})
                self.assertEqual(status, 202, raw)
                self.assertEqual(json.loads(raw), {"receivers": 2})   # livegate, and sub
                channel, payload = sub.next_message()
                self.assertEqual(channel, "todos")
                if expected is not None:
                    self.assertEqual(payload, expected)
                else:
                    # Key order is the implementation's; compactness is not.
                    self.assertEqual(json.loads(payload), body["data"])
                    self.assertEqual(payload, json.dumps(json.loads(payload),
                                                         separators=(",", ":")).encode())

    async def test_data_absent_is_null_for_ws_client(self):
        ws, _ = await self.open_sub(self.lg, mint_pyjwt(["todos"]))
        status, reply = self.lg.api("POST", "/v1/publish", {"channel": "todos"})
        self.assertEqual((status, reply), (202, {"receivers": 1}))
        self.assertFrame(await recv_json(ws), invalidate("todos", None))

    def test_huge_body_breaks_nothing(self):
        body = json.dumps({"channel": "todos", "data": "x" * (4 * 1024 * 1024)})
        try:
            status, _, raw = self.lg.http("POST", "/v1/publish", body, timeout=15,
                                          headers={"Authorization": f"Bearer {API_KEY}"})
        except (ConnectionError, http.client.HTTPException):
            status = None  # the server may cut an oversized upload short
        if status is not None:
            self.assertTrue(status == 202 or 400 <= status < 500, f"HTTP {status}: {raw[:200]!r}")
            if status != 202:
                self.assertError(status, raw, status, "oversized body")
        self.assertEqual(self.lg.http_status("/healthz"), 200)
        status, reply = self.lg.api("POST", "/v1/publish", {"channel": "todos", "data": 1})
        self.assertEqual(status, 202, reply)

    def test_bad_publish_bodies(self):
        for body in [{}, {"data": 1}, {"channel": ""}, {"channel": "has space"},
                     {"channel": 5}, {"channel": ["todos"]}, {"channel": "x" * 201}]:
            with self.subTest(body=json.dumps(body)[:60]):
                status, reply = self.lg.api("POST", "/v1/publish", body)
                self.assertError(status, reply, 400, json.dumps(body)[:60])
        status, _, raw = self.lg.http("POST", "/v1/publish", b'{"channel":',
                                      headers={"Authorization": f"Bearer {API_KEY}"})
        self.assertError(status, raw, 400, "truncated JSON")


class PublishAsWrittenTest(ApiTestBase):
    """Issue 10, finding 13: data was parsed and re-serialized, so a big
    integer was refused ("too big integer"), 0.1 became 0.10000000000000001
    and -0 became 0. It is forwarded as the client wrote it, without the
    whitespace between tokens (the contract's "compact JSON")."""

    CASES = [
        # (body as sent, payload Redis must carry)
        (b'{"channel":"todos","data":{"id":12345678901234567890}}', b'{"id":12345678901234567890}'),
        (b'{"channel":"todos","data":0.1}', b"0.1"),
        (b'{"channel":"todos","data":-0}', b"-0"),
        (b'{"channel":"todos","data":1.50E+2}', b"1.50E+2"),
        (b'{"data" :\n [ 1 , "a  b" , {"x" : "\\u00e9\\n"} ] , "channel":"todos"}',
         b'[1,"a  b",{"x":"\\u00e9\\n"}]'),
        (b'{"channel":"todos","\\u0064ata":{"b":2,"a":1}}', b'{"b":2,"a":1}'),
        (b'{"channel":"todos"}', b"null"),
    ]

    def post(self, raw):
        return self.lg.http("POST", "/v1/publish", raw,
                            headers={"Authorization": f"Bearer {API_KEY}"})

    def test_payload_is_the_text_as_written(self):
        sub = harness.RedisSubscriber(self.redis, "todos")
        self.addCleanup(sub.close)
        for body, expected in self.CASES:
            with self.subTest(body=body):
                status, _, raw = self.post(body)
                self.assertEqual(status, 202, raw)
                self.assertEqual(sub.next_message(), ("todos", expected))

    async def test_clients_get_the_numbers_as_written(self):
        ws, _ = await self.open_sub(self.lg, self.lg.mint_api(["todos"]))
        status, _, raw = self.post(b'{"channel":"todos","data":{"id":12345678901234567890,'
                                   b'"p":0.1,"z":-0}}')
        self.assertEqual(status, 202, raw)
        text = await ws.recv()
        self.assertIn('"data":{"id":12345678901234567890,"p":0.1,"z":-0}', text)

    def test_invalid_data_is_refused(self):
        # jansson, which validates the body (and which the worker uses to
        # decide what it embeds as JSON), refuses numbers beyond a double's
        # range; the rest is invalid JSON.
        for body in (b'{"channel":"todos","data":1e400}', b'{"channel":"todos","data":01}',
                     b'{"channel":"todos","data":.5}', b'{"channel":"todos","data":NaN}',
                     b'{"channel":"todos","data":1,"data":2}'):
            with self.subTest(body=body):
                status, _, raw = self.post(body)
                self.assertError(status, raw, 400, repr(body))

    def test_the_size_limit_applies_to_the_compact_text(self):
        # 65,536 bytes of payload are the limit (LG_MAX_PAYLOAD, shared with
        # the workers); whitespace around tokens does not count.
        data = '"' + "x" * 65534 + '"'
        status, _, raw = self.post(('{"channel":"todos","data":   ' + data + '   }').encode())
        self.assertEqual(status, 202, raw)
        status, _, raw = self.post(('{"channel":"todos","data":"' + "x" * 65535 + '"}').encode())
        self.assertError(status, raw, 413, "one byte over")


def token_claims_text(token):
    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


class TokenLimitsTest(ApiTestBase):
    """Issue 10, finding 13: 64 channels of 200 bytes answered
    token_too_large from a verifier limit (12,288 bytes) below what the
    WebSocket carries. The limit that binds is one 16 KiB WebSocket message:
    a token is at most 16,320 bytes, leaving room for the subscribe envelope
    (this harness writes it with spaces, as json.dumps does)."""

    MAX_TOKEN = 16384 - 64

    def names(self, n, length=200):
        return [f"{i:03d}-" + "c" * (length - 4) for i in range(n)]

    def test_64_names_of_200_bytes_get_a_clear_400(self):
        status, reply = self.lg.api("POST", "/v1/tokens", {"channels": self.names(64)})
        self.assertError(status, reply, 400, "64 x 200")
        self.assertEqual(reply["error"], "token_too_large")
        self.assertIn("16 KiB WebSocket message", reply["message"])
        self.assertRegex(reply["message"], r"would be \d+ bytes, over the 16320")

    async def test_the_largest_token_the_api_mints_is_accepted(self):
        # As many 200-byte names as fit, then one more as long as fits.
        n = max(k for k in range(1, 65)
                if self.lg.api("POST", "/v1/tokens", {"channels": self.names(k)})[0] == 201)
        self.assertGreaterEqual(n, 56, "the 16 KiB message, not 12 KiB, must bind")
        token = None
        for extra in range(200, 0, -1):
            status, reply = self.lg.api("POST", "/v1/tokens",
                                        {"channels": self.names(n) + ["x" * extra]})
            if status == 201:
                token = reply["token"]
                break
        self.assertIsNotNone(token)
        self.assertGreater(len(token), self.MAX_TOKEN - 8, "not near the limit")
        self.assertLessEqual(len(token), self.MAX_TOKEN)
        ws, frame = await self.open_sub(self.lg, token)
        self.assertEqual(len(frame["channels"]), n + 1)


class IatTest(ApiTestBase):
    """Contract v2: iat is the render time; the API writes milliseconds."""

    def test_iat_has_milliseconds(self):
        before = time.time()
        token = self.lg.mint_api(["todos"])
        after = time.time()
        text = token_claims_text(token)
        self.assertRegex(text, r'"iat":\d{10}\.\d{3}[,}]')
        iat = json.loads(text)["iat"]
        self.assertLessEqual(int(before * 1000) / 1000, iat)
        self.assertLessEqual(iat, after + 0.001)

    def test_a_given_iat_is_the_render_time(self):
        # A backend that read its data, then waited for the API (livegate
        # restarting), names the read: the catch-up compares with it.
        read = time.time() - 5.25
        token = self.lg.mint_api(["todos"], iat=read, ttl=60)
        claims = json.loads(token_claims_text(token))
        self.assertEqual(claims["iat"], round(read, 3))
        # exp still counts from the call: the token lives its ttl from now.
        self.assertGreaterEqual(claims["exp"], int(time.time()) + 59)

    def test_a_given_iat_out_of_bounds_or_not_a_number_is_refused(self):
        now = time.time()
        for iat in ("1764871234", None, [now], now - 86400 - 60, now + 120, -1, 1e300):
            with self.subTest(iat=iat):
                status, reply = self.lg.api("POST", "/v1/tokens", {"channels": ["todos"], "iat": iat})
                self.assertEqual(status, 400)
                self.assertEqual(reply["error"], "invalid_iat")
                self.assertIn("render time", reply["message"])
        for iat in (now - 86400 + 60, now + 30, int(now)):
            with self.subTest(iat=iat):
                status, _ = self.lg.api("POST", "/v1/tokens", {"channels": ["todos"], "iat": iat})
                self.assertEqual(status, 201)


class ConcurrentCountersTest(ApiTestBase):
    """Issue 12: the API counters were written from libmicrohttpd's threads
    with a load then a store (80,000 tokens read 79,996)."""

    def run_concurrently(self, path, body, threads=8, per_thread=400):
        """POSTs body to path threads x per_thread times from threads
        keep-alive connections; returns the statuses that were not 2xx."""
        failures = []

        def run():
            conn = http.client.HTTPConnection("127.0.0.1", self.lg.private_port, timeout=10)
            hdrs = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
            for _ in range(per_thread):
                conn.request("POST", path, body=json.dumps(body), headers=hdrs)
                resp = conn.getresponse()
                resp.read()
                if resp.status // 100 != 2:
                    failures.append(resp.status)
            conn.close()

        workers = [threading.Thread(target=run) for _ in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        return failures

    def test_tokens_issued_concurrently_are_all_counted(self):
        before = self.lg.metrics().get("livegate_tokens_issued_total", 0)
        self.assertEqual(self.run_concurrently("/v1/tokens", {"channels": ["todos"]}), [])
        after = self.lg.metrics().get("livegate_tokens_issued_total", 0)
        self.assertEqual(after - before, 8 * 400)

    def test_publishes_made_concurrently_are_all_taken(self):
        """Each publish suspends its connection until the publisher thread
        resumes it, often before the handler has returned."""
        sub = harness.RedisSubscriber(self.redis, "todos")
        self.addCleanup(sub.close)
        before = self.lg.metrics().get("livegate_api_publishes_total", 0)
        self.assertEqual(self.run_concurrently("/v1/publish", {"channel": "todos", "data": 7}), [])
        after = self.lg.metrics().get("livegate_api_publishes_total", 0)
        self.assertEqual(after - before, 8 * 400)
        for _ in range(8 * 400):
            self.assertEqual(sub.next_message(), ("todos", b"7"))


class HealthAndMetricsTest(ApiTestBase):

    def test_health_and_ready(self):
        status, headers, _ = self.lg.http("GET", "/healthz")
        self.assertEqual(status, 200)
        status, _, _ = self.lg.http("GET", "/readyz")
        self.assertEqual(status, 200)

    def test_metrics_names_and_format(self):
        status, headers, raw = self.lg.http("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"), headers)
        text = raw.decode()
        series = harness.parse_metrics(text)
        names = {s.split("{")[0] for s in series}
        for name in METRIC_NAMES:
            with self.subTest(metric=name):
                if name == "livegate_delivery_seconds":
                    for suffix in ("_bucket", "_sum", "_count"):
                        self.assertIn(name + suffix, names)
                    self.assertIn(f"# TYPE {name} histogram", text)
                    self.assertIn(f'{name}_bucket{{le="+Inf"}}', series)
                else:
                    self.assertIn(f"# TYPE {name} ", text)
        self.assertEqual(series.get("livegate_redis_connected"), 1.0)
        self.assertEqual(series.get("livegate_connections"), 0.0)

    async def test_counters_move(self):
        m0 = self.lg.metrics()
        ws, _ = await self.open_sub(self.lg, mint_pyjwt(["todos"]))
        ws2, _ = await self.open_sub(self.lg, mint_pyjwt(["todos"]))
        self.redis.publish("todos", "one")
        self.assertFrame(await recv_json(ws), invalidate("todos", "one"))
        self.assertFrame(await recv_json(ws2), invalidate("todos", "one"))

        m1 = self.lg.metrics()

        def delta(name):
            return m1.get(name, 0.0) - m0.get(name, 0.0)
        self.assertEqual(m1.get("livegate_connections"), 2.0)
        self.assertEqual(m1.get("livegate_channels"), 1.0)
        self.assertEqual(delta("livegate_redis_messages_total"), 1)
        self.assertEqual(delta("livegate_frames_delivered_total"), 2)
        # Observed per message or per socket write: either way it moved.
        self.assertGreaterEqual(delta("livegate_delivery_seconds_count"), 1)

        forged = await self.open_ws(self.lg)
        await harness.send_json(forged, {"type": "subscribe",
                                         "token": tamper_signature(mint_pyjwt(["todos"]))})
        await self.assertClosedWith(forged, 4001)
        m2 = self.lg.metrics()
        reason = 'livegate_auth_failures_total{reason="bad_signature"}'
        self.assertEqual(m2.get(reason, 0.0) - m1.get(reason, 0.0), 1)
        code = 'livegate_closes_total{code="4001"}'
        self.assertEqual(m2.get(code, 0.0) - m1.get(code, 0.0), 1)


if __name__ == "__main__":
    harness.main()
