#!/usr/bin/python3
"""docs/protocol.md, the repository's written contract, kept in step with
the code: its settings table is `livegate --help` (every setting, flag and
default), its close-code table names every code the workers send and every
reason they give (the literal ones in conn_close calls, the frame faults,
the client-message faults and the token refusals), and its internal links
resolve."""

import re
import unittest

import deploytest as dt
from test_operations_doc import settings_table, slug

DOC = dt.DOCS / "protocol.md"
WORKER = dt.REPO / "worker"


def close_table(text):
    """{code: row text} of the close-code table."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*(\d{4})\s*\|(.*)\|\s*$", line)
        if m:
            rows[int(m.group(1))] = m.group(2)
    return rows


def sent_closes():
    """(codes, reasons) the worker's conn_close calls can send."""
    codes, reasons = set(), set()
    for path in sorted(WORKER.glob("*.c")):
        text = path.read_text()
        for call in re.findall(r"conn_close\(c,(.*?)\);", text, re.S):
            codes |= {int(n) for n in re.findall(r"\b([1-4]\d{3})\b", call)}
            reasons |= set(re.findall(r'"([^"]+)"', call))
    text = (WORKER / "ws.c").read_text()
    body = text[text.index("static const char *fault_text"):]
    body = body[:body.index("\n}\n")]
    reasons |= set(re.findall(r'return "([^"]+)"', body))
    msg = (dt.REPO / "wire" / "client_msg.c").read_text()
    reasons |= set(re.findall(r'bad\(m, "([^"]+)"\)', msg))
    token = (dt.REPO / "auth" / "token.c").read_text()
    names = re.findall(r'\[LG_TOKEN_[A-Z_]+\]\s*=\s*"([^"]+)"', token)
    reasons |= {n for n in names if n != "ok"}
    return codes, reasons


class ProtocolDoc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = DOC.read_text()

    def test_settings_are_the_binarys(self):
        rows = settings_table(self.text)
        help_ = dt.help_settings()
        self.assertEqual(set(rows), set(help_))
        for var, default in help_.items():
            with self.subTest(var=var):
                self.assertEqual(rows[var][1], default)
                self.assertEqual(rows[var][0],
                                 "--" + var[len("LIVEGATE_"):].lower().replace("_", "-"))

    def test_every_close_code_and_reason_is_documented(self):
        table = close_table(self.text)
        codes, reasons = sent_closes()
        self.assertGreater(len(codes), 6, codes)
        self.assertGreater(len(reasons), 15, reasons)
        self.assertEqual(codes - set(table), set(), "codes the workers send, not in the table")
        section = "\n".join(table.values())
        for reason in sorted(reasons):
            with self.subTest(reason=reason):
                self.assertIn(f"`{reason}`", section)

    def test_links_resolve(self):
        anchors = {slug(h) for h in re.findall(r"^#+ (.+)$", self.text, re.M)}
        for target in re.findall(r"\]\(([^)]+)\)", self.text):
            with self.subTest(link=target):
                if target.startswith("#"):
                    self.assertIn(target[1:], anchors)
                elif not target.startswith("http"):
                    self.assertTrue((DOC.parent / target.split("#")[0]).exists(), target)


if __name__ == "__main__":
    dt.main()
