"""Shared harness for livegate's integration tests.

Starts real processes on free loopback ports and stops them by PID:
  * RedisServer: a throwaway redis-server (no persistence), optional password;
  * Livegate: the real binary (LIVEGATE_BIN or argv[1]), configured through
    environment variables exactly as a user would, stderr logged to a file.
Helpers speak to them the way users do: the private API over HTTP, tokens
from the API or from PyJWT (an independent JWT implementation), WebSocket
clients from python3-websockets, PUBLISH through redis-cli.

Run with Debian's /usr/bin/python3 (it sees python3-websockets and python3-jwt):
  meson test -C build --suite integration
  LIVEGATE_BIN=build/livegate /usr/bin/python3 tests/integration/test_api.py
  /usr/bin/python3 tests/integration/test_api.py build/livegate TokensTest
A failing test prints the tail of livegate's log (run at LIVEGATE_LOG_LEVEL=debug).
"""

import asyncio
import base64
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import jwt  # PyJWT: independent of livegate's own HS256 code
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatusCode  # noqa: F401  (re-exported)

# The secret must be at least 32 bytes (contract); the API key is arbitrary.
SECRET = "integration-test-secret-0123456789abcdef"
API_KEY = "integration-test-api-key"

START_TIMEOUT = 10.0     # seconds for /healthz and /readyz to answer 200
STOP_TIMEOUT = 10.0      # seconds between SIGTERM and SIGKILL
RECV_TIMEOUT = 5.0       # default wait for one WebSocket frame
REDIS_START_TIMEOUT = 5.0
LOG_TAIL_LINES = 60      # lines of livegate's log shown when a test fails

_used_ports = set()


def livegate_bin():
    """Path of the binary under test: $LIVEGATE_BIN, else the first argument."""
    path = os.environ.get("LIVEGATE_BIN")
    if not path and len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        path = sys.argv.pop(1)  # keep unittest's own argument parsing clean
        os.environ["LIVEGATE_BIN"] = path
    if not path:
        raise RuntimeError("set LIVEGATE_BIN to the livegate binary")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"LIVEGATE_BIN={path} is not an executable")
    return path


def free_port():
    """A loopback port nobody listens on right now, never handed out twice
    by this process (two servers of one test must not collide)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise RuntimeError("no free loopback port found")


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls predicate() until it returns a truthy value or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def stop_pid(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT, group=False):
    """Sends sig to proc (or its process group), waits, then SIGKILLs.
    Returns the exit status (negative for a signal, as subprocess does)."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except ProcessLookupError:
            pass
        return proc.wait(timeout=5)


# --------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------

