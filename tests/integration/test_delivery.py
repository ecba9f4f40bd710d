"""End to end delivery: token -> WebSocket subscribe -> redis-cli PUBLISH ->
invalidate frame. Contract: "Public endpoint" steps 1-4, "Redis", "Tokens"."""

import asyncio
import json

import harness
from harness import invalidate, mint_pyjwt, recv_json, send_json


class DeliveryTest(harness.LivegateTestCase):

    def setUp(self):
        self.redis = self.start_redis()
        self.lg = self.start_livegate(self.redis)

    async def _assert_end_to_end(self, token, channels):
        ws, frame = await self.open_sub(self.lg, token)
        self.assertEqual(frame["type"], "subscribed")
        self.assertEqual(sorted(frame["channels"]), sorted(channels))
        # "subscribed" means Redis confirmed: a publish right now must arrive.
        self.assertEqual(self.redis.publish("todos", '{"id":1}'), 1)
        self.assertFrame(await recv_json(ws), invalidate("todos", {"id": 1}))
        return ws

    async def test_token_from_api_end_to_end(self):
        token = self.lg.mint_api(["todos", "user:42"], ttl=600, sub="u42")
        ws = await self._assert_end_to_end(token, ["todos", "user:42"])
        self.redis.publish("user:42", '[1,"two",{"three":3}]')
        self.assertFrame(await recv_json(ws), invalidate("user:42", [1, "two", {"three": 3}]))

    async def test_token_from_pyjwt_end_to_end(self):
        token = mint_pyjwt(["todos", "other"], sub="u1")
        await self._assert_end_to_end(token, ["todos", "other"])

    async def test_pyjwt_token_with_only_required_claims(self):
        # channels and exp are the only required claims.
        token = mint_pyjwt(["todos"], iat=None)
        await self._assert_end_to_end(token, ["todos"])

    async def test_payload_kinds(self):
        ws, _ = await self.open_sub(self.lg, mint_pyjwt(["todos"]))
        cases = [
            ("updated", "updated"),                      # not JSON -> JSON string
            ('hello "world"', 'hello "world"'),          # quotes escaped
            ("{broken", "{broken"),                      # invalid JSON -> string
            ("42", 42),
            ("null", None),
            ('"quoted"', "quoted"),
            ('{"entity":"todos","id":"123","action":"updated"}',
             {"entity": "todos", "id": "123", "action": "updated"}),
            ("caf\u00e9 \u2713", "caf\u00e9 \u2713"),    # UTF-8 text
        ]
        for payload, expected in cases:
            with self.subTest(payload=payload):
                self.redis.publish("todos", payload)
                self.assertFrame(await recv_json(ws), invalidate("todos", expected))

    async def test_publish_order_is_kept_and_newest_arrives(self):
        ws, _ = await self.open_sub(self.lg, mint_pyjwt(["todos"]))
        for i in range(20):
            self.redis.publish("todos", f'{{"n":{i}}}')
        # Pending invalidations of one channel for one client may collapse
        # into the newest (issue 2), so some may be skipped; but never out of
        # order, never duplicated, and the newest always arrives.
        seen = []
        while not seen or seen[-1] != 19:
            frame = await recv_json(ws)
            self.assertFrame(frame, {"type": "invalidate", "channel": "todos"})
            seen.append(frame["data"]["n"])
            self.assertEqual(seen, sorted(set(seen)), f"order: {seen}")
        await harness.expect_silence(ws, 0.3)

    async def test_only_followed_channels_are_delivered(self):
        ws, _ = await self.open_sub(self.lg, mint_pyjwt(["todos"]))
        # The worker sees it (its pattern covers every channel) and
        # delivers it to nobody.
        self.assertEqual(self.redis.publish("secret", "x"), 1)
        self.redis.publish("todos", "y")
        # Redis keeps order, so the first frame must be the todos one.
        self.assertFrame(await recv_json(ws), invalidate("todos", "y"))

    async def test_ping_pong(self):
        ws, _ = await self.open_sub(self.lg, mint_pyjwt(["todos"]))
        for _ in range(3):
            await send_json(ws, {"type": "ping"})
            self.assertEqual((await recv_json(ws))["type"], "pong")

    async def test_ping_burst_gets_one_pong_each(self):
        ws, _ = await self.open_sub(self.lg, mint_pyjwt(["todos"]))
        # Several pings read in one go (well under the rate limit): the
        # contract answers each ping with a pong, so none may be merged.
        burst = 10
        await harness.send_text_burst(ws, ['{"type":"ping"}'] * burst)
        for i in range(burst):
            try:
                frame = await recv_json(ws, 3)
            except asyncio.TimeoutError:
                raise self.failureException(f"only {i} pongs for {burst} pings") from None
            self.assertEqual(frame["type"], "pong")

    async def test_many_clients_same_channel(self):
        clients = [(await self.open_sub(self.lg, mint_pyjwt(["todos"])))[0] for _ in range(5)]
        self.redis.publish("todos", '{"id":7}')
        for ws in clients:
            self.assertFrame(await recv_json(ws), invalidate("todos", {"id": 7}))

    async def test_later_subscribe_replaces_the_set(self):
        ws, _ = await self.open_sub(self.lg, mint_pyjwt(["old", "both"]))
        await send_json(ws, {"type": "subscribe", "token": mint_pyjwt(["new", "both"])})
        frame = await recv_json(ws)
        self.assertEqual(frame["type"], "subscribed")
        self.assertEqual(sorted(frame["channels"]), ["both", "new"])
        # Redis keeps order: if "old" were still delivered it would come first.
        self.redis.publish("old", "stale")
        self.redis.publish("both", "b")
        self.redis.publish("new", "n")
        self.assertFrame(await recv_json(ws), invalidate("both", "b"))
        self.assertFrame(await recv_json(ws), invalidate("new", "n"))
        # Nobody else follows "old": the worker lets go of it.
        self.assertEqual(self.lg.metrics().get("livegate_channels"), 2.0)


