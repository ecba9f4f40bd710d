"""Liveness and the loop: a hung server (SIGSTOP) is declared dead; a link
that keeps delivering is never declared dead, however busy the owner (a
heavy stream it reads slowly, or a loop that stalls while data waits);
a reply over the bound drops the link (then resync), never the process;
and a dead DNS server never blocks the loop (timers keep running while a
name is being resolved)."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import rharness
from rharness import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))


class LivenessTest(rharness.TestCase):

    def test_hung_server_is_declared_dead(self):
        r = self.redis()
        d = self.driver(f"redis://127.0.0.1:{r.port}", "--idle-ms", 300, "--dead-ms", 300)
        d.wait_line(r"^ready 1")
        d.send("sub 1 a")
        d.wait_line(r"^subscribed 1$")
        r.pause()
        try:
            m = d.wait_line(r"^link down data .* cause=(\S+) retry=\d+ detail=(.*)")
            self.assertEqual(m.group(1), "dead")
            self.assertIn("did not answer PING", m.group(2))
            d.wait_line(r"^ready 0$")
        finally:
            r.resume()
        d.wait_line(r"^resync a 1$")
        d.wait_line(r"^ready 1$")

    def test_slow_reader_of_a_heavy_stream_stays_up(self):
        """Each delivery costs the driver 1 ms (a worker fanning out to many
        clients): it reads 3000 messages far slower than they arrive, and
        a PING answer waits behind them for seconds. Liveness is 200 ms."""
        r = self.redis()
        d = self.driver(f"redis://127.0.0.1:{r.port}", "--idle-ms", 200, "--dead-ms", 200,
                        "--work-us", 1000, "--no-msgs")
        d.wait_line(r"^ready 1")
        d.send("sub 1 s")
        d.wait_line(r"^subscribed 1$")
        c = r.client()
        payload = "p" * 1000
        for i in range(3000):
            c.send("PUBLISH", "s", payload)
        for i in range(3000):
            self.assertEqual(c.read(), 1)
        c.close()
        wait_until(lambda: d.send("stats") or d.matching(r"^stats messages=3000 "), 60,
                   "all 3000 messages through")
        self.assertEqual(d.matching(r"^link (down|retry)"), [])
        self.assertEqual(d.matching(r"^resync"), [])

    def test_stalled_loop_with_data_waiting_stays_up(self):
        """The loop stalls for 2 s, three times (20x the liveness time), while
        a publisher keeps writing: what waited is read as soon as the loop
        runs again, and counts as life."""
        r = self.redis()
        d = self.driver(f"redis://127.0.0.1:{r.port}", "--idle-ms", 100, "--dead-ms", 100,
                        "--no-msgs")
        d.wait_line(r"^ready 1")
        d.send("sub 1 s")
        d.wait_line(r"^subscribed 1$")
        time.sleep(0.3)        # the idle link has been pinged and answered
        stop = threading.Event()
        sent = [0]

        def publisher():
            c = r.client()
            while not stop.is_set():
                c.cmd("PUBLISH", "s", "tick")
                sent[0] += 1
                time.sleep(0.005)
            c.close()

        t = threading.Thread(target=publisher)
        t.start()
        try:
            for _ in range(3):
                d.send("block 2000")
                time.sleep(2.2)
        finally:
            stop.set()
            t.join()
        wait_until(lambda: d.send("stats") or
                   d.matching(r"^stats messages=%d " % sent[0]), 20, "every message read")
        self.assertEqual(d.matching(r"^link (down|retry)"), [])

    def test_ping_answer_behind_unread_data_is_not_death(self):
        """The exact case of a heartbeat answered while the owner is busy: a
        server (played by the test, the one place a real Redis cannot be
        timed) answers the driver's PING only once the driver's loop is
        stalled, behind 300 messages. When the loop runs again the PING has
        waited 10x the liveness time, but its answer is in the socket."""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        d = self.driver(f"redis://127.0.0.1:{port}", "--idle-ms", 100, "--dead-ms", 100,
                        "--no-msgs")
        conn, _ = srv.accept()
        srv.close()
        self.addCleanup(conn.close)
        buf = b""

        def until(token):
            nonlocal buf
            while token not in buf:
                chunk = conn.recv(4096)
                self.assertTrue(chunk, "the driver closed the link")
                buf += chunk
            buf = buf.split(token, 1)[1]

        until(b"PSUBSCRIBE")
        conn.sendall(b"*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n")
        d.wait_line(r"^ready 1")
        d.send("sub 1 s")
        d.wait_line(r"^subscribed 1$")
        until(b"PING")                     # the link was quiet for 100 ms
        d.send("block 1000")
        d.wait_line(r"^blocking 1000$")
        msg = b"*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$1\r\ns\r\n$3\r\nabc\r\n"
        conn.sendall(msg * 300 + b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        wait_until(lambda: d.send("stats") or d.matching(r"^stats messages=300 "), 10,
                   "the 300 messages read")
        until(b"PING")                     # liveness carries on: the next PING
        self.assertEqual(d.matching(r"^link (down|retry)"), [])

    def test_reply_over_the_bound_drops_the_link_not_the_process(self):
        r = self.redis(extra=["client-output-buffer-limit pubsub 0 0 0",
                              "proto-max-bulk-len 64mb"])
        d = self.driver(f"redis://127.0.0.1:{r.port}", "--backoff-base-ms", 20)
        d.wait_line(r"^ready 1")
        d.send("sub 1 big")
        d.wait_line(r"^subscribed 1$")
        self.assertEqual(r.publish("big", "b" * (9 << 20)), 1)
        m = d.wait_line(r"^link down data .* cause=(\S+) retry=\d+ detail=(.*)")
        self.assertEqual(m.group(1), "protocol")
        self.assertIn("reply over", m.group(2))
        d.wait_line(r"^resync big 1$")
        r.publish("big", "small")
        d.wait_line(r"^msg big 1 small$")

    def test_dead_dns_does_not_block_the_loop(self):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            self.fail("this test needs root and unshare(1) to fake a dead DNS server")
        cmd = ["unshare", "-mn", sys.executable, os.path.join(HERE, "netns_dns.py")]
        d = self.driver("redis://dead-dns.test:6379", "--tick-ms", 100,
                        "--connect-timeout-ms", 1000, "--backoff-base-ms", 50,
                        "--backoff-cap-ms", 100, wrapper=cmd)
        d.wait_line(r"^started$")
        t0 = time.monotonic()
        m = d.wait_line(r"^link retry data .* cause=(\S+) retry=\d+ detail=(.*)")
        self.assertEqual(m.group(1), "timeout")
        self.assertIn("resolving", m.group(2))
        # 4 s more with lookups hanging all along: the loop ticks on
        # schedule, and answers a command at once.
        ticks0 = len(d.matching(r"^tick "))
        time.sleep(4)
        ticks = len(d.matching(r"^tick ")) - ticks0
        # 40 on an idle machine; a blocked loop would give next to none
        self.assertGreaterEqual(ticks, 20, f"only {ticks} ticks in 4 s")
        mark = d.mark()
        asked = time.monotonic()
        d.send("stats")
        d.wait_line(r"^stats ", timeout=5, since=mark)
        self.assertLess(time.monotonic() - asked, 2.0)   # not the resolver's 15 s
        # Lookups that outlive their attempt are bounded: past the limit an
        # attempt fails at once as "resolver busy" instead of piling up.
        busy = d.matching(r"resolver busy")
        retries = d.matching(r"^link retry data")
        self.assertGreater(len(retries), 3)
        self.assertGreater(len(busy) + len(retries), 0)
        self.assertGreater(time.monotonic() - t0, 4)


if __name__ == "__main__":
    rharness.main()