class RedisServer:
    """A redis-server on 127.0.0.1:port with no persistence."""

    def __init__(self, port=None, password=None):
        self.port = port or free_port()
        self.password = password
        self.proc = None
        # A port we picked may be taken by a parallel test between probe and
        # bind; then (and only then) the first start may move to another.
        self._may_move = port is None

    def start(self):
        for attempt in range(3):
            try:
                return self._start_once()
            except RuntimeError:
                if not self._may_move or attempt == 2:
                    raise
                self.port = free_port()

    def _start_once(self):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server not found (apt-get install redis-server)")
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--daemonize", "no",
               "--loglevel", "warning"]
        if self.password:
            cmd += ["--requirepass", self.password]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            return self.ping()
        wait_until(ready, REDIS_START_TIMEOUT, what=f"redis-server on port {self.port}")
        self._may_move = False  # restarts keep the port (outage tests)
        return self

    def ping(self):
        try:
            out = self.cli("PING", timeout=2)
        except (subprocess.SubprocessError, OSError):
            return False
        return out.strip() == "PONG"

    def cli(self, *args, timeout=5):
        """Runs redis-cli against this server and returns its stdout text."""
        cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)]
        if self.password:
            cmd += ["-a", self.password, "--no-auth-warning"]
        cmd += [str(a) for a in args]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return res.stdout

    def publish(self, channel, payload):
        """PUBLISH through redis-cli, as the contract's users do; returns
        the receiver count Redis answered."""
        out = self.cli("PUBLISH", channel, payload).strip()
        return int(out)

    def publish_many(self, channel, payloads, timeout=30):
        """PUBLISHes every payload in one pipelined burst (redis-cli would
        be far too slow for hundreds); returns Redis's receiver counts."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            out = []
            if self.password:
                out.append(resp_command("AUTH", self.password))
            out += [resp_command("PUBLISH", channel, p) for p in payloads]
            s.sendall(b"".join(out))
            want = len(out)
            buf = b""
            while buf.count(b"\r\n") < want:
                chunk = s.recv(65536)
                if not chunk:
                    raise AssertionError("Redis closed the connection")
                buf += chunk
        lines = buf.split(b"\r\n")[:want]
        if self.password:
            lines = lines[1:]
        if not all(ln.startswith(b":") for ln in lines):
            raise AssertionError(f"unexpected PUBLISH replies: {lines[:3]!r}")
        return [int(ln[1:]) for ln in lines]

    def numpat(self):
        """PUBSUB NUMPAT: the distinct patterns subscribed to (livegate's
        workers all hold the same one, its channel prefix)."""
        return int(self.cli("PUBSUB", "NUMPAT").strip())

    def numsub(self, channel):
        """PUBSUB NUMSUB for one channel: Redis connections subscribed to it."""
        lines = self.cli("PUBSUB", "NUMSUB", channel).split("\n")
        if len(lines) < 2 or lines[0] != channel:
            raise AssertionError(f"unexpected PUBSUB NUMSUB reply: {lines!r}")
        return int(lines[1])

    def kill(self):
        """SIGKILL: Redis vanishes without a goodbye, like a crash."""
        if self.proc is not None:
            stop_pid(self.proc, sig=signal.SIGKILL, timeout=5)

    def stop(self):
        if self.proc is not None:
            stop_pid(self.proc, timeout=5)


def resp_command(*args):
    """One Redis command in RESP, the protocol's wire form."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


