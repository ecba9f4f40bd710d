"""Shared harness of the Redis link tests (tests/redis).

Starts real processes on free loopback ports and stops them by PID:
  * RedisServer: a throwaway redis-server (no persistence), optionally with a
    password, TLS, cluster mode or as a replica; Sentinel: redis-sentinel;
  * Driver: tests/redis/lgredis_drive (LGREDIS_DRIVE), livegate's registry
    and subscriber on a libev loop, spoken to by lines (see its header);
  * Certs: a test CA, server and client certificates made with openssl.
Resp is a small RESP client for the tests' own commands and publishes.

Run: meson test -C build --suite redis
     LGREDIS_DRIVE=build/tests/redis/lgredis_drive /usr/bin/python3 tests/redis/test_single.py
A failing test prints the tail of the driver's output and of server logs.
"""

import os
import queue
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

START_TIMEOUT = 10.0
LINE_TIMEOUT = 15.0      # default wait for one expected driver line
TAIL = 40

_used_ports = set()


def free_port():
    """A loopback port nobody listens on now, never handed out twice here
    (ports of a cluster's bus, port + 10000, are kept free as well)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port in _used_ports or port + 10000 > 65535 or port + 10000 in _used_ports:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        _used_ports.update((port, port + 10000))
        return port
    raise RuntimeError("no free loopback port found")


def wait_until(pred, timeout, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def driver_path(var="LGREDIS_DRIVE"):
    path = os.environ.get(var)
    if not path and var == "LGREDIS_PUB" and os.environ.get("LGREDIS_DRIVE"):
        path = os.path.join(os.path.dirname(os.environ["LGREDIS_DRIVE"]), "lgredis_pub")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"set {var} to its test driver binary")
    return path


def wall_ms():
    return int(time.time() * 1000)


# --- a small RESP client --------------------------------------------------------


class RespError(Exception):
    pass


class Resp:
    def __init__(self, port, host="127.0.0.1", password=None, user=None, tls=None,
                 timeout=5.0):
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context(cafile=tls["ca"])
            ctx.check_hostname = False      # the harness talks to any test cert
            ctx.load_cert_chain(tls["cert"], tls["key"])
            sock = ctx.wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.buf = b""
        if password:
            self.cmd("AUTH", *([user] if user else []), password)

    def close(self):
        self.sock.close()

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode(errors="replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read_elem() for _ in range(n)]
        raise RespError(f"bad reply {line!r}")

    def _read_elem(self):
        try:
            return self.read()
        except RespError as e:
            return e

    def cmd(self, *args):
        self.send(*args)
        return self.read()


# --- servers ------------------------------------------------------------------------


class RedisServer:
    """A redis-server on a free loopback port; restartable on the same port."""

    def __init__(self, port=None, password=None, tls=None, cluster=False, extra=(),
                 replicaof=None, sentinel=False, workdir=None):
        self.port = port or free_port()
        self.password = password
        self.tls = tls               # Certs.server_files(...) dict, or None
        self.cluster = cluster
        self.extra = list(extra)
        self.replicaof = replicaof
        self.sentinel = sentinel
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="lgredis-")
        self.log = os.path.join(self.dir, f"redis-{self.port}.log")
        self.proc = None

    def args(self):
        exe = "redis-sentinel" if self.sentinel else "redis-server"
        conf = os.path.join(self.dir, f"{'sentinel' if self.sentinel else 'redis'}-{self.port}.conf")
        lines = [f"bind 127.0.0.1", f"dir {self.dir}", f"logfile {self.log}",
                 "daemonize no", "protected-mode no"]
        if not self.sentinel:
            lines += ["save \"\"", "appendonly no", f"dbfilename dump-{self.port}.rdb",
                      "repl-diskless-sync-delay 0"]   # replicas sync at once
        if self.tls:
            lines += ["port 0", f"tls-port {self.port}",
                      f"tls-cert-file {self.tls['cert']}", f"tls-key-file {self.tls['key']}",
                      f"tls-ca-cert-file {self.tls['ca']}",
                      f"tls-auth-clients {'yes' if self.tls.get('require_client') else 'no'}"]
        else:
            lines.append(f"port {self.port}")
        if self.password:
            lines += [f"requirepass {self.password}", f"masterauth {self.password}"]
        if self.cluster:
            lines += ["cluster-enabled yes", f"cluster-config-file nodes-{self.port}.conf",
                      "cluster-node-timeout 1000"]
        if self.replicaof:
            lines.append(f"replicaof 127.0.0.1 {self.replicaof}")
        lines += self.extra
        # A sentinel rewrites its file: write it once, keep what it learnt.
        if not (self.sentinel and os.path.exists(conf)):
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
        return [exe, conf] + (["--sentinel"] if self.sentinel else [])

    def start(self):
        self.proc = subprocess.Popen(self.args(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(self.pong, START_TIMEOUT, f"redis on port {self.port} to answer PING")
        return self

    def pong(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"redis on port {self.port} exited: {self.log_tail()}")
        try:
            c = self.client(timeout=1.0)
            ok = c.cmd("PING") == "PONG"
            c.close()
            return ok
        except (OSError, RespError, ssl.SSLError):
            return False

    def client(self, timeout=5.0):
        tls = None
        if self.tls:
            tls = {"ca": self.tls["ca"], "cert": self.tls["client_cert"],
                   "key": self.tls["client_key"]}
        return Resp(self.port, password=self.password, tls=tls, timeout=timeout)

    def cmd(self, *args):
        c = self.client()
        try:
            return c.cmd(*args)
        finally:
            c.close()

    def publish(self, channel, payload):
        return self.cmd("PUBLISH", channel, payload)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self):
        """Stops the server for good and removes its files (a test that
        failed has shown the log's tail by then)."""
        if self.proc and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self):
        try:
            with open(self.log) as f:
                return "".join(f.readlines()[-10:])
        except OSError:
            return "(no log)"


