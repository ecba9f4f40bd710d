"""Start-up and reload that catch mistakes: a secrets file that is not a
regular file, a public port another process holds, a misspelt variable, an
address that is not one. Contract: "Processes and ports"; issues 10 (7, 11)
and 14 (start-up traps)."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile

import harness
from harness import invalidate, mint_pyjwt, recv_json
from test_config import run_refused

KEY1 = "startup-test-key-one-0123456789abcdef"


def log_lines(lg):
    """livegate's stderr lines, without sanitizer runtime noise."""
    return [ln for ln in lg.log_text().splitlines()
            if ln.strip() and not re.match(r"==\d+==", ln)]


class StartupTestCase(harness.LivegateTestCase):

    def workdir(self):
        path = tempfile.mkdtemp(prefix="livegate-startup-")
        self.addCleanup(shutil.rmtree, path, True)
        return path

    def run_refused(self, env, args=()):
        """Starts livegate expecting it to refuse; returns (status, lines)."""
        return run_refused(self, env, args)


class SecretsFileNotRegularTest(StartupTestCase):
    """Issue 10, finding 7: a FIFO in the secrets file's place blocked main
    in open() on SIGHUP (SIGTERM and dead workers then went unhandled)."""

    def test_a_fifo_is_refused_at_start(self):
        fifo = os.path.join(self.workdir(), "keys")
        os.mkfifo(fifo)
        status, lines = self.run_refused({"LIVEGATE_SECRET": None,
                                          "LIVEGATE_SECRETS_FILE": fifo})
        self.assertGreater(status, 0, lines)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("LIVEGATE_SECRETS_FILE", lines[0])
        self.assertIn("not a regular file", lines[0])

    def test_a_directory_is_refused_at_start(self):
        status, lines = self.run_refused({"LIVEGATE_SECRET": None,
                                          "LIVEGATE_SECRETS_FILE": self.workdir()})
        self.assertGreater(status, 0, lines)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("LIVEGATE_SECRETS_FILE", lines[0])

    async def test_a_fifo_on_sighup_blocks_nobody(self):
        redis = self.start_redis()
        keys = os.path.join(self.workdir(), "keys")
        with open(keys, "w") as f:
            f.write(f"k1:{KEY1}\n")
        lg = self.start_livegate(redis, env={"LIVEGATE_SECRET": None,
                                             "LIVEGATE_SECRETS_FILE": keys})
        token = mint_pyjwt(["todos"], secret=KEY1, headers={"kid": "k1"})
        # The FIFO takes the file's place the way a rotation tool's rename
        # would; nobody ever writes to it.
        fifo = keys + ".fifo"
        os.mkfifo(fifo)
        os.replace(fifo, keys)
        lg.proc.send_signal(signal.SIGHUP)
        # Main and the one worker each refuse it, without waiting for a writer.
        harness.wait_until(lambda: lg.log_text().count("keys_reload_failed") >= 2, 10,
                           what="keys_reload_failed from main and the worker")
        self.assertIn("not a regular file", lg.log_text())
        self.assertEqual(lg.http_status("/healthz"), 200)
        # The old keys stay in force on both sides.
        ws, _ = await self.open_sub(lg, token)
        redis.publish("todos", "still here")
        self.assertFrame(await recv_json(ws), invalidate("todos", "still here"))
        self.assertEqual(lg.api("POST", "/v1/tokens", {"channels": ["todos"]})[0], 201)
        await ws.close()
        # Signals are still handled: SIGTERM drains and exits 0.
        self.assertEqual(lg.stop(), 0)


