#!/usr/bin/python3
"""deploy/Dockerfile, checked without a Docker engine.

- every shared library the built binary needs (ldd) belongs (dpkg -S) to a
  package the runtime stage installs, or to one of their dependencies;
- every pkg-config module and header the root meson.build asks for belongs
  to a package the build stage installs (or its dependencies);
- the image shape: non-root user, EXPOSE 8080 8081, HEALTHCHECK, no LIVEGATE_
  baked in;
- deploy/healthcheck.sh (the HEALTHCHECK) against a real livegate.
"""

import os
import re
import socket
import subprocess
import tempfile
import threading
import unittest
from pathlib import Path

import deploytest as dt

DOCKERFILE = dt.DEPLOY / "Dockerfile"
HEALTHCHECK = dt.DEPLOY / "healthcheck.sh"
MAX_CLOSURE = 2000   # packages; a bound on the dependency walk


def logical_lines(text):
    """Dockerfile instructions with continuation lines joined, comments dropped."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not cur and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue   # a comment inside a continued instruction
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        out.append(cur + line)
        cur = ""
    if cur:
        out.append(cur)
    return out


def stages(text):
    """[(from_line, [instructions])] per build stage."""
    result = []
    for line in logical_lines(text):
        word = line.split(None, 1)[0].upper()
        if word == "FROM":
            result.append((line, []))
        elif result:
            result[-1][1].append(line)
    return result


def apt_installed(instructions):
    """Package names of `apt-get install` in a stage's RUN instructions."""
    pkgs = set()
    for line in instructions:
        if not line.upper().startswith("RUN "):
            continue
        for cmd in re.split(r"&&|;", line[4:]):
            words = cmd.split()
            if "apt-get" in words and "install" in words:
                args = words[words.index("install") + 1:]
                pkgs |= {w for w in args if not w.startswith("-")}
    return pkgs


def owner_package(path):
    """The Debian package that ships path (tries the /usr-merged twin and the
    symlink target too). None when no package owns it."""
    p = str(path)
    candidates = [p, os.path.realpath(p)]
    for c in list(candidates):
        if c.startswith("/usr/lib/"):
            candidates.append(c[len("/usr"):])
        elif c.startswith("/lib/") or c.startswith("/lib64/"):
            candidates.append("/usr" + c)
    for c in candidates:
        r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            continue
        for line in r.stdout.splitlines():
            if line.startswith("diversion "):
                continue
            pkgs, _, _ = line.partition(": ")
            return pkgs.split(",")[0].strip().split(":")[0]
    return None


def installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True,
                       text=True, timeout=30)
    return r.returncode == 0 and r.stdout.endswith(" installed")