# --- certificates ------------------------------------------------------------------


class Certs:
    """A throwaway CA and certificates it signs, made with the openssl CLI."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="lgredis-tls-")
        self.ca_key = self._path("ca.key")
        self.ca = self._path("ca.crt")
        self._run("req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout",
                  self.ca_key, "-out", self.ca, "-days", "2", "-subj", "/CN=livegate test CA")

    def _path(self, name):
        return os.path.join(self.dir, name)

    def _run(self, *args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def issue(self, name, sans, client=False):
        """Signs a certificate for sans (e.g. ["DNS:localhost", "IP:127.0.0.1"]);
        returns (cert, key) paths."""
        key, csr, crt, ext = (self._path(f"{name}.{x}") for x in ("key", "csr", "crt", "ext"))
        with open(ext, "w") as f:
            f.write(f"subjectAltName={','.join(sans)}\n" if sans else "")
            f.write(f"extendedKeyUsage={'clientAuth' if client else 'serverAuth'}\n")
        self._run("req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", key, "-out", csr,
                  "-subj", f"/CN={name}")
        self._run("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                  "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
        return crt, key

    def server_files(self, sans=("DNS:localhost", "IP:127.0.0.1"), require_client=True,
                     name="server"):
        cert, key = self.issue(name, list(sans))
        ccert, ckey = self.client()
        return {"cert": cert, "key": key, "ca": self.ca, "require_client": require_client,
                "client_cert": ccert, "client_key": ckey}

    def client(self):
        if not hasattr(self, "_client"):
            self._client = self.issue("client", [], client=True)
        return self._client

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the driver ------------------------------------------------------------------------


class Driver:
    """lgredis_drive with its lines collected by a reader thread."""

    def __init__(self, url, *args, wrapper=(), prefix=None, exe=None):
        cmd = list(wrapper) + [exe or driver_path(), "--url", url]
        if prefix is not None:
            cmd += ["--prefix", prefix]
        cmd += [str(a) for a in args]
        self.errlog = tempfile.NamedTemporaryFile(prefix="lgredis-drive-", suffix=".err",
                                                  delete=False)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.errlog, text=True, bufsize=1,
                                     start_new_session=True)
        self.lines = []
        self.cv = threading.Condition()
        self.eof = False
        self.pos = 0            # wait_line searches from here
        self.reader = threading.Thread(target=self._reader, daemon=True)
        self.reader.start()

    def _reader(self):
        for line in self.proc.stdout:
            with self.cv:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.cv.notify_all()
        with self.cv:
            self.eof = True
            self.cv.notify_all()

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def mark(self):
        with self.cv:
            return len(self.lines)

    def wait_line(self, pattern, timeout=LINE_TIMEOUT, since=None):
        """Waits for a line matching the regex pattern at or after index since
        (default: after the last match); returns the match."""
        rx = re.compile(pattern)
        i = self.pos if since is None else since
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i][1])
                    i += 1
                    if m:
                        self.pos = i
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise AssertionError(f"no line matching {pattern!r} within {timeout}s; "
                                         f"last lines:\n{self.tail()}")
                self.cv.wait(left)

    def matching(self, pattern, since=0):
        rx = re.compile(pattern)
        with self.cv:
            return [l for _, l in self.lines[since:] if rx.search(l)]

    def timed(self, pattern, since=0):
        """(monotonic read time, line) of the lines matching pattern."""
        rx = re.compile(pattern)
        with self.cv:
            return [(t, l) for t, l in self.lines[since:] if rx.search(l)]

    def uncovered(self, channel, published, since=0):
        """The convergence check: of published [(monotonic send time, payload)]
        on channel, those that were neither received ('msg <channel> ...
        <payload>') nor covered by a resync of the channel read after they
        were sent. Returns them (empty: nothing was lost silently)."""
        got = set(l.split(" ", 3)[3] for _, l in self.timed(r"^msg %s " % re.escape(channel),
                                                             since) if l.count(" ") >= 3)
        resyncs = [t for t, _ in self.timed(r"^resync %s " % re.escape(channel), since)]
        return [p for t, p in published if p not in got and not any(r > t for r in resyncs)]

    def settle(self, channel, published, timeout=15.0):
        """Waits until the last of published [(time, payload)] on channel is
        received or covered: what was sent before it has had its chance.
        Messages still in flight when a test stops publishing must not be
        counted as lost."""
        if published:
            wait_until(lambda: not self.uncovered(channel, published[-1:]), timeout,
                       f"the last message on {channel} ({published[-1][1]}) to arrive")

    def tail(self, n=TAIL):
        """The last n lines that are not messages (the events that explain
        a failure), then the last few messages."""
        events = [l for _, l in self.lines if not re.match(r"^(msg|obs|tick) ", l)]
        msgs = [l for _, l in self.lines if re.match(r"^(msg|obs|tick) ", l)]
        return "\n".join(events[-n:] + [f"({len(msgs)} msg/obs/tick lines, last:)"] +
                         msgs[-5:])

    def quit(self, timeout=20):
        """Asks the driver to free everything and exit; returns its status."""
        try:
            self.send("quit")
        except BrokenPipeError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the driver did not exit after quit")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (BrokenPipeError, OSError):
                pass
        self.errlog.close()
        try:
            os.unlink(self.errlog.name)
        except OSError:
            pass

    def stderr(self):
        try:
            with open(self.errlog.name) as f:
                return f.read()
        except OSError:
            return ""


class Publisher(Driver):
    """lgredis_pub: livegate's blocking publisher, one call at a time."""

    def __init__(self, url, *args, **kw):
        super().__init__(url, *args, exe=driver_path("LGREDIS_PUB"), **kw)
        self.wait_line(r"^started$")

    def publish(self, channel, payload, timeout=30):
        """Returns ("ok", receivers, ms) or ("err", ms, reason)."""
        self.send(f"pub {channel} {payload}")
        m = self.wait_line(r"^(ok (\d+) (\d+)|err (\d+) (.*))$", timeout=timeout)
        if m.group(2) is not None:
            return ("ok", int(m.group(2)), int(m.group(3)))
        return ("err", int(m.group(4)), m.group(5))


class TestCase(unittest.TestCase):
    """Stops what a test started, and shows the driver's lines on failure."""

    def setUp(self):
        self.drivers = []
        self.servers = []

    def redis(self, **kw):
        r = RedisServer(**kw)
        self.servers.append(r)
        self.addCleanup(r.stop)
        return r.start()

    @classmethod
    def class_redis(cls, **kw):
        """A server for every test of the class (setUpClass)."""
        r = RedisServer(**kw)
        cls.addClassCleanup(r.stop)
        return r.start()

    def driver(self, url, *args, **kw):
        d = Driver(url, *args, **kw)
        self.drivers.append(d)
        self.addCleanup(d.stop)
        return d

    def publisher(self, url, *args, **kw):
        p = Publisher(url, *args, **kw)
        self.drivers.append(p)
        self.addCleanup(p.stop)
        return p

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        failed = result is not None and any(
            t is self for t, _ in list(result.failures) + list(result.errors))
        failed = failed or (outcome is not None and not getattr(outcome, "success", True))
        if failed:
            for d in self.drivers:
                sys.stderr.write(f"\n--- driver lines ---\n{d.tail()}\n--- driver stderr ---\n"
                                 f"{d.stderr()[-2000:]}\n")
            for s in self.servers:
                sys.stderr.write(f"--- redis {s.port} log ---\n{s.log_tail()}\n")


def main():
    unittest.main(verbosity=2)


# --- clusters ----------------------------------------------------------------------


def key_slot(key):
    """Redis Cluster's slot of key (CRC16/XMODEM, hash tags)."""
    import binascii
    b = key.encode() if isinstance(key, str) else key
    s = b.find(b"{")
    if s >= 0:
        e = b.find(b"}", s + 1)
        if e > s + 1:
            b = b[s + 1:e]
    return binascii.crc_hqx(b, 0) % 16384


class Cluster:
    """masters x (1 + replicas) redis-servers in cluster mode, created with
    redis-cli --cluster create (node timeout 1 s: failovers take seconds)."""

    def __init__(self, start, masters=3, replicas=1, password=None, tls=None, extra=()):
        self.password = password
        self.nodes = [start(cluster=True, password=password, tls=tls, extra=extra)
                      for _ in range(masters * (1 + replicas))]
        if masters >= 3:
            args = ["redis-cli", "--cluster", "create"]
            args += [f"127.0.0.1:{n.port}" for n in self.nodes]
            args += ["--cluster-replicas", str(replicas), "--cluster-yes"]
            self.cli(*args)
        else:
            self._create_small(masters)
        wait_until(self.healthy, 60, "the cluster to be ok on every node", interval=0.2)

    def _create_small(self, masters):
        """What redis-cli --cluster create does, for the 1 or 2 masters it
        refuses to set up (benchmarks only: no replicas)."""
        if len(self.nodes) != masters:
            raise ValueError("a small cluster has no replicas here")
        per = 16384 // masters
        for i, n in enumerate(self.nodes):
            end = 16383 if i == masters - 1 else (i + 1) * per - 1
            n.cmd("CLUSTER", "ADDSLOTSRANGE", i * per, end)
            n.cmd("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        for n in self.nodes[1:]:
            n.cmd("CLUSTER", "MEET", "127.0.0.1", self.nodes[0].port)

    def cli(self, *args, check=True):
        env = dict(os.environ)
        if self.password:
            env["REDISCLI_AUTH"] = self.password
        p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed: {p.stdout[-2000:]}{p.stderr[-2000:]}")
        return p.stdout

    def alive(self):
        return [n for n in self.nodes if n.proc and n.proc.poll() is None]

    def healthy(self):
        """Every live node says ok, and all agree on who serves each slot."""
        try:
            maps = set()
            for n in self.alive():
                if "cluster_state:ok" not in n.cmd("CLUSTER", "INFO"):
                    return False
                maps.add(tuple(sorted((s[0], s[1], s[2][1]) for s in n.cmd("CLUSTER", "SLOTS"))))
            return len(maps) == 1
        except (OSError, RespError):
            return False

    def slot_map(self):
        """[(start, end, port)] as a live node sees it."""
        for n in self.alive():
            try:
                return sorted((s[0], s[1], s[2][1]) for s in n.cmd("CLUSTER", "SLOTS"))
            except (OSError, RespError):
                continue
        raise AssertionError("no live cluster node answers")

    def owner(self, slot):
        for start, end, port in self.slot_map():
            if start <= slot <= end:
                return self.node(port)
        raise AssertionError(f"nobody serves slot {slot}")

    def node(self, port):
        return next(n for n in self.nodes if n.port == port)

    def masters(self):
        return sorted(set(p for _, _, p in self.slot_map()))

    def node_id(self, node):
        return node.cmd("CLUSTER", "MYID")

    def seeds(self, k=3):
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[:k])


class ClusterPublisher:
    """SPUBLISH (or PUBLISH) to the owner of each channel's slot, following
    MOVED and re-reading the map after a failure, as redis-cli -c does."""

    def __init__(self, cluster, sharded=True):
        self.cluster = cluster
        self.sharded = sharded
        self.conns = {}
        self.map = cluster.slot_map()
        self.moved = {}          # slot -> port, from MOVED answers

    def _conn(self, port):
        if port not in self.conns:
            self.conns[port] = Resp(port, password=self.cluster.password, timeout=2.0)
        return self.conns[port]

    def _owner(self, slot):
        if slot in self.moved:
            return self.moved[slot]
        for start, end, port in self.map:
            if start <= slot <= end:
                return port
        return None

    def publish(self, channel, payload, deadline=20.0):
        """Publishes; returns (monotonic time of the attempt that took, receivers)."""
        slot = key_slot(channel)
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            port = self._owner(slot) if self.sharded else self.cluster.alive()[0].port
            try:
                if port is None:
                    raise RespError("CLUSTERDOWN no owner")
                c = self._conn(port)
                self.last_port = port
                t = time.monotonic()
                n = c.cmd("SPUBLISH" if self.sharded else "PUBLISH", channel, payload)
                return t, n
            except RespError as e:
                if str(e).startswith("MOVED"):
                    self.moved[slot] = int(str(e).rsplit(":", 1)[1])
                    continue
                time.sleep(0.05)
            except (OSError, ConnectionError):
                c = self.conns.pop(port, None)
                if c:
                    c.close()
                time.sleep(0.05)
            try:
                self.map = self.cluster.slot_map()
                self.moved = {}
            except AssertionError:
                pass
        raise AssertionError(f"could not publish on {channel} within {deadline}s")

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns = {}
