"""The private API's publisher (publisher.h) against real servers: PUBLISH
with the receiver count, a hung server answered by an error within the
timeout (never a long block), a restarted server absorbed by one retry on a
fresh connection, TLS, AUTH refusal, a dead DNS name bounded by the timeout,
and several threads each with its own publisher."""

import os
import shutil
import sys
import time

import rharness

HERE = os.path.dirname(os.path.abspath(__file__))


class PublisherTest(rharness.TestCase):

    def test_publish_answers_the_receiver_count(self):
        r = self.redis()
        d = self.driver(f"redis://127.0.0.1:{r.port}", prefix="p:")
        d.wait_line(r"^ready 1$")
        d.send("sub 1 a")
        d.wait_line(r"^subscribed 1$")
        p = self.publisher(f"redis://127.0.0.1:{r.port}/2", prefix="p:")
        self.assertEqual(p.publish("a", '{"id":1}')[:2], ("ok", 1))
        d.wait_line(r'^msg a 1 \{"id":1\}$')
        # The subscriber watches the whole prefix (PSUBSCRIBE p:*): it counts
        # for every channel under it, followed or not; outside it, nobody.
        self.assertEqual(p.publish("nobody", "x")[:2], ("ok", 1))
        q = self.publisher(f"redis://127.0.0.1:{r.port}", prefix="q:")
        self.assertEqual(q.publish("a", "x")[:2], ("ok", 0))
        p.send("quit")
        p.wait_line(r"^bye$")

    def test_hung_server_fails_within_the_timeout(self):
        r = self.redis()
        p = self.publisher(f"redis://127.0.0.1:{r.port}", "--timeout-ms", 500)
        self.assertEqual(p.publish("a", "warm")[0], "ok")
        r.pause()
        try:
            t0 = time.monotonic()
            res = p.publish("a", "hung")
            took = time.monotonic() - t0
            self.assertEqual(res[0], "err")
            self.assertIn("no answer within 500 ms (connected)", res[2])
            self.assertLess(took, 4.0)             # the bound, with room for a loaded machine
            res = p.publish("a", "still hung")     # a new connection, same bound
            self.assertEqual(res[0], "err")
        finally:
            r.resume()
        self.assertEqual(p.publish("a", "back")[0], "ok")

    def test_restarted_server_costs_no_error(self):
        r = self.redis()
        p = self.publisher(f"redis://127.0.0.1:{r.port}")
        self.assertEqual(p.publish("a", "one")[0], "ok")
        r.kill()
        r.start()
        self.assertEqual(p.publish("a", "two")[0], "ok")   # kept link closed: one retry

    def test_down_server_is_an_error(self):
        r = self.redis()
        port = r.port
        r.kill()
        p = self.publisher(f"redis://127.0.0.1:{port}")
        res = p.publish("a", "x")
        self.assertEqual(res[0], "err")
        self.assertIn("Connection refused", res[2])

    def test_auth_refused_says_so(self):
        r = self.redis(password="right")
        p = self.publisher(f"redis://:wrong@127.0.0.1:{r.port}")
        res = p.publish("a", "x")
        self.assertEqual(res[0], "err")
        self.assertIn("AUTH refused", res[2])
        self.assertNotIn(":wrong", res[2])
        ok = self.publisher(f"redis://:right@127.0.0.1:{r.port}")
        self.assertEqual(ok.publish("a", "x")[0], "ok")

    def test_tls(self):
        certs = rharness.Certs()
        self.addCleanup(certs.cleanup)
        r = self.redis(tls=certs.server_files())
        cert, key = certs.client()
        p = self.publisher(f"rediss://localhost:{r.port}", "--tls-ca", certs.ca,
                           "--tls-cert", cert, "--tls-key", key)
        self.assertEqual(p.publish("a", "over tls")[:2], ("ok", 0))

    def test_threads_each_with_a_publisher(self):
        r = self.redis()
        p = self.publisher(f"redis://localhost:{r.port}")
        p.send("burst 4 500 t")
        m = p.wait_line(r"^burst ok=(\d+) err=(\d+)$", timeout=60)
        self.assertEqual((m.group(1), m.group(2)), ("2000", "0"))

    def test_dead_dns_is_bounded_by_the_timeout(self):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            self.fail("this test needs root and unshare(1) to fake a dead DNS server")
        cmd = ["unshare", "-mn", sys.executable, os.path.join(HERE, "netns_dns.py")]
        p = self.publisher("redis://dead-dns.test:6379", "--timeout-ms", 700, wrapper=cmd)
        for _ in range(3):
            t0 = time.monotonic()
            res = p.publish("a", "x")
            self.assertEqual(res[0], "err")
            self.assertIn("resolving", res[2])
            self.assertLess(time.monotonic() - t0, 4.0)   # not the resolver's 15 s


if __name__ == "__main__":
    rharness.main()
