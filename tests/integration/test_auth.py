"""Token checks on the WebSocket: 4001 for every kind of invalid token,
4002 for an expired one (at subscribe and when a connected token reaches its
exp), key rotation with LIVEGATE_SECRETS, and the auth failure metrics.
Contract: "Tokens", "Close codes"."""

import asyncio
import json
import os
import shutil
import signal
import tempfile
import time

import jwt

import harness
from harness import (b64url, invalidate, mint_alg_none, mint_pyjwt, recv_json,
                     send_json, tamper_signature)

OTHER_SECRET = "a-completely-different-secret-0123456789"
KEY1 = "rotation-key-one-0123456789abcdefghijklmn"
KEY2 = "rotation-key-two-0123456789abcdefghijklmn"


def failures(metrics, reason):
    return metrics.get(f'livegate_auth_failures_total{{reason="{reason}"}}', 0.0)


def resign(header, payload, secret=harness.SECRET):
    """A token with exactly this header and payload JSON text, HS256-signed,
    for claim shapes PyJWT would refuse to produce."""
    import hashlib
    import hmac
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(sig)}"


class InvalidTokenTest(harness.LivegateTestCase):

    def setUp(self):
        self.redis = self.start_redis()
        self.lg = self.start_livegate(self.redis)

    async def _expect_code(self, token, code, what):
        ws = await self.open_ws(self.lg)
        await send_json(ws, {"type": "subscribe", "token": token})
        frames = await self.assertClosedWith(ws, code, what=what)
        self.assertFalse(any('"subscribed"' in f for f in frames if isinstance(f, str)),
                         f"{what}: got subscribed before the close: {frames!r}")

    async def test_invalid_tokens_close_4001_and_count_by_reason(self):
        now = int(time.time())
        good_header = '{"alg":"HS256","typ":"JWT"}'
        cases = [
            # (what, token, metrics reason)
            ("garbage", "not-a-token", "malformed"),
            ("two parts", "abc.def", "malformed"),
            ("bad base64", "@@@.###.$$$", "malformed"),
            ("alg none", mint_alg_none(["todos"]), "bad_alg"),
            ("alg HS512", jwt.encode({"channels": ["todos"], "exp": now + 600},
                                     harness.SECRET + "-padding-for-hs512-length-xxxxxxxx",
                                     algorithm="HS512"), "bad_alg"),
            ("bad signature", tamper_signature(mint_pyjwt(["todos"])), "bad_signature"),
            ("wrong key", mint_pyjwt(["todos"], secret=OTHER_SECRET), "bad_signature"),
            ("payload swapped", self._swap_payload(), "bad_signature"),
            ("channels missing", mint_pyjwt(None), "bad_claims"),
            ("channels empty", mint_pyjwt([]), "bad_claims"),
            ("channels a string", mint_pyjwt("todos"), "bad_claims"),
            ("channel with a space", mint_pyjwt(["has space"]), "bad_claims"),
            ("channel too long", mint_pyjwt(["c" * 201]), "bad_claims"),
            ("channel not a string", mint_pyjwt([42]), "bad_claims"),
            ("exp missing", mint_pyjwt(["todos"], exp=None), "bad_claims"),
            ("exp a string", resign(good_header,
                                    json.dumps({"channels": ["todos"], "exp": str(now + 600)})),
             "bad_claims"),
            ("nbf in the future", mint_pyjwt(["todos"], nbf=now + 3600), "not_yet_valid"),
        ]
        before = self.lg.metrics()
        expected = {}
        for what, token, reason in cases:
            with self.subTest(what):
                await self._expect_code(token, 4001, what)
            expected[reason] = expected.get(reason, 0) + 1
        after = self.lg.metrics()
        for reason, n in expected.items():
            with self.subTest(metric=reason):
                self.assertEqual(failures(after, reason) - failures(before, reason), n,
                                 f'livegate_auth_failures_total{{reason="{reason}"}}')

    @staticmethod
    def _swap_payload():
        # A valid signature over other claims: payload of token B on token A.
        a = mint_pyjwt(["todos"]).split(".")
        b = mint_pyjwt(["admin"]).split(".")
        return f"{a[0]}.{b[1]}.{a[2]}"

    async def test_too_many_or_too_long_claims_close_4001(self):
        many = [f"c{i}" for i in range(1000)]
        for what, token in [("1000 channels", mint_pyjwt(many)),
                            ("10 KB sub", mint_pyjwt(["todos"], sub="s" * 10000))]:
            with self.subTest(what):
                self.assertLess(len(token), 15000)  # the frame itself is allowed
                await self._expect_code(token, 4001, what)

    async def test_payload_not_an_object_closes_4001(self):
        await self._expect_code(resign('{"alg":"HS256","typ":"JWT"}', "[1,2]"), 4001,
                                "payload not an object")

    async def test_token_not_a_string_is_refused(self):
        ws = await self.open_ws(self.lg)
        await send_json(ws, {"type": "subscribe", "token": 12345})
        code, frames = await harness.expect_close(ws)
        self.assertIn(code, (4001, 4008), f"frames: {frames!r}")

    async def test_expired_token_at_subscribe_closes_4002(self):
        before = failures(self.lg.metrics(), "expired")
        now = int(time.time())
        token = mint_pyjwt(["todos"], iat=now - 120, exp=now - 60)
        await self._expect_code(token, 4002, "expired at subscribe")
        self.assertEqual(failures(self.lg.metrics(), "expired") - before, 1)

    async def test_api_expired_token_closes_4002(self):
        token = self.lg.mint_api(["todos"], ttl=1)
        await asyncio.sleep(2.2)
        await self._expect_code(token, 4002, "API token after its ttl")

    async def test_connected_token_reaching_exp_closes_4002(self):
        exp = int(time.time()) + 2
        ws, _ = await self.open_sub(self.lg, mint_pyjwt(["todos"], exp=exp))
        # Alive before exp: delivery and ping work.
        self.redis.publish("todos", "before")
        self.assertFrame(await recv_json(ws), invalidate("todos", "before"))
        await send_json(ws, {"type": "ping"})
        self.assertEqual((await recv_json(ws))["type"], "pong")
        wait = max(exp - time.time(), 0) + 2.5
        await self.assertClosedWith(ws, 4002, timeout=wait, what="token reached exp")
        self.assertGreaterEqual(time.time(), exp - 1, "closed long before exp")

    async def test_resubscribe_with_invalid_token_closes_4001(self):
        ws, _ = await self.open_sub(self.lg, mint_pyjwt(["todos"]))
        await send_json(ws, {"type": "subscribe", "token": tamper_signature(mint_pyjwt(["x"]))})
        await self.assertClosedWith(ws, 4001, what="re-subscribe with a forged token")


