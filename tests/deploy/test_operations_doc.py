#!/usr/bin/python3
"""docs/operations.md kept in step with the binary: every setting of
`livegate --help` in the settings table with the same flag and default, no
unknown LIVEGATE_ name anywhere in the text, every metric of GET /metrics
documented (and no documented metric missing), and working internal links."""

import re
import unittest

import yaml

import deploytest as dt

DOC = dt.DOCS / "operations.md"


def settings_table(text):
    """{var: (flag, default)} from the rows of the settings table."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*`(LIVEGATE_[A-Z0-9_]+)`\s*\|\s*`(--[a-z0-9-]+)`\s*\|([^|]*)\|", line)
        if m:
            var, flag, default = m.group(1), m.group(2), m.group(3).strip()
            if var in rows:
                raise AssertionError(f"{var} appears twice in the settings table")
            rows[var] = (flag, default.strip("`"))
    return rows


def slug(heading):
    """GitHub's anchor for a heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


class SettingsTable(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = DOC.read_text()
        cls.rows = settings_table(cls.text)
        cls.help = dt.help_settings()

    def test_every_setting_documented(self):
        self.assertEqual(set(self.help) - set(self.rows), set())

    def test_no_unknown_setting_documented(self):
        self.assertEqual(set(self.rows) - set(self.help), set())

    def test_defaults_match_help(self):
        for var, default in self.help.items():
            with self.subTest(var=var):
                self.assertEqual(self.rows[var][1], default)

    def test_flags_match_help(self):
        for var in self.help:
            flag = "--" + var[len("LIVEGATE_"):].lower().replace("_", "-")
            with self.subTest(var=var):
                self.assertEqual(self.rows[var][0], flag)

    def test_no_unknown_variable_in_text(self):
        named = set(re.findall(r"\bLIVEGATE_[A-Z0-9_]*[A-Z0-9]\b", self.text))
        self.assertEqual(named - set(self.help), set())


class MetricsDocumented(unittest.TestCase):
    def test_metrics_table_matches_binary(self):
        text = DOC.read_text()
        families, _ = dt.live_metric_families()
        table = {}
        for m in re.finditer(r"(?m)^\|\s*`(livegate_[a-z0-9_]+)(?:\{[^}]*\})?`\s*\|\s*(\w+)\s*\|", text):
            table[m.group(1)] = m.group(2)
        self.assertEqual(set(families) - set(table), set(), "metrics missing from the doc")
        self.assertEqual(set(table) - set(families), set(), "documented metrics the binary lacks")
        for name, kind in families.items():
            with self.subTest(metric=name):
                self.assertEqual(table[name], kind)
        # Names in prose, PromQL and alert examples exist too.
        mentioned = set(re.findall(r"\blivegate_[a-z0-9_]+", text))
        base = {re.sub(r"_(bucket|sum|count)$", "", n) if n not in families else n
                for n in mentioned}
        self.assertEqual(base - set(families), set())


class Snippets(unittest.TestCase):
    def test_compose_snippet_matches_the_shipped_service(self):
        # The lines the guide tells users to add to their own compose file.
        text = DOC.read_text()
        blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
        snippet = next(b["livegate"] for b in blocks if isinstance(b, dict) and "livegate" in b)
        shipped = yaml.safe_load((dt.DEPLOY / "docker-compose.yml").read_text())
        shipped = shipped["services"]["livegate"]
        known = dt.help_settings()
        self.assertEqual(set(snippet["environment"]) - set(known), set())
        for key in ("LIVEGATE_REDIS_URL", "LIVEGATE_PRIVATE_ADDR"):
            self.assertEqual(snippet["environment"][key], shipped["environment"][key])
        self.assertEqual(snippet["ports"], ["8080:8080"])
        self.assertEqual(snippet["ulimits"], shipped["ulimits"])
        self.assertEqual(snippet["stop_grace_period"], shipped["stop_grace_period"])
        self.assertEqual(snippet["depends_on"], shipped["depends_on"])


class Links(unittest.TestCase):
    def test_internal_links_resolve(self):
        text = DOC.read_text()
        anchors = {slug(h) for h in re.findall(r"(?m)^#+ (.+)$", text)}
        for target in re.findall(r"\]\(([^)]+)\)", text):
            with self.subTest(link=target):
                if target.startswith("#"):
                    self.assertIn(target[1:], anchors)
                elif not re.match(r"^[a-z]+://", target):
                    self.assertTrue((DOC.parent / target.split("#")[0]).exists())

    def test_shipped_files_exist(self):
        text = DOC.read_text()
        for path in set(re.findall(r"`(deploy/[A-Za-z0-9_.\-/]+)`", text)):
            with self.subTest(path=path):
                self.assertTrue((dt.REPO / path).exists(), path)


if __name__ == "__main__":
    dt.main()