class RedisSubscriber:
    """A plain RESP client SUBSCRIBEd to channels, to see exactly what bytes
    were published (e.g. the compact JSON of /v1/publish)."""

    def __init__(self, redis, *channels):
        self.sock = socket.create_connection(("127.0.0.1", redis.port), timeout=5)
        self.buf = b""
        if redis.password:
            self._send("AUTH", redis.password)
            reply = self._read_reply(5)
            if reply != "OK":
                raise AssertionError(f"AUTH failed: {reply!r}")
        self._send("SUBSCRIBE", *channels)
        for _ in channels:
            reply = self._read_reply(5)
            if not (isinstance(reply, list) and reply[0] == b"subscribe"):
                raise AssertionError(f"unexpected SUBSCRIBE reply: {reply!r}")

    def _send(self, *args):
        self.sock.sendall(resp_command(*args))

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("timed out reading from Redis")
        r, _, _ = select.select([self.sock], [], [], remaining)
        if not r:
            raise AssertionError("timed out reading from Redis")
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError("Redis closed the connection")
        self.buf += chunk

    def _line(self, deadline):
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bulk(self, n, deadline):
        while len(self.buf) < n + 2:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _read_reply(self, timeout, deadline=None):
        deadline = deadline or time.monotonic() + timeout
        line = self._line(deadline)
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise AssertionError(f"Redis error: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._bulk(n, deadline)
        if kind == b"*":
            return [self._read_reply(timeout, deadline) for _ in range(int(rest))]
        raise AssertionError(f"unexpected RESP line {line!r}")

    def next_message(self, timeout=RECV_TIMEOUT):
        """Returns (channel, payload bytes) of the next published message."""
        reply = self._read_reply(timeout)
        if not (isinstance(reply, list) and reply[0] == b"message"):
            raise AssertionError(f"expected a message, got {reply!r}")
        return reply[1].decode(), reply[2]

    def close(self):
        self.sock.close()


# --------------------------------------------------------------------------
# livegate
# --------------------------------------------------------------------------

class Livegate:
    """The real livegate binary, configured through the environment."""

    def __init__(self, redis=None, env=None, args=None, workdir=None):
        self.public_port = free_port()
        self.private_port = free_port()
        self.workdir = workdir or tempfile.mkdtemp(prefix="livegate-it-")
        self.log_path = os.path.join(self.workdir, "livegate.log")
        self.proc = None
        self.args = list(args or [])
        base = {
            "LIVEGATE_SECRET": SECRET,
            "LIVEGATE_API_KEY": API_KEY,
            "LIVEGATE_PUBLIC_ADDR": f"127.0.0.1:{self.public_port}",
            "LIVEGATE_PRIVATE_ADDR": f"127.0.0.1:{self.private_port}",
            "LIVEGATE_WORKERS": "1",
            "LIVEGATE_LOG_LEVEL": "debug",
            # The catch-up (a "missed" invalidation after 'subscribed' for a
            # publish since the page's render, or where livegate cannot
            # know because it started after it) would meet every test that
            # subscribes right after starting livegate: without slack, a
            # token minted after /readyz is 200 is always known. The
            # catch-up's own tests (test_catchup.py) set what they test.
            "LIVEGATE_RENDER_SLACK_MS": "0",
        }
        if redis is not None:
            base["LIVEGATE_REDIS_URL"] = f"redis://127.0.0.1:{redis.port}"
        base.update(env or {})
        # A value of None removes a variable (e.g. to test a missing secret).
        self.env_vars = {k: v for k, v in base.items() if v is not None}

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.public_port}/ws"

    def process_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEGATE_")}
        env.update(self.env_vars)
        return env

    def spawn(self):
        """Starts the process without waiting for it to become ready."""
        log = open(self.log_path, "ab")
        try:
            # Own session/process group: livegate may fork workers, and a
            # SIGKILL fallback must not leave them behind holding our ports.
            self.proc = subprocess.Popen([livegate_bin()] + self.args,
                                         env=self.process_env(),
                                         stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         start_new_session=True)
        finally:
            log.close()
        return self

    def start(self, ready=True):
        """Spawns livegate and waits for /healthz (and /readyz) to say 200.
        If a port we picked was taken meanwhile by a parallel test, retries
        on fresh ports (only ports this harness chose)."""
        for attempt in range(3):
            try:
                return self._start_once(ready)
            except AssertionError:
                moved = self._move_ports_if_taken()
                if not moved or attempt == 2:
                    raise

    def _move_ports_if_taken(self):
        if self.proc is None or self.proc.poll() is None:
            return False
        if "already in use" not in self.log_text():
            return False
        ours = {"LIVEGATE_PUBLIC_ADDR": f"127.0.0.1:{self.public_port}",
                "LIVEGATE_PRIVATE_ADDR": f"127.0.0.1:{self.private_port}"}
        if any(self.env_vars.get(k) != v for k, v in ours.items()):
            return False  # the test chose the addresses itself
        self.public_port, self.private_port = free_port(), free_port()
        self.env_vars["LIVEGATE_PUBLIC_ADDR"] = f"127.0.0.1:{self.public_port}"
        self.env_vars["LIVEGATE_PRIVATE_ADDR"] = f"127.0.0.1:{self.private_port}"
        os.replace(self.log_path, self.log_path + ".port-clash")
        return True

    def _start_once(self, ready):
        self.spawn()

        def status_is_200(path):
            def check():
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"livegate exited with {self.proc.returncode} during start:\n"
                        + self.log_tail())
                return self.http_status(path) == 200
            return check
        try:
            wait_until(status_is_200("/healthz"), START_TIMEOUT, what="/healthz 200")
            if ready:
                wait_until(status_is_200("/readyz"), START_TIMEOUT, what="/readyz 200")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- livegate log ---\n{self.log_tail()}") from None
        return self

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Stops livegate by PID; SIGKILLs the whole group after timeout.
        Returns the exit status."""
        if self.proc is None:
            return None
        status = stop_pid(self.proc, sig=sig, timeout=timeout)
        # Reap any worker left behind in the group (only if something is
        # wrong: a clean livegate stops its workers itself).
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.check_sanitizers()
        return status

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

    def check_sanitizers(self):
        """In a -Db_sanitize build a report does not change the exit status
        of every process (workers, leaks at exit): fail on the report itself."""
        log = self.log_text()
        for mark in self.SANITIZER_MARKS:
            if mark in log:
                at = log.index(mark)
                raise AssertionError(f"sanitizer report in livegate's log:\n{log[max(0, at - 200):at + 3000]}")

    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=LOG_TAIL_LINES):
        return "\n".join(self.log_text().splitlines()[-n:])

    # -- private API ------------------------------------------------------

    def http(self, method, path, body=None, headers=None, port=None, timeout=5):
        """One HTTP request; returns (status, headers dict, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", port or self.private_port,
                                          timeout=timeout)
        try:
            data = body
            if body is not None and not isinstance(body, (bytes, str)):
                data = json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            hdrs = dict(headers or {})
            if data is not None:
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def http_status(self, path):
        try:
            return self.http("GET", path, timeout=1)[0]
        except OSError:
            return None

    def api(self, method, path, body=None, key=API_KEY):
        """A private API call with the bearer key (key=None sends none).
        Returns (status, parsed JSON or None when the body is not JSON)."""
        headers = {}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        status, _, raw = self.http(method, path, body=body, headers=headers)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, parsed

    def mint_api(self, channels, ttl=None, sub=None, iat=None):
        """A token from POST /v1/tokens; fails the test if it is not a 201."""
        body = {"channels": channels}
        if iat is not None:
            body["iat"] = iat
        if ttl is not None:
            body["ttl"] = ttl
        if sub is not None:
            body["sub"] = sub
        status, reply = self.api("POST", "/v1/tokens", body)
        if status != 201 or not isinstance(reply, dict) or "token" not in reply:
            raise AssertionError(f"POST /v1/tokens {body} -> {status} {reply}")
        return reply["token"]

    def worker_pids(self):
        """PIDs of the worker processes (children of the main pid)."""
        pids = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                        pids.append(int(pid))
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
        return pids

    def metrics(self):
        """GET /metrics parsed into {series: value}, where series is the
        name with its labels as printed, e.g. 'x_total{reason="expired"}'."""
        status, _, raw = self.http("GET", "/metrics")
        if status != 200:
            raise AssertionError(f"GET /metrics -> {status}")
        return parse_metrics(raw.decode())


_METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)')


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _METRIC_LINE.match(line)
        if not m:
            raise AssertionError(f"not a Prometheus sample line: {line!r}")
        out[m.group(1)] = float(m.group(2))
    return out


# --------------------------------------------------------------------------
# tokens minted independently of livegate
# --------------------------------------------------------------------------

def mint_pyjwt(channels, secret=SECRET, ttl=600, headers=None, **claims):
    """An HS256 token made by PyJWT. claims override/extend the defaults;
    a claim given as None is left out. No iat unless given: a token without
    one gets no catch-up (an iat in whole seconds would lie up to a second
    before the render, inside a livegate's first second of watching)."""
    now = int(time.time())
    payload = {"channels": channels, "exp": now + ttl}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers)


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_alg_none(channels, ttl=600):
    """An unsigned token (alg none), built by hand."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}))
    payload = b64url(json.dumps({"channels": channels, "exp": int(time.time()) + ttl}))
    return f"{header}.{payload}."


def tamper_signature(token):
    """The same token with a different (still well-formed) signature."""
    head, payload, sig = token.split(".")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    return f"{head}.{payload}.{flipped}"


# --------------------------------------------------------------------------
# WebSocket helpers
# --------------------------------------------------------------------------

async def connect(url, origin=None, extra_headers=None):
    """Opens a WebSocket like a non-browser client (no Origin unless given).
    Library keepalive pings are off so the frame counts are ours alone."""
    return await websockets.connect(url, origin=origin, extra_headers=extra_headers,
                                    compression=None, ping_interval=None,
                                    open_timeout=5, close_timeout=2)


def raw_handshake(port, path="/ws", origin=None, timeout=5):
    """A WebSocket upgrade request over a plain socket, to see the server's
    answer exactly as sent. Returns (status line, status code, headers)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
             "Sec-WebSocket-Version: 13"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    parts = head[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise AssertionError(f"not an HTTP response: {data[:200]!r}")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return head[0], int(parts[1]), headers


class RawWsClient:
    """A minimal blocking WebSocket client over a plain socket that does only
    what the test says: in particular it never answers pings by itself."""

    def __init__(self, port, path="/ws", timeout=5, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # Before connect, so the TCP window really is this small.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""
        req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError(f"handshake: connection closed after {self.buf!r}")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0] + b" ":
            raise AssertionError(f"handshake refused: {head[:200]!r}")

    def send_text(self, text):
        self.sock.sendall(masked_text_frame(text))

    def _need(self, n, deadline):
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no frame in time")
            # poll, not select: a test may hold more than 1024 sockets.
            p = select.poll()
            p.register(self.sock, select.POLLIN)
            if not p.poll(remaining * 1000):
                raise TimeoutError("no frame in time")
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise EOFError("connection closed by the server")
            self.buf += chunk

    def recv_frame(self, timeout):
        """Returns (opcode, payload bytes) of the next frame (no fragments
        expected from livegate). Raises TimeoutError or EOFError."""
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        opcode, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
        pos = 2
        if n == 126:
            self._need(4, deadline)
            n, pos = int.from_bytes(self.buf[2:4], "big"), 4
        elif n == 127:
            self._need(10, deadline)
            n, pos = int.from_bytes(self.buf[2:10], "big"), 10
        self._need(pos + n, deadline)
        payload, self.buf = self.buf[pos:pos + n], self.buf[pos + n:]
        return opcode, payload

    def close(self):
        self.sock.close()


async def send_json(ws, obj):
    await ws.send(json.dumps(obj))


def masked_frame(opcode, payload):
    """One whole client-to-server frame (RFC 6455 5.2), masked as clients must."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def masked_text_frame(text):
    return masked_frame(0x1, text.encode())


async def send_text_burst(ws, texts):
    """Writes several text frames with one socket write, so the server reads
    them together (websockets itself writes frame by frame)."""
    ws.transport.write(b"".join(masked_text_frame(t) for t in texts))
    await ws.drain()


async def recv_json(ws, timeout=RECV_TIMEOUT):
    """The next frame, which must be a JSON text frame."""
    msg = await asyncio.wait_for(ws.recv(), timeout)
    if not isinstance(msg, str):
        raise AssertionError(f"expected a text frame, got binary {msg!r}")
    return json.loads(msg)


async def subscribe(url, token, origin=None, timeout=RECV_TIMEOUT):
    """Connects, sends subscribe, returns (ws, the 'subscribed' frame)."""
    ws = await connect(url, origin=origin)
    await send_json(ws, {"type": "subscribe", "token": token})
    frame = await recv_json(ws, timeout)
    if frame.get("type") != "subscribed":
        await ws.close()
        raise AssertionError(f"expected a subscribed frame, got {frame!r}")
    return ws, frame


async def expect_close(ws, timeout=RECV_TIMEOUT):
    """Waits for the server to close; returns (close code or None when the
    connection dropped without a close frame, frames received before)."""
    frames = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"no close within {timeout}s; frames: {frames!r}")
        try:
            frames.append(await asyncio.wait_for(ws.recv(), remaining))
        except asyncio.TimeoutError:
            raise AssertionError(f"no close within {timeout}s; frames: {frames!r}") from None
        except ConnectionClosed as e:
            return (e.rcvd.code if e.rcvd is not None else None), frames


async def expect_silence(ws, seconds):
    """Asserts no frame arrives for `seconds` and the connection stays open."""
    try:
        msg = await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return
    raise AssertionError(f"unexpected frame: {msg!r}")


async def expect_status(ws, redis, timeout=RECV_TIMEOUT):
    """The next frame must be {"type":"status","redis":<redis>}: livegate
    tells subscribed clients when its Redis link goes down and comes back."""
    frame = await recv_json(ws, timeout)
    if frame != {"type": "status", "redis": redis}:
        raise AssertionError(f"expected status redis={redis}, got {frame!r}")


def invalidate(channel, data):
    return {"type": "invalidate", "channel": channel, "data": data}


# --------------------------------------------------------------------------
# test base class
# --------------------------------------------------------------------------

class LivegateTestCase(unittest.IsolatedAsyncioTestCase):
    """Starts servers on demand and always stops them; shows livegate's log
    tail when a test fails."""

    async def asyncSetUp(self):
        # unittest runs the loop in debug mode, which reports every blocking
        # helper (redis-cli, HTTP) as a slow callback: noise, not a finding.
        asyncio.get_running_loop().slow_callback_duration = 30.0

    def start_redis(self, **kw):
        redis = RedisServer(**kw).start()
        self.addCleanup(redis.stop)
        return redis

    def start_livegate(self, redis=None, env=None, ready=True, args=None):
        lg = Livegate(redis=redis, env=env, args=args)
        self.addCleanup(shutil.rmtree, lg.workdir, True)
        self.addCleanup(self._show_log_on_failure, lg)
        self.addCleanup(lg.stop)
        lg.start(ready=ready)
        return lg

    def _failed_so_far(self):
        """True when this test (or one of its subtests) already failed.
        unittest has no public hook for it; its result lists are the
        least fragile source."""
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return False
        return any(getattr(test, "test_case", test) is self
                   for test, _ in list(result.errors) + list(result.failures))

    def _show_log_on_failure(self, lg):
        if self._failed_so_far():
            sys.stderr.write(f"\n--- livegate log ({self.id()}) ---\n{lg.log_tail()}\n")

    async def open_sub(self, lg, token, origin=None):
        """subscribe() whose socket is closed when the test ends."""
        ws, frame = await subscribe(lg.ws_url, token, origin=origin)
        self.addAsyncCleanup(ws.close)
        return ws, frame

    async def open_ws(self, lg, origin=None):
        ws = await connect(lg.ws_url, origin=origin)
        self.addAsyncCleanup(ws.close)
        return ws

    def assertFrame(self, frame, expected):
        """frame has every key of expected with the same value; frames may
        carry more fields (contract), which are ignored, except that an
        ordinary invalidation must not claim to be a resync."""
        self.assertIsInstance(frame, dict, f"frame {frame!r}")
        for key, value in expected.items():
            self.assertIn(key, frame, f"frame {frame!r} lacks {key!r}")
            self.assertEqual(frame[key], value, f"frame {frame!r}, field {key!r}")
        if "reason" not in expected:
            self.assertNotEqual(frame.get("reason"), "resync", f"frame {frame!r}")

    async def assertClosedWith(self, ws, code, timeout=RECV_TIMEOUT, what=""):
        got, frames = await expect_close(ws, timeout)
        self.assertEqual(got, code, f"{what}: close code {got}, frames before: {frames!r}")
        return frames


def main():
    livegate_bin()  # fail fast, and take the binary path off argv
    unittest.main(verbosity=2)