class PublicPortInUseTest(StartupTestCase):
    """Issue 10 finding 11: with SO_REUSEPORT a second livegate on a port in
    use started and took a share of the connections (its clients got 4001
    with other keys). Contract: a public port that another process already
    holds fails the start."""

    async def test_a_second_livegate_is_refused(self):
        redis = self.start_redis()
        first = self.start_livegate(redis, env={"LIVEGATE_WORKERS": "2"})
        status, lines = self.run_refused({
            "LIVEGATE_PUBLIC_ADDR": f"127.0.0.1:{first.public_port}",
            "LIVEGATE_REDIS_URL": f"redis://127.0.0.1:{redis.port}"})
        self.assertGreater(status, 0, lines)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("LIVEGATE_PUBLIC_ADDR", lines[0])
        self.assertIn("already in use", lines[0])
        # The first one, whose two workers share the port, is unaffected.
        ws, _ = await self.open_sub(first, first.mint_api(["todos"]))
        redis.publish("todos", "first")
        self.assertFrame(await recv_json(ws), invalidate("todos", "first"))

    def test_a_foreign_reuseport_listener_is_refused(self):
        """A process that set SO_REUSEPORT itself (as livegate's workers do)
        would be joined silently by a plain SO_REUSEPORT bind."""
        port = harness.free_port()
        other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(other.close)
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", port))
        other.listen(8)
        status, lines = self.run_refused({"LIVEGATE_PUBLIC_ADDR": f"127.0.0.1:{port}"})
        self.assertGreater(status, 0, lines)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("already in use", lines[0])

    def test_a_port_left_in_time_wait_is_not_in_use(self):
        """A restart right after a stop finds the port's old connections in
        TIME_WAIT: that must not count as in use."""
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        # livegate closes first (it stops while the client still holds the
        # connection), so its end of the connection stays in TIME_WAIT.
        with socket.create_connection(("127.0.0.1", lg.public_port)) as c:
            c.sendall(b"HEAD /livegate.js HTTP/1.1\r\nHost: x\r\n\r\n")
            c.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head:
                head += c.recv(4096)
            self.assertEqual(lg.stop(), 0)
            self.assertEqual(c.recv(4096), b"", "livegate closed its end first")
        ss = subprocess.run(["ss", "-Htan", "state", "time-wait", "sport", f"= :{lg.public_port}"],
                            capture_output=True, text=True, timeout=5).stdout
        self.assertTrue(ss.strip(), "no TIME_WAIT connection: the test proves nothing")
        again = harness.Livegate(redis, env={
            "LIVEGATE_PUBLIC_ADDR": f"127.0.0.1:{lg.public_port}"})
        again.public_port = lg.public_port
        self.addCleanup(shutil.rmtree, again.workdir, True)
        self.addCleanup(again.stop)
        again.start()


class UnknownVariableTest(StartupTestCase):
    """Issue 14: LIVEGATE_PUBLIC_ADR was ignored without a word and livegate
    bound 0.0.0.0:8080. Contract v2: an unknown LIVEGATE_* variable is named
    in a warning at start."""

    def test_a_misspelt_variable_is_named_with_a_suggestion(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={
            "LIVEGATE_PUBLIC_ADR": "127.0.0.1:1",
            "LIVEGATE_FROBNICATE": "secret-looking-value-0123",
            "LIVEGATE_LOG_LEVEL": "warn"})
        warnings = [ln for ln in log_lines(lg) if "event=unknown_setting" in ln]
        self.assertEqual(len(warnings), 2, log_lines(lg))
        adr = [ln for ln in warnings if "variable=LIVEGATE_PUBLIC_ADR " in ln]
        self.assertEqual(len(adr), 1, warnings)
        self.assertIn('hint="did you mean LIVEGATE_PUBLIC_ADDR?"', adr[0])
        self.assertIn("level=warn", adr[0])
        self.assertIn("proc=main", adr[0], "warned once, by main, not by every worker")
        self.assertTrue(any("variable=LIVEGATE_FROBNICATE " in ln for ln in warnings))
        # Values are never printed: an unknown variable may hold a secret.
        self.assertNotIn("secret-looking-value-0123", lg.log_text())
        self.assertNotIn("127.0.0.1:1", lg.log_text())

    def test_known_and_internal_variables_raise_no_warning(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_WORKERS": "2"})
        self.assertNotIn("unknown_setting", lg.log_text())


class AddressRuleTest(StartupTestCase):
    """Issue 14: "localhost:8621" was accepted though the message said
    IPv4:port. The rule now says what is taken: an IP address, or
    localhost; other host names are refused, not resolved."""

    async def test_localhost_listens_on_loopback(self):
        redis = self.start_redis()
        port = harness.free_port()
        lg = harness.Livegate(redis, env={"LIVEGATE_PUBLIC_ADDR": f"localhost:{port}"})
        lg.public_port = port
        self.addCleanup(shutil.rmtree, lg.workdir, True)
        self.addCleanup(lg.stop)
        lg.start()
        ws, _ = await self.open_sub(lg, mint_pyjwt(["todos"]))
        redis.publish("todos", "via localhost")
        self.assertFrame(await recv_json(ws), invalidate("todos", "via localhost"))

    def test_a_host_name_is_refused_saying_why(self):
        status, lines = self.run_refused({"LIVEGATE_PRIVATE_ADDR": "example.invalid:8081"})
        self.assertGreater(status, 0, lines)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("LIVEGATE_PRIVATE_ADDR: example.invalid is not an IP address", lines[0])
        self.assertIn("localhost:port", lines[0])


if __name__ == "__main__":
    harness.main()
