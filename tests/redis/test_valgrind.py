"""The drivers under valgrind (memcheck): a TLS subscriber link that
connects, delivers, loses its server, resolves a name on its resolver
thread, reconnects and resyncs, then frees everything on quit; and the
blocking publisher through a timeout, a reconnect and several threads. Any
memory error or leak fails."""

import shutil

import rharness

VALGRIND = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
            "--track-fds=no"]


class ValgrindTest(rharness.TestCase):

    def test_tls_link_life_cycle_is_clean(self):
        if not shutil.which("valgrind"):
            self.fail("valgrind is not installed (scripts/deps.sh installs it)")
        certs = rharness.Certs()
        self.addCleanup(certs.cleanup)
        r = self.redis(tls=certs.server_files(), password="pw")
        cert, key = certs.client()
        d = self.driver(f"rediss://:pw@localhost:{r.port}", "--tls-ca", certs.ca,
                        "--tls-cert", cert, "--tls-key", key, "--backoff-base-ms", 50,
                        "--backoff-cap-ms", 200, "--observe", prefix="v:", wrapper=VALGRIND)
        d.wait_line(r"^ready 1", timeout=60)
        d.send("sub 1 a,b")
        d.wait_line(r"^subscribed 1$")
        r.publish("v:a", "one")
        d.wait_line(r"^msg a 1 one$")
        r.kill()
        d.wait_line(r"^link down data")
        d.wait_line(r"^link retry data", timeout=30)
        r.start()
        d.wait_line(r"^resync a 1$", timeout=60)
        d.wait_line(r"^resync b 1$", timeout=30)
        r.publish("v:b", "two")
        d.wait_line(r"^msg b 1 two$")
        d.send("unsub 1")
        rc = d.quit(timeout=60)
        self.assertEqual(rc, 0, f"valgrind reported errors:\n{d.stderr()[-4000:]}")

    def published(self, p, payload, tries=10):
        return any(p.publish("a", payload, timeout=60)[0] == "ok" for _ in range(tries))

    def test_publisher_is_clean(self):
        certs = rharness.Certs()
        self.addCleanup(certs.cleanup)
        r = self.redis(tls=certs.server_files())
        cert, key = certs.client()
        p = self.publisher(f"rediss://localhost:{r.port}", "--tls-ca", certs.ca,
                           "--tls-cert", cert, "--tls-key", key, "--timeout-ms", 1500,
                           wrapper=VALGRIND)
        # Under valgrind a TLS connect may itself outlast the 1.5 s bound:
        # then the call fails in time, as it should, and the next one goes on.
        self.assertTrue(self.published(p, "one"))
        r.pause()
        try:
            self.assertEqual(p.publish("a", "hung", timeout=60)[0], "err")
        finally:
            r.resume()
        self.assertTrue(self.published(p, "two"))
        p.send("burst 2 20 t")
        m = p.wait_line(r"^burst ok=(\d+) err=(\d+)$", timeout=120)
        # every call answered; under valgrind some may have hit the bound
        self.assertEqual(int(m.group(1)) + int(m.group(2)), 40)
        self.assertGreater(int(m.group(1)), 0)
        rc = p.quit(timeout=60)
        self.assertEqual(rc, 0, f"valgrind reported errors:\n{p.stderr()[-4000:]}")


if __name__ == "__main__":
    rharness.main()