class KeyRotationTest(harness.LivegateTestCase):
    """LIVEGATE_SECRETS=k1:key1,k2:key2: k1 signs, both verify."""

    def setUp(self):
        self.redis = self.start_redis()
        self.lg = self.start_livegate(self.redis, env={
            "LIVEGATE_SECRET": None,
            "LIVEGATE_SECRETS": f"k1:{KEY1},k2:{KEY2}",
        })

    async def _expect_4001(self, token, what):
        ws = await self.open_ws(self.lg)
        await send_json(ws, {"type": "subscribe", "token": token})
        await self.assertClosedWith(ws, 4001, what=what)

    async def test_api_tokens_are_signed_by_the_first_key(self):
        token = self.lg.mint_api(["todos"])
        self.assertEqual(jwt.get_unverified_header(token).get("kid"), "k1")
        # leeway: iat carries milliseconds, which PyJWT 2.6 compares with
        # a whole-second now (pyjwt#814).
        claims = jwt.decode(token, KEY1, algorithms=["HS256"], leeway=1)
        self.assertEqual(claims["channels"], ["todos"])
        await self.open_sub(self.lg, token)

    async def test_every_key_verifies(self):
        for what, token in [
            ("kid k1", mint_pyjwt(["todos"], secret=KEY1, headers={"kid": "k1"})),
            ("kid k2", mint_pyjwt(["todos"], secret=KEY2, headers={"kid": "k2"})),
            ("no kid, key 2", mint_pyjwt(["todos"], secret=KEY2)),
            ("no kid, key 1", mint_pyjwt(["todos"], secret=KEY1)),
        ]:
            with self.subTest(what):
                ws, frame = await self.open_sub(self.lg, token)
                self.assertEqual(frame["channels"], ["todos"])
                await ws.close()

    async def test_unknown_or_mismatched_kid_closes_4001(self):
        before = failures(self.lg.metrics(), "unknown_kid")
        await self._expect_4001(mint_pyjwt(["todos"], secret=KEY1, headers={"kid": "k9"}),
                                "unknown kid")
        self.assertEqual(failures(self.lg.metrics(), "unknown_kid") - before, 1)
        await self._expect_4001(mint_pyjwt(["todos"], secret=KEY2, headers={"kid": "k1"}),
                                "kid k1 but signed with key 2")
        await self._expect_4001(mint_pyjwt(["todos"], secret=harness.SECRET),
                                "key not in the ring")


