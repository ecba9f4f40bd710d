#!/usr/bin/python3
"""The Dockerfile's runtime stage, run without Docker: a root file system
holding only the files of the packages that stage installs (and their
dependencies, and bash for the health probe), the built binary and the
probe; livegate started in it with chroot as uid 10001 must serve a
WebSocket subscribe and invalidate, the script, and a passing HEALTHCHECK.

This catches what `ldd` cannot: files a library opens at run time. It is
stricter than the image, whose debian:12-slim base has more packages.
Needs root (chroot, mknod); otherwise reported as SKIPPED (exit 77).
"""

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import jwt
import websockets

import deploytest as dt
import test_dockerfile as td

SKIP_UNDER = ("/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/locale/",
              "/usr/share/lintian/", "/usr/share/bug/")
MERGED = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}
UID = 10001
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
TIMEOUT = 10


def package_files(pkg):
    out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    return [p for p in out.splitlines() if p.startswith("/") and not p.startswith(SKIP_UNDER)]


def place(root, path):
    """Copies host path into root at the same place, as merged-/usr Debian 12
    lays it out (/lib -> usr/lib and so on). Returns the number of files."""
    src = Path(path)
    if src.is_dir() and not src.is_symlink():
        (root / os.path.realpath(path).lstrip("/")).mkdir(parents=True, exist_ok=True)
        return 0
    if not src.is_symlink() and not src.is_file():
        return 0   # diverted or removed on this host
    parent = Path(os.path.realpath(src.parent))
    dest = root / parent.relative_to("/") / src.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() or dest.is_symlink():
        return 0
    if src.is_symlink():
        os.symlink(os.readlink(src), dest)
    else:
        shutil.copy2(src, dest)
    return 1