class SlowClientTest(harness.LivegateTestCase):

    async def test_pending_invalidations_collapse_into_the_newest(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        fast, _ = await self.open_sub(lg, mint_pyjwt(["todos"]))
        # A client with a tiny TCP window that reads nothing for a while.
        slow = harness.RawWsClient(lg.public_port, rcvbuf=4096)
        self.addCleanup(slow.close)
        slow.send_text(json.dumps({"type": "subscribe", "token": mint_pyjwt(["todos"])}))
        opcode, payload = slow.recv_frame(5)
        self.assertEqual(json.loads(payload)["type"], "subscribed")

        count, pad = 300, "x" * 50_000  # 15 MB in all: far beyond any socket buffer
        receivers = redis.publish_many("todos", [f'{{"n":{i},"pad":"{pad}"}}'
                                                 for i in range(count)])
        self.assertEqual(receivers, [1] * count)

        # The fast client is not held back by the slow one: it gets the
        # newest (collapsing may skip some for it too, never reorder).
        last = -1
        while last != count - 1:
            n = (await recv_json(fast, 10))["data"]["n"]
            self.assertGreater(n, last, "order")
            last = n

        # The slow one now reads: in order, newest last, far fewer than sent.
        seen = await asyncio.to_thread(self._drain, slow, count - 1)
        self.assertEqual(seen, sorted(set(seen)), "order")
        self.assertEqual(seen[-1], count - 1, "the newest invalidation arrives")
        self.assertLess(len(seen), count // 2,
                        f"{len(seen)} of {count} delivered: pending frames did not collapse")

    @staticmethod
    def _drain(client, last):
        seen = []
        while not seen or seen[-1] != last:
            opcode, payload = client.recv_frame(10)
            if opcode == 0x1:
                seen.append(json.loads(payload)["data"]["n"])
        return seen


class ChannelPrefixTest(harness.LivegateTestCase):

    async def test_prefix_is_put_before_redis_channel(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_CHANNEL_PREFIX": "app1:"})
        ws, frame = await self.open_sub(lg, mint_pyjwt(["todos"]))
        # Browsers see bare names; Redis sees prefix + name.
        self.assertEqual(frame["channels"], ["todos"])
        self.assertEqual(redis.numpat(), 1)   # app1:*
        self.assertEqual(redis.publish("todos", "bare"), 0)
        self.assertEqual(redis.publish("app1:other", "x"), 1)
        self.assertEqual(redis.publish("app1:todos", '{"id":1}'), 1)
        self.assertFrame(await recv_json(ws), invalidate("todos", {"id": 1}))

    async def test_api_publish_uses_prefix(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_CHANNEL_PREFIX": "app1:"})
        ws, _ = await self.open_sub(lg, lg.mint_api(["todos"]))
        sub = harness.RedisSubscriber(redis, "app1:todos")
        self.addCleanup(sub.close)
        status, reply = lg.api("POST", "/v1/publish", {"channel": "todos", "data": {"a": 1}})
        self.assertEqual(status, 202, reply)
        self.assertEqual(reply, {"receivers": 2})  # livegate + our raw subscriber
        ch, payload = sub.next_message()
        self.assertEqual(ch, "app1:todos")
        self.assertEqual(payload, b'{"a":1}')
        self.assertFrame(await recv_json(ws), invalidate("todos", {"a": 1}))


class WorkersTest(harness.LivegateTestCase):

    async def test_two_workers_each_client_gets_the_publish(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_WORKERS": "2"})
        # Several connections so that, with SO_REUSEPORT hashing, both
        # workers very likely hold some; every one must get the message.
        clients = [(await self.open_sub(lg, mint_pyjwt(["todos"])))[0] for _ in range(6)]
        receivers = redis.publish("todos", '{"id":2}')
        self.assertEqual(receivers, 2, "one pattern subscription per worker")
        self.assertEqual(redis.numpat(), 1)   # the same pattern, counted once
        for ws in clients:
            self.assertFrame(await recv_json(ws), invalidate("todos", {"id": 2}))
        # API publish reaches them too, whichever process serves the API.
        status, reply = lg.api("POST", "/v1/publish", {"channel": "todos"})
        self.assertEqual((status, reply), (202, {"receivers": receivers}))
        for ws in clients:
            self.assertFrame(await recv_json(ws), invalidate("todos", None))
        # /metrics sums over workers.
        m = lg.metrics()
        self.assertEqual(m.get("livegate_connections"), 6.0)
        self.assertEqual(m.get("livegate_redis_connected"), 2.0)
        self.assertIn(m.get("livegate_channels"), (1.0, 2.0))   # todos, in each worker with clients
        self.assertEqual(m.get("livegate_frames_delivered_total"), 12.0)


if __name__ == "__main__":
    harness.main()