class SecretsFileTest(harness.LivegateTestCase):
    """LIVEGATE_SECRETS_FILE: kid:key lines, re-read on SIGHUP."""

    def _write_keys(self, *lines):
        tmp = self.keys_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("# livegate keys\n\n" + "\n".join(lines) + "\n")
        os.replace(tmp, self.keys_path)  # atomic, as an operator's tooling would

    async def _subscribes(self, token):
        ws = await harness.connect(self.lg.ws_url)
        try:
            await send_json(ws, {"type": "subscribe", "token": token})
            try:
                return (await recv_json(ws)).get("type") == "subscribed"
            except harness.ConnectionClosed as e:
                self.assertEqual(e.rcvd.code if e.rcvd else None, 4001)
                return False
        finally:
            await ws.close()

    async def _eventually(self, token, accepted, timeout=3.0):
        deadline = time.monotonic() + timeout
        while await self._subscribes(token) != accepted:
            if time.monotonic() > deadline:
                self.fail(f"token {'still refused' if accepted else 'still accepted'} "
                          f"{timeout}s after SIGHUP")
            await asyncio.sleep(0.2)

    async def test_sighup_reloads_the_keys(self):
        self.redis = self.start_redis()
        workdir = tempfile.mkdtemp(prefix="livegate-keys-")
        self.addCleanup(shutil.rmtree, workdir, True)
        self.keys_path = os.path.join(workdir, "keys")
        self._write_keys(f"k1:{KEY1}")
        self.lg = self.start_livegate(self.redis, env={
            "LIVEGATE_SECRET": None, "LIVEGATE_SECRETS_FILE": self.keys_path})
        t1 = mint_pyjwt(["todos"], secret=KEY1, headers={"kid": "k1"})
        t2 = mint_pyjwt(["todos"], secret=KEY2, headers={"kid": "k2"})
        self.assertTrue(await self._subscribes(t1))
        self.assertFalse(await self._subscribes(t2))

        # Rotate in k2 as the signing key, keep k1 verifying.
        self._write_keys(f"k2:{KEY2}", f"k1:{KEY1}")
        self.lg.proc.send_signal(signal.SIGHUP)
        await self._eventually(t2, True)
        self.assertTrue(await self._subscribes(t1))
        self.assertEqual(jwt.get_unverified_header(self.lg.mint_api(["todos"])).get("kid"), "k2")

        # Retire k1.
        self._write_keys(f"k2:{KEY2}")
        self.lg.proc.send_signal(signal.SIGHUP)
        await self._eventually(t1, False)
        self.assertTrue(await self._subscribes(t2))

        # A broken file on SIGHUP keeps the old keys and the process.
        self._write_keys("this line has no key")
        self.lg.proc.send_signal(signal.SIGHUP)
        await asyncio.sleep(0.5)
        self.assertIsNone(self.lg.proc.poll(), "livegate died on a bad keys file")
        self.assertTrue(await self._subscribes(t2))


if __name__ == "__main__":
    harness.main()
