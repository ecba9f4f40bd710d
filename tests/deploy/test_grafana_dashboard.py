#!/usr/bin/python3
"""deploy/grafana-dashboard.json: importable shape (unique ids, layout on the
24-column grid without overlaps, the data-source variable), the panels the
operations guide promises, and every metric it queries present on a real
livegate's GET /metrics with the labels the queries group by."""

import json
import re
import unittest

import deploytest as dt

DASHBOARD = dt.DEPLOY / "grafana-dashboard.json"


def load():
    return json.loads(DASHBOARD.read_text())


def exprs(dash):
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


def metric_names(expr):
    """livegate_* series names a PromQL expression reads."""
    return set(re.findall(r"\b(livegate_[a-z0-9_]+)", expr))


def family(series, families):
    """The metric family a series name belongs to (histogram suffixes)."""
    if series in families:
        return series
    base = re.sub(r"_(bucket|sum|count)$", "", series)
    if families.get(base) == "histogram":
        return base
    return None


class Shape(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dash = load()
        cls.panels = cls.dash["panels"]

    def test_identity(self):
        self.assertEqual(self.dash["uid"], "livegate")
        self.assertEqual(self.dash["title"], "livegate")
        # A data-source variable (not an import-only __inputs entry), so the
        # file works both through Dashboards > Import and file provisioning.
        self.assertNotIn("__inputs", self.dash)
        variables = {v["name"]: v for v in self.dash["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        self.assertEqual(variables["instance"]["datasource"]["uid"], "${datasource}")

    def test_unique_ids(self):
        ids = [p["id"] for p in self.panels]
        self.assertEqual(len(ids), len(set(ids)))

    def test_grid_layout(self):
        cells = set()
        for p in self.panels:
            g = p["gridPos"]
            with self.subTest(panel=p["title"]):
                self.assertGreaterEqual(g["x"], 0)
                self.assertLessEqual(g["x"] + g["w"], 24)
                self.assertGreater(g["h"], 0)
                for x in range(g["x"], g["x"] + g["w"]):
                    for y in range(g["y"], g["y"] + g["h"]):
                        self.assertNotIn((x, y), cells, "panels overlap")
                        cells.add((x, y))

    def test_queries_use_the_input_datasource(self):
        for p in self.panels:
            if p["type"] == "row":
                continue
            with self.subTest(panel=p["title"]):
                self.assertEqual(p["datasource"]["uid"], "${datasource}")
                self.assertTrue(p["targets"])
                refs = [t["refId"] for t in p["targets"]]
                self.assertEqual(len(refs), len(set(refs)))
                for t in p["targets"]:
                    self.assertEqual(t["datasource"]["uid"], "${datasource}")
                    self.assertIn('instance=~"$instance"', t["expr"])

    def test_promised_panels(self):
        all_exprs = "\n".join(exprs(self.dash))
        wanted = [
            r"livegate_connections\{",
            r"livegate_channels\{",
            r"rate\(livegate_frames_delivered_total\{",
            r"rate\(livegate_redis_messages_total\{",
            r"histogram_quantile\(0\.5, sum by \(le\) \(rate\(livegate_delivery_seconds_bucket\{",
            r"histogram_quantile\(0\.99, sum by \(le\) \(rate\(livegate_delivery_seconds_bucket\{",
            r"sum by \(reason\) \(rate\(livegate_auth_failures_total\{",
            r"sum by \(code\) \(rate\(livegate_closes_total\{",
            r"livegate_redis_connected\{",
            r"livegate_redis_reconnects_total\{",
        ]
        for pattern in wanted:
            with self.subTest(pattern=pattern):
                self.assertRegex(all_exprs, pattern)

    def test_balanced_brackets(self):
        for e in exprs(self.dash):
            with self.subTest(expr=e):
                depth = 0
                for ch in e:
                    depth += {"(": 1, "{": 1, "[": 1, ")": -1, "}": -1, "]": -1}.get(ch, 0)
                    self.assertGreaterEqual(depth, 0)
                self.assertEqual(depth, 0)


class AgainstBinary(unittest.TestCase):
    def test_every_queried_metric_exists(self):
        families, labels = dt.live_metric_families()
        for e in exprs(load()):
            fams = set()
            for series in metric_names(e):
                fam = family(series, families)
                with self.subTest(series=series):
                    self.assertIsNotNone(fam, f"{series} is not on GET /metrics")
                fams.add(fam)
            # Every label a query groups by is one its metrics carry
            # (instance and job are added by Prometheus).
            for by in re.findall(r"by \(([a-z_, ]+)\)", e):
                for label in (l.strip() for l in by.split(",")):
                    if label in ("instance", "job"):
                        continue
                    with self.subTest(expr=e, label=label):
                        self.assertTrue(all(label in labels.get(f, set()) for f in fams if f),
                                        f"{label} is not a label of {fams}")


if __name__ == "__main__":
    dt.main()
