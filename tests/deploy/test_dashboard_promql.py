#!/usr/bin/python3
"""Every PromQL query of deploy/grafana-dashboard.json and every alert
example of docs/operations.md parses: they are written out as recording and
alerting rules and checked with `promtool check rules` (Debian package
prometheus). Without promtool this is reported as SKIPPED (exit 77)."""

import json
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import yaml

import deploytest as dt

PROMTOOL = shutil.which("promtool")


def dashboard_rules():
    dash = json.loads((dt.DEPLOY / "grafana-dashboard.json").read_text())
    rules = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            # Grafana variables are not PromQL: give them concrete values.
            expr = t["expr"].replace("$__rate_interval", "5m").replace("$instance", ".*")
            rules.append({"record": f"livegate:panel{p['id']}_{t['refId'].lower()}", "expr": expr})
    return rules


def doc_alert_groups():
    """The yaml block of docs/operations.md that starts with `groups:`."""
    text = (dt.DOCS / "operations.md").read_text()
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        if block.startswith("groups:"):
            return yaml.safe_load(block)["groups"]
    raise AssertionError("docs/operations.md has no alert rules block")


@unittest.skipUnless(PROMTOOL, "promtool not installed (apt-get install -y prometheus)")
class PromtoolRules(unittest.TestCase):
    def check(self, groups):
        with tempfile.TemporaryDirectory(prefix="lg-promql-") as tmp:
            path = Path(tmp) / "rules.yml"
            path.write_text(yaml.safe_dump({"groups": groups}))
            r = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return r.stdout

    def test_dashboard_queries_parse(self):
        rules = dashboard_rules()
        self.assertGreater(len(rules), 10)
        out = self.check([{"name": "dashboard", "rules": rules}])
        self.assertIn(f"{len(rules)} rules found", out)

    def test_doc_alerts_parse(self):
        groups = doc_alert_groups()
        out = self.check(groups)
        self.assertRegex(out, r"\d+ rules found")


if __name__ == "__main__":
    dt.main()
