#!/usr/bin/python3
"""deploy/livegate.service's SystemCallFilter= against what livegate really
calls: livegate runs under `strace -f` through a whole life (start, workers,
Redis, WebSocket subscribe and invalidate, script, private API, metrics,
SIGHUP key reload, SIGTERM drain) and every system call it made must be one
the unit's filter allows, as `systemd-analyze syscall-filter` expands it.
A call outside the filter would kill the service under systemd
(SystemCallErrorNumber=EPERM makes it fail instead), which no test here can
otherwise see, since the build machines run no systemd.

Needs strace (Debian package strace) and systemd-analyze (systemd); without
them, or where ptrace is not permitted, reported as SKIPPED (exit 77).
"""

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

import jwt
import websockets
import websockets.exceptions

import deploytest as dt

UNIT = dt.DEPLOY / "livegate.service"
STRACE = shutil.which("strace")
ANALYZE = shutil.which("systemd-analyze")
TIMEOUT = 10


def syscall_groups():
    """{"@group": [members]} from `systemd-analyze syscall-filter`."""
    out = subprocess.run([ANALYZE, "syscall-filter", "--no-pager"], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line.strip()
            groups[current] = []
        elif current and line.strip() and not line.strip().startswith("#"):
            groups[current].append(line.strip())
    return groups


def expand(item, groups, depth=0):
    if depth > 10:
        raise AssertionError(f"syscall group nesting too deep at {item}")
    if not item.startswith("@"):
        return {item}
    if item not in groups:
        raise AssertionError(f"systemd-analyze knows no group {item}")
    names = set()
    for member in groups[item]:
        names |= expand(member, groups, depth + 1)
    return names


def allowed_syscalls():
    """The set SystemCallFilter= lines of the unit allow (allow-list first,
    then ~ lines removing), plus @default, which systemd always permits."""
    groups = syscall_groups()
    allowed, seen_allow = set(), False
    for line in UNIT.read_text().splitlines():
        m = re.match(r"^SystemCallFilter=(~?)(.*)$", line.strip())
        if not m:
            continue
        names = set()
        for item in m.group(2).split():
            names |= expand(item, groups)
        if m.group(1):
            allowed -= names
        else:
            allowed |= names
            seen_allow = True
    if not seen_allow:
        raise AssertionError("the unit has no allow-list SystemCallFilter= line")
    return allowed | expand("@default", groups)


def traced_syscalls(summary):
    """Syscall names from an `strace -c` summary table."""
    names = set()
    for line in summary.splitlines():
        cols = line.split()
        if len(cols) >= 5 and re.fullmatch(r"[0-9.]+", cols[0]) and cols[-1] != "total":
            names.add(cols[-1])
    return names


def ptrace_works():
    if not STRACE:
        return False
    r = subprocess.run([STRACE, "-f", "-qq", "-o", "/dev/null", "true"], capture_output=True,
                       timeout=30)
    return r.returncode == 0


@unittest.skipUnless(ANALYZE, "systemd-analyze not installed (apt-get install -y systemd)")
@unittest.skipUnless(ptrace_works(), "strace missing or ptrace not permitted "
                                     "(apt-get install -y strace)")
class SyscallFilter(unittest.TestCase):
    def exercise(self, tmp, redis_port, keys_file):
        summary = Path(tmp) / "strace.txt"
        api_key = "k" * 32
        secret = dt.new_secret()
        keys_file.write_text(f"k1:{secret}\n")
        lg, public, private, _ = dt.start_livegate(
            tmp, redis_port,
            {"LIVEGATE_SECRET": "", "LIVEGATE_SECRETS_FILE": str(keys_file),
             "LIVEGATE_API_KEY": api_key, "LIVEGATE_WORKERS": "2", "LIVEGATE_DRAIN_MS": "300"},
            wrapper=(STRACE, "-f", "-qq", "-c", "-o", str(summary)))
        try:
            tracee = wait_child(lg.proc.pid)
            self.traffic(public, private, api_key, secret, redis_port, keys_file, tracee)
            # traffic() ended with SIGTERM: livegate drains and exits, then strace.
            status = lg.proc.wait(20)
        finally:
            lg.stop(timeout=20)
        self.assertEqual(status, 0, lg.log())
        return summary.read_text()

    def traffic(self, public, private, api_key, secret, redis_port, keys_file, tracee):
        auth = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}

        def post(path, body):
            req = urllib.request.Request(f"http://127.0.0.1:{private}{path}",
                                         data=json.dumps(body).encode(), headers=auth)
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                return r.status, json.load(r)

        status, minted = post("/v1/tokens", {"channels": ["sys"], "ttl": 60})
        self.assertEqual(status, 201)
        for path in ("/healthz", "/readyz", "/metrics"):
            self.assertEqual(dt.http_get(f"http://127.0.0.1:{private}{path}")[0], 200)
        self.assertEqual(dt.http_get(f"http://127.0.0.1:{public}/livegate.js")[0], 200)

        async def clients():
            url = f"ws://127.0.0.1:{public}/ws"
            async with websockets.connect(url, open_timeout=TIMEOUT) as ws:
                await ws.send(json.dumps({"type": "subscribe", "token": minted["token"]}))
                self.assertEqual((await dt.recv_frame(ws, TIMEOUT))["type"],
                                 "subscribed")
                await asyncio.to_thread(dt.redis_cli, redis_port, "PUBLISH", "sys", "x")
                self.assertEqual((await dt.recv_frame(ws, TIMEOUT))["type"],
                                 "invalidate")
                status, _ = await asyncio.to_thread(post, "/v1/publish",
                                                    {"channel": "sys", "data": {"n": 1}})
                self.assertEqual(status, 202)
                self.assertEqual((await dt.recv_frame(ws, TIMEOUT))["type"],
                                 "invalidate")
                await ws.send(json.dumps({"type": "ping"}))
                self.assertEqual((await dt.recv_frame(ws, TIMEOUT))["type"],
                                 "pong")
                # Key reload while connected.
                now = int(time.time())
                keys_file.write_text(f"k2:{dt.new_secret()}\nk1:{secret}\n")
                os.kill(tracee, signal.SIGHUP)
                await asyncio.sleep(0.3)
                # A refused token (close 4001) on a second connection.
                async with websockets.connect(url, open_timeout=TIMEOUT) as bad:
                    forged = jwt.encode({"channels": ["sys"], "exp": now + 60}, "x" * 40,
                                        algorithm="HS256")
                    await bad.send(json.dumps({"type": "subscribe", "token": forged}))
                    with self.assertRaises(websockets.exceptions.ConnectionClosed):
                        await asyncio.wait_for(bad.recv(), TIMEOUT)
                # Drain with a client connected: SIGTERM to livegate itself.
                os.kill(tracee, signal.SIGTERM)
                with self.assertRaises(websockets.exceptions.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), TIMEOUT)

        asyncio.run(clients())

    def test_every_traced_syscall_is_allowed(self):
        allowed = allowed_syscalls()
        self.assertIn("epoll_wait", allowed)
        self.assertNotIn("setuid", allowed)   # removed by ~@privileged
        with tempfile.TemporaryDirectory(prefix="lg-sysc-") as tmp:
            redis, port = dt.start_redis(tmp)
            try:
                summary = self.exercise(tmp, port, Path(tmp) / "keys")
            finally:
                redis.stop()
        used = traced_syscalls(summary)
        self.assertGreater(len(used), 30, summary)
        # The trace covered the workers' and the API's work, not only start-up.
        for family in ({"accept4"}, {"clone", "clone3", "fork"},
                       {"epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll"},
                       {"signalfd4", "rt_sigtimedwait"}):
            self.assertTrue(used & family, f"none of {sorted(family)} traced")
        self.assertEqual(sorted(used - allowed), [],
                         "livegate makes system calls deploy/livegate.service forbids")


def wait_child(parent_pid):
    """The pid of the first child of parent_pid (livegate under strace)."""
    children = Path(f"/proc/{parent_pid}/task/{parent_pid}/children")

    def child():
        try:
            pids = children.read_text().split()
        except OSError:
            return None
        return int(pids[0]) if pids else None
    return dt.wait_for(child, 10, "livegate to start under strace")


if __name__ == "__main__":
    dt.main()
