"""The render-to-subscribe catch-up (contract, "Public endpoint" 3a; issue
13): right after 'subscribed', one {"reason":"missed"} invalidation per
channel of the token on which livegate saw a publish after the page's render
(its token's iat) minus LIVEGATE_RENDER_SLACK_MS, or where it cannot know;
none for a page with no publish in that window."""

import asyncio
import time

import harness
from harness import LivegateTestCase, mint_pyjwt, recv_json

SLACK_MS = 300   # short, so the tests wait little; the default is 1000


def missed(channel):
    return {"type": "invalidate", "channel": channel, "data": None, "reason": "missed"}


class CatchupTest(LivegateTestCase):

    def setUp(self):
        self.redis = self.start_redis()
        self.lg = self.start_livegate(self.redis, env={"LIVEGATE_RENDER_SLACK_MS": str(SLACK_MS)})
        # Coverage began when the worker's pattern subscription was
        # confirmed; a render earlier than that plus the slack is one
        # livegate cannot know about (tested below on its own).
        time.sleep(SLACK_MS / 1000 + 0.2)

    async def page_load(self, channels, publish=None, token=None):
        """Renders (the API mints the token: iat is now, with ms), publishes
        on the channels in `publish` as the page travels, then subscribes.
        Returns the frames after 'subscribed' within a short wait."""
        token = token or self.lg.mint_api(channels)
        for ch in publish or ():
            self.redis.publish(ch, "while the page loads")
        await asyncio.sleep(0.05)   # the page's transfer and script load
        ws, frame = await self.open_sub(self.lg, token)
        self.assertEqual(sorted(frame["channels"]), sorted(channels))
        frames = []
        try:
            while True:
                frames.append(await recv_json(ws, timeout=0.3))
        except asyncio.TimeoutError:
            pass
        await ws.close()
        return frames

    async def test_a_publish_in_the_gap_is_never_lost(self):
        for i in range(20):
            with self.subTest(load=i):
                frames = await self.page_load(["todos", "users"], publish=["todos"])
                self.assertEqual(frames, [missed("todos")])

    async def test_no_publish_in_the_gap_no_extra_refetch(self):
        self.redis.publish("todos", "long before the render")
        await asyncio.sleep(SLACK_MS / 1000 + 0.1)
        for i in range(20):
            with self.subTest(load=i):
                self.assertEqual(await self.page_load(["todos", "users"]), [])
        self.assertEqual(self.lg.metrics().get("livegate_catchup_missed_total"), 0.0)

    async def test_a_publish_within_the_slack_before_the_render_counts(self):
        # The render may have read its data before this publish.
        self.redis.publish("todos", "just before")
        await asyncio.sleep(SLACK_MS / 2000)
        self.assertEqual(await self.page_load(["todos"]), [missed("todos")])

    async def test_a_render_that_waited_for_its_token_names_when_it_read(self):
        # The backend read its data, a publish came, and the token took
        # longer than the slack to come (livegate's API restarting): with
        # the read as iat the page still learns; with the call's time it
        # would not, which is why the API takes an iat.
        read = time.time()
        self.redis.publish("todos", "after the read")
        await asyncio.sleep(SLACK_MS / 1000 + 0.2)
        late = await self.page_load(["todos"])
        self.assertEqual(late, [], "the call's own time is past the slack: nothing to tell")
        given = await self.page_load(["todos"], token=self.lg.mint_api(["todos"], iat=read))
        self.assertEqual(given, [missed("todos")])

    async def test_a_cold_channel_is_known_too(self):
        # Nobody on this worker follows "fresh" when it is published: the
        # worker watches the whole prefix, so the first visitor learns.
        frames = await self.page_load(["fresh"], publish=["fresh"])
        self.assertEqual(frames, [missed("fresh")])

    async def test_a_token_without_iat_gets_no_catch_up(self):
        frames = await self.page_load(["todos"], publish=["todos"],
                                      token=mint_pyjwt(["todos"]))
        self.assertEqual(frames, [])

    async def test_a_message_after_subscribed_is_a_message(self):
        ws, _ = await self.open_sub(self.lg, self.lg.mint_api(["todos"]))
        self.redis.publish("todos", '{"id":1}')
        self.assertFrame(await recv_json(ws), harness.invalidate("todos", {"id": 1}))
        await harness.expect_silence(ws, 0.3)

    async def test_the_event_stream_gets_it_too(self):
        from test_sse import Stream   # noqa: PLC0415 (the stream client lives there)
        token = self.lg.mint_api(["todos"])
        self.redis.publish("todos", "x")
        s = Stream(self.lg.public_port, token=token)
        self.addCleanup(s.close)
        self.assertEqual(s.event()["type"], "subscribed")
        self.assertEqual(s.event(), missed("todos"))


class CannotKnowTest(LivegateTestCase):
    """Where livegate was not watching since before the render (it started,
    or Redis came back, after it), it sends the same frame: an extra
    refetch is the safe side."""

    async def test_render_before_livegate_started(self):
        redis = self.start_redis()
        token = mint_pyjwt(["todos"], iat=round(time.time(), 3))
        lg = self.start_livegate(redis, env={"LIVEGATE_RENDER_SLACK_MS": str(SLACK_MS)})
        ws, _ = await self.open_sub(lg, token)
        self.assertEqual(await recv_json(ws), missed("todos"))

    async def test_render_during_a_redis_outage(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_RENDER_SLACK_MS": str(SLACK_MS)})
        await asyncio.sleep(SLACK_MS / 1000 + 0.2)
        redis.kill()
        await asyncio.to_thread(harness.wait_until,
                                lambda: lg.http_status("/readyz") == 503, 10, 0.05,
                                "/readyz 503 while Redis is down")
        token = mint_pyjwt(["todos"], iat=round(time.time(), 3))   # rendered meanwhile
        redis.start()
        await asyncio.to_thread(harness.wait_until,
                                lambda: lg.http_status("/readyz") == 200, 20, 0.1,
                                "/readyz 200 after Redis is back")
        ws, _ = await self.open_sub(lg, token)
        self.assertEqual(await recv_json(ws), missed("todos"))


if __name__ == "__main__":
    harness.main()