def build_rootfs(root):
    stages = td.stages(td.DOCKERFILE.read_text())
    packages = td.dependency_closure(td.apt_installed(stages[-1][1]) | {"bash"})
    root.mkdir()
    for top, target in MERGED.items():
        (root / target).mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / top)
    copied = 0
    for pkg in sorted(packages):
        for path in package_files(pkg):
            copied += place(root, path)
    # The two files the Dockerfile copies from the build.
    (root / "usr/local/bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(dt.livegate_bin(), root / "usr/local/bin/livegate")
    shutil.copy2(dt.DEPLOY / "healthcheck.sh", root / "usr/local/bin/livegate-healthcheck")
    os.chmod(root / "usr/local/bin/livegate-healthcheck", 0o755)
    # What the base image and the kernel provide: device nodes, /tmp, the
    # dynamic linker cache.
    (root / "dev").mkdir(exist_ok=True)
    for name, minor in (("null", 3), ("zero", 5), ("random", 8), ("urandom", 9)):
        os.mknod(root / "dev" / name, 0o20666, os.makedev(1, minor))
        os.chmod(root / "dev" / name, 0o666)
    (root / "tmp").mkdir(mode=0o1777, exist_ok=True)
    (root / "etc").mkdir(exist_ok=True)
    subprocess.run(["ldconfig", "-r", str(root)], check=True, capture_output=True, timeout=60)
    return packages, copied


@unittest.skipUnless(os.geteuid() == 0, "needs root for chroot and mknod")
class RuntimeRootfs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="lg-rootfs-"))
        cls.procs = []
        try:
            cls.root = cls.tmp / "root"
            cls.packages, cls.copied = build_rootfs(cls.root)
            try:
                with open(cls.root / "dev/urandom", "rb") as f:
                    f.read(1)
            except OSError as e:
                raise unittest.SkipTest(f"device nodes unusable under {cls.tmp} "
                                        f"(nodev mount?): {e}")
            cls.redis, cls.redis_port = dt.start_redis(cls.tmp)
            cls.procs.append(cls.redis)
            cls.start_livegate()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_livegate(cls):
        last = ""
        for _ in range(3):
            cls.public, cls.private = dt.free_port(), dt.free_port()
            cls.env = {
                "LIVEGATE_SECRET": dt.new_secret(),
                "LIVEGATE_REDIS_URL": f"redis://127.0.0.1:{cls.redis_port}",
                "LIVEGATE_PUBLIC_ADDR": f"127.0.0.1:{cls.public}",
                "LIVEGATE_PRIVATE_ADDR": f"127.0.0.1:{cls.private}",
                "LIVEGATE_WORKERS": "1",
                "LIVEGATE_DRAIN_MS": "500",
            }
            p = dt.Process("livegate", [CHROOT, f"--userspec={UID}:{UID}", str(cls.root),
                                        "/usr/local/bin/livegate"],
                           env=cls.env, workdir=cls.tmp)

            def ready():
                if not p.alive():
                    return "exited"
                try:
                    status, _, _ = dt.http_get(f"http://127.0.0.1:{cls.private}/readyz", timeout=1)
                except OSError:
                    return None
                return "ready" if status == 200 else None

            try:
                if dt.wait_for(ready, 15, "livegate in the runtime rootfs to be ready") == "ready":
                    cls.livegate = p
                    cls.procs.append(p)
                    return
                last = p.log()
            finally:
                if getattr(cls, "livegate", None) is not p:
                    p.stop()   # never leave a livegate behind, whatever failed
        raise AssertionError(f"livegate did not start in the runtime rootfs:\n{last}")

    @classmethod
    def tearDownClass(cls):
        for p in reversed(getattr(cls, "procs", [])):
            p.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_rootfs_is_minimal(self):
        # No compiler, no -dev package, no HTTP client slipped in.
        self.assertFalse({p for p in self.packages if p.endswith("-dev")})
        for tool in ("usr/bin/curl", "usr/bin/gcc", "usr/bin/python3", "usr/bin/apt-get"):
            self.assertFalse((self.root / tool).exists(), tool)
        self.assertGreater(self.copied, 50)

    def test_runs_as_unprivileged_user(self):
        status = Path(f"/proc/{self.livegate.proc.pid}/status").read_text()
        uid_line = next(l for l in status.splitlines() if l.startswith("Uid:"))
        self.assertEqual(set(uid_line.split()[1:]), {str(UID)})

    def test_subscribe_and_invalidate(self):
        channel = "rootfs"
        now = int(time.time())
        token = jwt.encode({"channels": [channel], "exp": now + 300}, self.env["LIVEGATE_SECRET"],
                           algorithm="HS256")

        async def scenario():
            async with websockets.connect(f"ws://127.0.0.1:{self.public}/ws",
                                          open_timeout=TIMEOUT) as ws:
                await ws.send(json.dumps({"type": "subscribe", "token": token}))
                msg = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                self.assertEqual(msg, {"type": "subscribed", "channels": [channel]})
                receivers = await asyncio.to_thread(dt.redis_cli, self.redis_port, "PUBLISH",
                                                    channel, '{"id":7}')
                self.assertEqual(receivers, "1")
                msg = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                self.assertEqual((msg["type"], msg["channel"], msg["data"]),
                                 ("invalidate", channel, {"id": 7}))

        asyncio.run(scenario())

    def test_script_served(self):
        status, headers, body = dt.http_get(f"http://127.0.0.1:{self.public}/livegate.js")
        self.assertEqual(status, 200)
        self.assertIn("javascript", headers.get("Content-Type", ""))
        self.assertGreater(len(body), 100)

    def test_healthcheck_inside_rootfs(self):
        # The image's HEALTHCHECK command, with the image's bash.
        r = subprocess.run([CHROOT, f"--userspec={UID}:{UID}", str(self.root),
                            "/usr/local/bin/livegate-healthcheck"],
                           env={"LIVEGATE_PRIVATE_ADDR": self.env["LIVEGATE_PRIVATE_ADDR"]},
                           capture_output=True, text=True, timeout=15)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_zz_sigterm_exits_zero(self):
        self.livegate.proc.terminate()
        self.assertEqual(self.livegate.proc.wait(TIMEOUT), 0, self.livegate.log())


if __name__ == "__main__":
    dt.main()
