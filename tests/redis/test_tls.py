"""rediss://: TLS with a test CA made here. A good certificate works (with a
client certificate the server requires); a certificate for another host
name or address is refused; a server that requires a client certificate
refuses a client without one; a CA the client does not trust is refused.
Every refusal is reported as a TLS failure and the link never comes up."""

import rharness


class TlsTest(rharness.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.certs = rharness.Certs()

    @classmethod
    def tearDownClass(cls):
        cls.certs.cleanup()

    def tls_args(self, client=True, ca=True):
        args = []
        if ca:
            args += ["--tls-ca", self.certs.ca]
        if client:
            cert, key = self.certs.client()
            args += ["--tls-cert", cert, "--tls-key", key]
        return args

    def test_good_certificate_by_name_and_by_address(self):
        r = self.redis(tls=self.certs.server_files(), password="pw")
        for host in ("localhost", "127.0.0.1"):
            d = self.driver(f"rediss://:pw@{host}:{r.port}", *self.tls_args(), prefix="t:")
            d.wait_line(r"^link up data %s:%d" % (host.replace(".", r"\."), r.port))
            d.wait_line(r"^ready 1")
            d.send("sub 1 a")
            d.wait_line(r"^subscribed 1$")
            self.assertEqual(r.publish("t:a", "over tls"), 1)
            d.wait_line(r"^msg a 1 over tls$")
            self.assertEqual(d.quit(), 0)

    def test_large_messages_over_tls(self):
        r = self.redis(tls=self.certs.server_files())
        d = self.driver(f"rediss://localhost:{r.port}", *self.tls_args(), "--no-msgs")
        d.wait_line(r"^ready 1")
        big = "y" * 200000          # many TLS records per message
        for _ in range(20):
            r.publish("big", big)
        d.send("stats")
        rharness.wait_until(lambda: d.send("stats") or
                            d.matching(r"^stats messages=20 "), 10, "20 big messages")

    def test_wrong_host_name_is_refused(self):
        files = self.certs.server_files(sans=("DNS:other.test", "IP:10.9.9.9"), name="other")
        r = self.redis(tls=files)
        for host, why in (("localhost", "hostname mismatch"),
                          ("127.0.0.1", "IP address mismatch")):
            d = self.driver(f"rediss://{host}:{r.port}", *self.tls_args())
            m = d.wait_line(r"^link retry data .* cause=(\S+) retry=\d+ detail=(.*)")
            self.assertEqual(m.group(1), "tls")
            self.assertIn(why, m.group(2))
            self.assertEqual(d.matching(r"^link up"), [])

    def test_client_certificate_required(self):
        r = self.redis(tls=self.certs.server_files(require_client=True))
        d = self.driver(f"rediss://localhost:{r.port}", *self.tls_args(client=False))
        m = d.wait_line(r"^link retry data .* cause=(\S+) retry=\d+ detail=(.*)")
        # TLS 1.3 finishes the client's handshake before the server checks;
        # its alert then arrives on the first read.
        self.assertIn(m.group(1), ("tls", "io", "eof"))
        self.assertIn("certificate", m.group(2))
        self.assertEqual(d.matching(r"^link up"), [])

    def test_untrusted_ca_is_refused(self):
        r = self.redis(tls=self.certs.server_files())
        d = self.driver(f"rediss://localhost:{r.port}", *self.tls_args(ca=False))
        m = d.wait_line(r"^link retry data .* cause=(\S+) retry=\d+ detail=(.*)")
        self.assertEqual(m.group(1), "tls")
        self.assertIn("certificate verify failed", m.group(2))

    def test_bad_tls_files_fail_the_start(self):
        d = self.driver("rediss://localhost:1", "--tls-ca", "/nonexistent/ca.pem")
        m = d.wait_line(r"^error start: (.*)")
        self.assertIn("CA file", m.group(1))
        cert, _ = self.certs.client()
        d = self.driver("rediss://localhost:1", "--tls-cert", cert)
        m = d.wait_line(r"^error start: (.*)")
        self.assertIn("both a certificate and a key", m.group(1))


if __name__ == "__main__":
    rharness.main()
