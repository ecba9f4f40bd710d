"""Shared helpers for the tests of deploy/ and docs/operations.md.

Run with Debian's /usr/bin/python3 (python3-yaml, python3-websockets and
python3-jwt come from Debian). Servers are started on free loopback ports and
stopped by PID; nothing assumes a fixed port.
"""

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOCS = REPO / "docs"

# Exit status meson reads as "skipped".
EXIT_SKIP = 77


def is_catchup(frame):
    """Right after `subscribed`, livegate sends a `missed` invalidation per
    channel on which it cannot rule out a publish since the token's iat less
    LIVEGATE_RENDER_SLACK_MS; a livegate started a moment before the token
    was minted, as in these tests, cannot (contract 3a). Tests that read
    what follows skip it: whether it comes is a matter of timing."""
    return frame.get("type") == "invalidate" and frame.get("reason") == "missed"


async def recv_frame(ws, timeout):
    """The next JSON frame on a `websockets` connection, the catch-up skipped."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if not is_catchup(frame):
            return frame


def livegate_bin():
    """Path of the built livegate binary (LIVEGATE_BIN, set by meson)."""
    path = Path(os.environ.get("LIVEGATE_BIN", REPO / "build" / "livegate"))
    if not path.is_file() or not os.access(path, os.X_OK):
        raise AssertionError(f"livegate binary not found at {path}: build it (ninja -C build) "
                             "or set LIVEGATE_BIN")
    return path


_HELP_LINE = re.compile(r"^\s+(LIVEGATE_[A-Z0-9_]+)\s+--([a-z0-9-]+)\s")
_DEFAULT_LINE = re.compile(r"^\s+default:\s?(.*?)\s*$")


def help_settings():
    """Returns {LIVEGATE_VAR: default text} as `livegate --help` prints them.

    --help prints each setting as a line "  LIVEGATE_X  --x  meaning" followed
    by a line "  default: TEXT".
    """
    out = subprocess.run([str(livegate_bin()), "--help"], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    settings = {}
    current = None
    for line in out.splitlines():
        m = _HELP_LINE.match(line)
        if m:
            current = m.group(1)
            settings[current] = None
            continue
        m = _DEFAULT_LINE.match(line)
        if m and current and settings[current] is None:
            settings[current] = m.group(1)
            current = None
    if len(settings) < 10:
        raise AssertionError(f"could not read the settings from livegate --help:\n{out}")
    missing = [k for k, v in settings.items() if v is None]
    if missing:
        raise AssertionError(f"livegate --help gives no default line for {missing}:\n{out}")
    return settings


def multiarch():
    """The multiarch library folder's name (x86_64-linux-gnu on amd64)."""
    return subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True,
                          timeout=30, check=True).stdout.strip()


