"""Keepalive: the server pings a client that has been silent for 30 s and
drops one that has not answered for 60 s, while a client that answers pings
(as every WebSocket library does) stays connected however quiet it is.
Issue 2: "server-side WebSocket pings ... so dead peers are dropped".

This file takes about a minute by nature; it runs in parallel with the rest."""

import asyncio
import json
import time

import harness
from harness import invalidate, mint_pyjwt, recv_json

PING_AFTER = 30.0      # seconds of client silence before the server pings
DROP_AFTER = 60.0      # seconds of client silence before the server drops it
SLACK = 8.0            # generous: timer wheel granularity and a busy CI box

OP_TEXT, OP_CLOSE, OP_PING = 0x1, 0x8, 0x9


class KeepaliveTest(harness.LivegateTestCase):

    async def test_dead_peer_is_dropped_live_one_kept(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        alive, _ = await self.open_sub(lg, mint_pyjwt(["todos"]))  # answers pings itself

        dead = harness.RawWsClient(lg.public_port)
        self.addCleanup(dead.close)
        dead.send_text(json.dumps({"type": "subscribe", "token": mint_pyjwt(["todos"])}))
        opcode, payload = dead.recv_frame(5)
        self.assertEqual((opcode, json.loads(payload)["type"]), (OP_TEXT, "subscribed"))
        silent_since = time.monotonic()

        events = await asyncio.to_thread(self._watch_dead_client, dead)
        kinds = [k for k, _ in events]
        self.assertIn("ping", kinds, f"no server ping to a silent client: {events}")
        self.assertEqual(kinds[-1], "closed", f"silent client not dropped: {events}")
        first_ping = next(t for k, t in events if k == "ping")
        self.assertLess(first_ping, events[-1][1], "the ping comes before the drop")
        self.assertGreaterEqual(events[-1][1] - silent_since, PING_AFTER,
                                "dropped before it could answer a ping")

        # The quiet but live client (it pongs) is still connected and served.
        self.assertTrue(alive.open, "a client answering pings was dropped")
        redis.publish("todos", "still here")
        self.assertFrame(await recv_json(alive), invalidate("todos", "still here"))

    @staticmethod
    def _watch_dead_client(dead):
        """Reads what the server sends a client that never answers, until
        the server closes it or DROP_AFTER + SLACK passes."""
        events = []
        deadline = time.monotonic() + DROP_AFTER + SLACK
        while time.monotonic() < deadline:
            try:
                opcode, _ = dead.recv_frame(deadline - time.monotonic())
            except TimeoutError:
                break
            except EOFError:
                events.append(("closed", time.monotonic()))
                break
            if opcode == OP_PING:
                events.append(("ping", time.monotonic()))
            elif opcode == OP_CLOSE:
                events.append(("closed", time.monotonic()))
                break
            else:
                events.append((f"opcode {opcode}", time.monotonic()))
        return events


if __name__ == "__main__":
    harness.main()
