"""LIVEGATE_MAX_TOKEN_LIFETIME (contract v2, issue 14): a token whose exp
lies further ahead is refused with 4001 and the reason exp_too_far; an exp
written in milliseconds (50,000 years ahead) is the usual cause."""

import asyncio
import time

import harness
from harness import mint_pyjwt, send_json


class MaxLifetimeTest(harness.LivegateTestCase):

    async def close_of(self, lg, token):
        """(code, reason) of the close frame the server answers a subscribe
        with (the contract's close reasons), or (None, frame) when it
        subscribes instead."""
        ws = await self.open_ws(lg)
        await send_json(ws, {"type": "subscribe", "token": token})
        try:
            frame = await asyncio.wait_for(ws.recv(), harness.RECV_TIMEOUT)
        except harness.ConnectionClosed as e:
            self.assertIsNotNone(e.rcvd, "closed without a close frame")
            return e.rcvd.code, e.rcvd.reason
        return None, frame

    async def test_exp_in_milliseconds_is_refused_with_the_reason(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        before = lg.metrics().get('livegate_auth_failures_total{reason="exp_too_far"}', 0)
        ms = int(time.time() * 1000) + 600_000
        token = mint_pyjwt(["todos"], exp=ms)
        self.assertEqual(await self.close_of(lg, token), (4001, "exp_too_far"))
        after = lg.metrics().get('livegate_auth_failures_total{reason="exp_too_far"}', 0)
        self.assertEqual(after - before, 1)

    async def test_the_cap_is_the_setting(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_MAX_TOKEN_LIFETIME": "3600",
                                             "LIVEGATE_TOKEN_TTL": "600"})
        self.assertEqual(await self.close_of(lg, mint_pyjwt(["todos"], ttl=7200)),
                         (4001, "exp_too_far"))
        code, frame = await self.close_of(lg, mint_pyjwt(["todos"], ttl=1800))
        self.assertIsNone(code, frame)
        self.assertIn('"subscribed"', frame)

    async def test_the_api_keeps_within_the_cap(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_MAX_TOKEN_LIFETIME": "600",
                                             "LIVEGATE_TOKEN_TTL": "300"})
        status, reply = lg.api("POST", "/v1/tokens", {"channels": ["todos"], "ttl": 601})
        self.assertEqual(status, 400, reply)
        self.assertEqual(reply["error"], "invalid_ttl")
        self.assertIn("from 1 to 600", reply["message"])
        token = lg.mint_api(["todos"], ttl=600)
        code, frame = await self.close_of(lg, token)
        self.assertIsNone(code, frame)


if __name__ == "__main__":
    harness.main()
