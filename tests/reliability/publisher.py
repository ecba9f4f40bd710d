"""tests/reliability/publisher.py - the application's writer: for each
channel, at random moments (a Poisson process of the channel's rate), write
the channel's next sequence number into the application's data (appdb.py),
then PUBLISH {"seq":N,...} on the channel, as a backend does after a write.

It keeps writing while Redis is down or hung (the application's database is
not Redis): those messages are written and their PUBLISH fails or times
out, which is exactly what livegate's resync is for. One Redis connection,
one command at a time, a timeout per command; after a failure it reconnects
for the next message.

  /usr/bin/python3 publisher.py CONFIG_JSON
Reads commands on stdin: "burst CH N" (N messages on channel CH, back to
back: a stalled client's queue must fill) and "stop" (exit 0).
"""

import asyncio
import heapq
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from appdb import AppDb  # noqa: E402
from eventlog import LineLog, now  # noqa: E402
from harness import resp_command  # noqa: E402

CONNECT_TIMEOUT = 0.5
COMMAND_TIMEOUT = 1.0
MAX_LAG = 5.0          # a tick due longer ago than this is dropped (counted)
BURST_MAX = 5000       # the most one burst command may ask for


class Redis:
    """One connection, one PUBLISH at a time; reconnects on demand."""

    def __init__(self, port):
        self.port = port
        self.reader = self.writer = None

    async def _connect(self):
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.port), CONNECT_TIMEOUT)

    def drop(self):
        if self.writer is not None:
            self.writer.transport.abort()
        self.reader = self.writer = None

    async def publish(self, channel, payload):
        """Returns Redis's receiver count, 'E' or 'T' (see eventlog.py)."""
        try:
            if self.writer is None:
                await self._connect()
            self.writer.write(resp_command("PUBLISH", channel, payload))
            line = await asyncio.wait_for(self.reader.readline(), COMMAND_TIMEOUT)
        except asyncio.TimeoutError:
            self.drop()
            return "T"
        except OSError:
            self.drop()
            return "E"
        if not line.startswith(b":"):
            self.drop()  # an error reply or a closed connection
            return "E"
        return int(line[1:])


class Publisher:
    def __init__(self, cfg):
        self.cfg = cfg
        self.rng = random.Random(cfg["seed"])
        self.db = AppDb(cfg["db_path"], len(cfg["rates"]))
        self.log = LineLog(cfg["log_path"])
        self.redis = Redis(cfg["redis_port"])
        self.pad = "x" * cfg["pad"]
        self.bursts = []      # channels owed a message now, in order
        self.wake = asyncio.Event()
        self.stopping = False

    async def publish_one(self, ch):
        seq = self.db.write_next(ch)
        t_write = now()
        payload = json.dumps({"seq": seq, "pad": self.pad}, separators=(",", ":"))
        t_sent = now()
        result = await self.redis.publish(self.cfg["prefix"] + self.cfg["names"][ch], payload)
        self.log.rec("P", ch, seq, t_write, t_sent, now(), result)

    async def run(self):
        rates = self.cfg["rates"]
        due = [(now() + self.rng.expovariate(r), ch) for ch, r in enumerate(rates)]
        heapq.heapify(due)
        while not self.stopping:
            if self.bursts:
                await self.publish_one(self.bursts.pop(0))
                continue
            t, ch = due[0]
            wait = t - now()
            if wait > 0:
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), wait)
                except asyncio.TimeoutError:
                    pass
                continue
            heapq.heapreplace(due, (t + self.rng.expovariate(rates[ch]), ch))
            if -wait > MAX_LAG:
                self.log.rec("K", now(), 1)
                continue
            await self.publish_one(ch)
        self.log.close()

    def command(self, line):
        words = line.split()
        if words == ["stop"]:
            self.stopping = True
        elif len(words) == 3 and words[0] == "burst":
            ch, n = int(words[1]), min(int(words[2]), BURST_MAX)
            self.log.rec("B", now(), ch, n)
            self.bursts.extend([ch] * n)
        else:
            print(f"publisher: unknown command {line!r}", file=sys.stderr)
        self.wake.set()


async def main():
    cfg = json.loads(sys.argv[1])
    pub = Publisher(cfg)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def commands():
        while True:
            line = await reader.readline()
            if not line:  # the campaign is gone: stop as if told
                pub.command("stop")
                return
            pub.command(line.decode())

    cmd_task = asyncio.create_task(commands())
    flusher = asyncio.create_task(flush_every_second(pub.log))
    await pub.run()
    cmd_task.cancel()
    flusher.cancel()


async def flush_every_second(log):
    while True:
        await asyncio.sleep(1)
        log.flush()


if __name__ == "__main__":
    asyncio.run(main())
