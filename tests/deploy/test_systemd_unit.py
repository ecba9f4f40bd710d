#!/usr/bin/python3
"""deploy/livegate.service: `systemd-analyze verify`, the sandbox score of
`systemd-analyze security --offline`, and the settings the operations guide
relies on. Without systemd-analyze (Debian package systemd) the checks that
need it are reported as SKIPPED (exit 77), never as passed."""

import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import deploytest as dt

UNIT = dt.DEPLOY / "livegate.service"
ANALYZE = shutil.which("systemd-analyze")
# systemd-analyze security: exposure 0.0 (best) to 10.0; the threshold is x10.
MAX_EXPOSURE_X10 = 20


def unit_copy_with_exec(tmp):
    """The unit with ExecStart pointing at the built binary, so verify can
    check the command exists. Exactly one line is changed."""
    text = UNIT.read_text()
    new, n = re.subn(r"(?m)^ExecStart=/usr/local/bin/livegate$",
                     f"ExecStart={dt.livegate_bin()}", text)
    if n != 1:
        raise AssertionError("deploy/livegate.service: expected one "
                             "'ExecStart=/usr/local/bin/livegate' line")
    path = Path(tmp) / "livegate.service"
    path.write_text(new)
    return path


def service_settings():
    """[Service] keys of the unit, values of repeated keys in a list."""
    values = {}
    section = None
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


class UnitContent(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = service_settings()

    def one(self, key):
        self.assertIn(key, self.s, f"{key}= missing")
        return self.s[key][-1]

    def test_hardening(self):
        expect = {
            "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
            "PrivateTmp": "yes", "DynamicUser": "yes", "CapabilityBoundingSet": "",
            "Restart": "on-failure", "KillSignal": "SIGTERM",
        }
        for key, value in expect.items():
            with self.subTest(key=key):
                self.assertEqual(self.one(key), value)
        self.assertIn("@system-service", self.s["SystemCallFilter"])
        self.assertEqual(set(self.one("RestrictAddressFamilies").split()),
                         {"AF_INET", "AF_INET6", "AF_UNIX"})

    def test_files_and_signals(self):
        self.assertEqual(self.one("EnvironmentFile"), "/etc/livegate/livegate.env")
        self.assertEqual(self.one("ExecReload"), "/bin/kill -HUP $MAINPID")
        self.assertGreaterEqual(int(self.one("LimitNOFILE")), 65536)

    def test_stop_timeout_outlasts_drain(self):
        drain_s = int(dt.help_settings()["LIVEGATE_DRAIN_MS"]) / 1000
        m = re.fullmatch(r"(\d+)s?", self.one("TimeoutStopSec"))
        self.assertIsNotNone(m)
        self.assertGreater(int(m.group(1)), drain_s + 5)


@unittest.skipUnless(ANALYZE, "systemd-analyze not installed (apt-get install -y systemd)")
class SystemdAnalyze(unittest.TestCase):
    def test_verify(self):
        with tempfile.TemporaryDirectory(prefix="lg-unit-") as tmp:
            unit = unit_copy_with_exec(tmp)
            r = subprocess.run([ANALYZE, "verify", unit.name], cwd=tmp, capture_output=True,
                               text=True, timeout=60)
            # verify prints problems of *this* unit prefixed with its name;
            # other units on the machine are none of our business.
            ours = [l for l in (r.stdout + r.stderr).splitlines() if "livegate.service" in l]
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(ours, [])

    def test_security_exposure(self):
        with tempfile.TemporaryDirectory(prefix="lg-unit-") as tmp:
            unit = unit_copy_with_exec(tmp)
            r = subprocess.run([ANALYZE, "security", "--offline=yes",
                                f"--threshold={MAX_EXPOSURE_X10}", "--no-pager", unit.name],
                               cwd=tmp, capture_output=True, text=True, timeout=60)
            m = re.search(r"Overall exposure level for livegate\.service: (\d+\.\d+)", r.stdout)
            self.assertIsNotNone(m, r.stdout + r.stderr)
            self.assertEqual(r.returncode, 0,
                             f"exposure {m.group(1)} above {MAX_EXPOSURE_X10 / 10}:\n{r.stdout}")


if __name__ == "__main__":
    dt.main()