def free_port():
    """A TCP port free on 127.0.0.1 right now (the caller retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what, poll=0.05):
    """Polls predicate() every poll seconds until it returns a true value or
    timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_get(url, headers=None, timeout=5, context=None):
    """GET url; returns (status, headers, body) also for 4xx/5xx answers."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Process:
    """A child process with its output in a file, stopped by PID."""

    def __init__(self, name, argv, env=None, workdir=None):
        self.name = name
        self.logdir = Path(workdir or tempfile.mkdtemp(prefix=f"lg-{name}-"))
        self.logpath = self.logdir / f"{name}.log"
        self._log = open(self.logpath, "wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        try:
            return self.logpath.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL if it outlives timeout. Returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


def start_redis(workdir):
    """redis-server on a free loopback port, no persistence. Returns (Process, port)."""
    redis = shutil.which("redis-server")
    if not redis:
        raise AssertionError("redis-server not installed (apt-get install -y redis-server)")
    for _ in range(5):
        port = free_port()
        p = Process("redis", [redis, "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--daemonize", "no",
                              "--dir", str(workdir)], workdir=workdir)
        try:
            wait_for(lambda: port_open(port) or not p.alive(), 10, "redis-server to listen")
        except AssertionError:
            p.stop()
            raise
        if p.alive():
            return p, port
        p.stop()
    raise AssertionError("could not start redis-server on a free port")


def redis_cli(port, *args):
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                         capture_output=True, text=True, timeout=10, check=True)
    return out.stdout.strip()


def new_secret():
    """A random 48-byte key as text (livegate wants at least 32 bytes)."""
    return secrets.token_urlsafe(48)


def start_livegate(workdir, redis_port, extra_env=None, wrapper=()):
    """livegate on free loopback ports, ready (/readyz 200), run under the
    command prefix `wrapper` if given (strace, chroot).

    Returns (Process, public_port, private_port, settings) where settings are
    the LIVEGATE_* values it was started with.
    """
    last_log = ""
    for _ in range(3):
        public, private = free_port(), free_port()
        settings = {
            "LIVEGATE_SECRET": new_secret(),
            "LIVEGATE_API_KEY": secrets.token_hex(24),
            "LIVEGATE_REDIS_URL": f"redis://127.0.0.1:{redis_port}",
            "LIVEGATE_PUBLIC_ADDR": f"127.0.0.1:{public}",
            "LIVEGATE_PRIVATE_ADDR": f"127.0.0.1:{private}",
            "LIVEGATE_WORKERS": "1",
            "LIVEGATE_LOG_LEVEL": "debug",
        }
        settings.update(extra_env or {})
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEGATE_")}
        env.update(settings)
        p = Process("livegate", [*wrapper, str(livegate_bin())], env=env, workdir=workdir)

        def ready():
            if not p.alive():
                return "exited"
            try:
                status, _, _ = http_get(f"http://127.0.0.1:{private}/readyz", timeout=1)
            except OSError:
                return None
            return "ready" if status == 200 else None

        state = wait_for(ready, 15, "livegate /readyz to answer 200")
        if state == "ready":
            return p, public, private, settings
        last_log = p.log()
        p.stop()
    raise AssertionError(f"livegate did not start:\n{last_log}")


def metric_families(private_port):
    """({family: type}, {family: set of label names}) from GET /metrics."""
    status, _, body = http_get(f"http://127.0.0.1:{private_port}/metrics")
    if status != 200:
        raise AssertionError(f"GET /metrics answered {status}")
    families, labels = {}, {}
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            families[name] = kind
            labels.setdefault(name, set())
        elif line and not line.startswith("#"):
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s", line)
            if not m:
                continue
            name = m.group(1)
            if name not in families:
                name = re.sub(r"_(bucket|sum|count)$", "", name)
            names = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", m.group(2) or ""))
            labels.setdefault(name, set()).update(names)
    if not families:
        raise AssertionError("GET /metrics has no # TYPE lines")
    return families, labels


def live_metric_families():
    """Starts redis-server and livegate just long enough to read /metrics."""
    with tempfile.TemporaryDirectory(prefix="lg-metrics-") as tmp:
        redis, port = start_redis(tmp)
        try:
            lg, _, private, _ = start_livegate(tmp, port)
            try:
                return metric_families(private)
            finally:
                lg.stop()
        finally:
            redis.stop()


def main():
    """unittest.main, but exit 77 (meson: SKIP) when any test was skipped and
    none failed, so a check that could not run is never reported as a pass."""
    prog = unittest.main(exit=False, verbosity=2)
    result = prog.result
    if not result.wasSuccessful():
        sys.exit(1)
    # A class skipped as a whole (SkipTest in setUpClass) runs no test but
    # is a skip, not an empty run.
    if result.testsRun == 0 and not result.skipped:
        print("no test ran", file=sys.stderr)
        sys.exit(1)
    if result.skipped:
        for test, reason in result.skipped:
            print(f"SKIPPED {test.id()}: {reason}", file=sys.stderr)
        sys.exit(EXIT_SKIP)
    sys.exit(0)
