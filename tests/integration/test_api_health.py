"""Liveness never waits for Redis or for other clients (issue 10, finding 4):
/healthz answers while Redis hangs under concurrent publishers and while
~1,000 unauthenticated connections stall; publishes answer 503 promptly
while Redis does not answer. The probe is the one the container ships
(deploy/healthcheck.sh, `read -t 2`). Contract: "Private API"."""

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import harness
from harness import API_KEY

PROBE = Path(__file__).resolve().parents[2] / "deploy" / "healthcheck.sh"
CLIENT_TIMEOUT = 4.0   # a publisher's own patience; before the fix they waited ~6 s


def probe(lg):
    """Runs the shipped container probe; returns its exit status."""
    env = dict(os.environ, LIVEGATE_PRIVATE_ADDR=f"127.0.0.1:{lg.private_port}")
    return subprocess.run(["bash", str(PROBE)], env=env, capture_output=True,
                          timeout=30).returncode


def publish(lg, channel="todos", data=1, timeout=CLIENT_TIMEOUT):
    """(status, headers, body) of one POST /v1/publish, or (None, {}, error
    text) when the client gave up waiting."""
    try:
        return lg.http("POST", "/v1/publish", {"channel": channel, "data": data},
                       headers={"Authorization": f"Bearer {API_KEY}"}, timeout=timeout)
    except (OSError, harness.http.client.HTTPException) as e:
        return None, {}, str(e).encode()


class Publishers:
    """n threads publishing in a loop until stopped, recording answers."""

    def __init__(self, lg, n):
        self.lg, self.stop_flag, self.results = lg, threading.Event(), []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(n)]

    def _run(self):
        while not self.stop_flag.is_set():
            status, headers, body = publish(self.lg)
            with self.lock:
                self.results.append((status, headers, body))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=CLIENT_TIMEOUT + 5)


class RedisHangsTest(harness.LivegateTestCase):

    def setUp(self):
        self.redis = self.start_redis()
        self.lg = self.start_livegate(self.redis)
        self.assertEqual(publish(self.lg)[0], 202)

    def stop_redis(self):
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        self.addCleanup(os.kill, self.redis.proc.pid, signal.SIGCONT)

    def test_healthz_answers_while_publishers_wait_on_a_hung_redis(self):
        self.stop_redis()
        with Publishers(self.lg, 6) as pubs:
            harness.wait_until(lambda: len(pubs.results) >= 6, 10, what="first publish answers")
            for i in range(10):
                with self.subTest(probe=i):
                    self.assertEqual(probe(self.lg), 0, "the container probe failed")
                status, _, _ = self.lg.http("GET", "/healthz", timeout=2)
                self.assertEqual(status, 200)
                time.sleep(0.1)
        self.assertGreater(len(pubs.results), 6)
        for status, headers, body in pubs.results:
            # Every publish was answered (none left to its client's timeout),
            # and the answer says Redis did not take it.
            self.assertEqual(status, 503, body)
            self.assertEqual(headers.get("retry-after"), "1")
            self.assertIn(b'"error":"redis_unavailable"', body)
        self.assertIn("event=publish_paused", self.lg.log_text())
        # /readyz is Redis's business, /healthz is not: it stayed 200 above.

    def test_publishing_resumes_when_redis_answers_again(self):
        self.stop_redis()
        status, _, body = publish(self.lg)
        self.assertEqual(status, 503, body)
        os.kill(self.redis.proc.pid, signal.SIGCONT)
        harness.wait_until(lambda: publish(self.lg)[0] == 202, 10,
                           what="a publish taken after Redis came back")
        self.assertIn("event=publish_resumed", self.lg.log_text())
        m = self.lg.metrics()
        self.assertGreaterEqual(m.get("livegate_api_publish_errors_total", 0), 1)


def open_stalled(port, n):
    """n connections that send half a request line and then nothing."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST /v1/tok")
        socks.append(s)
    return socks


def api_connection_limit(lg):
    """The private API's connection limit for this process: 8192, or less
    when its open-file limit is lower (api.h: LG_API_CONNECTIONS)."""
    with open(f"/proc/{lg.proc.pid}/limits") as f:
        soft = int(re.search(r"Max open files\s+(\d+)", f.read()).group(1))
    return min(8192, soft - 128 - 1)


class StalledClientsTest(harness.LivegateTestCase):

    def setUp(self):
        self.redis = self.start_redis()
        self.lg = self.start_livegate(self.redis)

    def test_a_thousand_stalled_connections_leave_room(self):
        """~1,030 stalled connections took every slot (1,024) before."""
        socks = open_stalled(self.lg.private_port, 1100)
        try:
            time.sleep(0.5)   # let libmicrohttpd take them all
            self.assertEqual(probe(self.lg), 0, "the container probe failed")
            status, _, body = publish(self.lg)
            self.assertEqual(status, 202, body)
        finally:
            for s in socks:
                s.close()

    def test_at_the_limit_new_connections_wait_and_the_log_stays_small(self):
        limit = api_connection_limit(self.lg)
        socks = open_stalled(self.lg.private_port, limit + 20)
        try:
            # Past the limit a connection waits in the kernel's backlog for
            # a slot: the probe's own 2 s run out (documented in
            # docs/operations.md, "Private API limits").
            self.assertEqual(probe(self.lg), 1)
        finally:
            for s in socks:
                s.close()
        # Slots come back as soon as the stalled clients go.
        harness.wait_until(lambda: probe(self.lg) == 0, 10, what="the probe passing again")
        # One libmicrohttpd line per refused or dropped connection would be
        # thousands of lines: rate-limited, the rest counted.
        mhd = [ln for ln in self.lg.log_text().splitlines() if "event=mhd" in ln]
        self.assertLess(len(mhd), 100, mhd[:5])

    def test_idle_connections_are_closed(self):
        """A stalled connection holds its slot for the idle timeout only."""
        s = open_stalled(self.lg.private_port, 1)[0]
        # The idle timeout is 10 s (api.h); recv raises if nothing happens
        # for three times that.
        s.settimeout(30)
        try:
            self.assertEqual(s.recv(100), b"", "closed without an answer")
        except ConnectionResetError:
            pass
        finally:
            s.close()


if __name__ == "__main__":
    harness.main()