def dependency_closure(roots):
    """roots plus every installed package they Depend/Pre-Depend on,
    recursively, from the dpkg database (no network, no apt lists)."""
    seen, todo = set(), list(roots)
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        if len(seen) > MAX_CLOSURE:
            raise AssertionError("dependency closure unexpectedly large")
        r = subprocess.run(["dpkg-query", "-W", "-f=${Pre-Depends},${Depends}", pkg],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError(f"package {pkg} is not installed here; cannot follow its "
                                 f"dependencies (apt-get install -y {pkg})")
        for clause in r.stdout.split(","):
            for alt in clause.split("|"):
                name = re.sub(r"\(.*?\)", "", alt).strip().split(":")[0]
                if name and name not in seen and installed(name):
                    todo.append(name)
    return seen


def needed_libraries(binary):
    """Absolute paths of the shared objects ldd resolves for binary."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    libs = []
    for line in out.splitlines():
        line = line.strip()
        if "not found" in line:
            raise AssertionError(f"ldd: {line}")
        m = re.match(r"\S+ => (/\S+) \(", line) or re.match(r"(/\S+) \(", line)
        if m:
            libs.append(m.group(1))
    return libs


class ImageShape(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = stages(DOCKERFILE.read_text())
        cls.build_from, cls.build = cls.stages[0]
        cls.runtime_from, cls.runtime = cls.stages[-1]

    def instr(self, stage, word):
        return [l for l in stage if l.split(None, 1)[0].upper() == word]

    def test_two_debian12_stages(self):
        self.assertEqual(len(self.stages), 2)
        self.assertRegex(self.build_from, r"^FROM debian:12 AS build$")
        self.assertRegex(self.runtime_from, r"^FROM debian:12-slim( AS \w+)?$")

    def test_build_stage_builds_release_without_tests(self):
        run = " ".join(self.instr(self.build, "RUN"))
        self.assertRegex(run, r"meson setup \S+ -Dtests=disabled --buildtype=release")
        self.assertIn("ninja -C", run)

    def test_runtime_has_no_dev_packages(self):
        pkgs = apt_installed(self.runtime)
        self.assertTrue(pkgs)
        self.assertEqual({p for p in pkgs if p.endswith("-dev")}, set())
        run = " ".join(self.instr(self.runtime, "RUN"))
        self.assertIn("--no-install-recommends", run)
        self.assertIn("rm -rf /var/lib/apt/lists/*", run)

    def test_runtime_copies_only_the_binary_and_probe(self):
        copies = self.instr(self.runtime, "COPY")
        self.assertIn("COPY --from=build /build/livegate /usr/local/bin/livegate", copies)
        self.assertEqual(len(copies), 2, copies)

    def test_non_root(self):
        users = self.instr(self.runtime, "USER")
        self.assertEqual(len(users), 1)
        uid = users[0].split()[1].split(":")[0]
        self.assertNotIn(uid, ("0", "root"))

    def test_exposes_both_listeners(self):
        exposed = set()
        for line in self.instr(self.runtime, "EXPOSE"):
            exposed |= {int(p.split("/")[0]) for p in line.split()[1:]}
        self.assertEqual(exposed, {8080, 8081})

    def test_healthcheck(self):
        hc = self.instr(self.runtime, "HEALTHCHECK")
        self.assertEqual(len(hc), 1)
        self.assertIn('CMD ["/usr/local/bin/livegate-healthcheck"]', hc[0])

    def test_configuration_only_through_environment(self):
        # No LIVEGATE_ value baked into the image: the contract's defaults
        # apply unless the operator sets the variable.
        for stage in (self.build, self.runtime):
            for line in self.instr(stage, "ENV") + self.instr(stage, "ARG"):
                self.assertNotIn("LIVEGATE_", line)
        self.assertEqual(self.instr(self.runtime, "ENTRYPOINT"),
                         ['ENTRYPOINT ["/usr/local/bin/livegate"]'])
        self.assertEqual(self.instr(self.runtime, "CMD"), [])


class RuntimeLibraries(unittest.TestCase):
    def test_every_linked_library_comes_from_the_runtime_stage(self):
        runtime = apt_installed(stages(DOCKERFILE.read_text())[-1][1])
        closure = dependency_closure(runtime)
        libs = needed_libraries(dt.livegate_bin())
        self.assertGreater(len(libs), 5, libs)
        direct = {}
        for lib in libs:
            pkg = owner_package(lib)
            with self.subTest(lib=lib):
                self.assertIsNotNone(pkg, f"no Debian package owns {lib}")
                self.assertIn(pkg, closure,
                              f"{lib} comes from {pkg}, which the runtime stage does not install")
                direct[pkg] = lib
        # Also no dead weight: each package named in the Dockerfile provides
        # a library the binary links.
        self.assertEqual(runtime - set(direct), set(),
                         "runtime stage installs packages the binary does not link")


class BuildDependencies(unittest.TestCase):
    def test_build_stage_provides_what_meson_asks_for(self):
        build = apt_installed(stages(DOCKERFILE.read_text())[0][1])
        closure = dependency_closure(build)
        meson = (dt.REPO / "meson.build").read_text()
        modules = set(re.findall(r"dependency\('([^']+)'", meson)) - {"threads", "check"}
        headers = set(re.findall(r"has_header\('([^']+)'\)", meson))
        headers |= set(re.findall(r"has_headers: \['([^']+)'\]", meson))
        libraries = set(re.findall(r"find_library\('([^']+)'", meson))
        self.assertIn("libmicrohttpd", modules)
        self.assertIn("http_parser", libraries)
        for module in sorted(modules):
            with self.subTest(module=module):
                pc = subprocess.run(["pkg-config", "--path", module], capture_output=True,
                                    text=True, timeout=30)
                self.assertEqual(pc.returncode, 0, f"pkg-config knows no {module}")
                pkg = owner_package(pc.stdout.strip())
                self.assertIn(pkg, closure, f"{module}.pc comes from {pkg}")
        for lib in sorted(libraries):
            with self.subTest(library=lib):
                pkg = owner_package(f"/usr/lib/{dt.multiarch()}/lib{lib}.so")
                self.assertIn(pkg, closure, f"lib{lib}.so comes from {pkg}")
        for header in sorted(headers):
            with self.subTest(header=header):
                pkg = owner_package(f"/usr/include/{header}")
                self.assertIn(pkg, closure, f"{header} comes from {pkg}")
        for tool in ("meson", "ninja-build", "pkg-config", "python3", "gcc"):
            self.assertIn(tool, build)


class Canned503(threading.Thread):
    """A one-shot HTTP server answering 503, to prove the probe fails on it."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]

    def run(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(10)
                request = b""
                # Read the whole request head first, as a real server does.
                while b"\r\n\r\n" not in request and len(request) < 8192:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass
        finally:
            self.sock.close()


class HealthcheckScript(unittest.TestCase):
    def probe(self, addr):
        env = {"PATH": "/usr/bin:/bin"}
        if addr is not None:
            env["LIVEGATE_PRIVATE_ADDR"] = addr
        return subprocess.run(["bash", str(HEALTHCHECK)], env=env, capture_output=True,
                              text=True, timeout=15)

    def test_probe_against_real_livegate(self):
        with tempfile.TemporaryDirectory(prefix="lg-hc-") as tmp:
            redis, rport = dt.start_redis(tmp)
            try:
                lg, _, private, _ = dt.start_livegate(tmp, rport)
                try:
                    r = self.probe(f"127.0.0.1:{private}")
                    self.assertEqual(r.returncode, 0, r.stderr)
                    # A wildcard listen address is probed on loopback.
                    r = self.probe(f"0.0.0.0:{private}")
                    self.assertEqual(r.returncode, 0, r.stderr)
                finally:
                    self.assertEqual(lg.stop(), 0, lg.log())
                # Nothing listens any more: unhealthy.
                r = self.probe(f"127.0.0.1:{private}")
                self.assertNotEqual(r.returncode, 0)
            finally:
                redis.stop()

    def test_probe_fails_on_non_200(self):
        server = Canned503()
        server.start()
        r = self.probe(f"127.0.0.1:{server.port}")
        server.join(10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("503", r.stderr)

    def test_probe_rejects_bad_address(self):
        self.assertEqual(self.probe("127.0.0.1:http").returncode, 1)

    def test_image_probe_is_executable(self):
        self.assertTrue(os.access(HEALTHCHECK, os.X_OK))


if __name__ == "__main__":
    dt.main()
