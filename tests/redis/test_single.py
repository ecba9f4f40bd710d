"""One Redis server (redis://): the pattern subscription covers every
channel under the prefix, joins are confirmed at once while it is up, a
restart resyncs every followed channel once, AUTH refusals are reported as
such (not as a later command's NOAUTH), the prefix is matched literally,
and a message published after the coverage began is always observed."""

import os
import random
import threading

import rharness
from rharness import Resp, wall_ms, wait_until


class SingleTest(rharness.TestCase):

    def url(self, r, cred=""):
        return f"redis://{cred}127.0.0.1:{r.port}"

    def test_pattern_covers_every_channel(self):
        r = self.redis()
        d = self.driver(self.url(r), "--observe", prefix="p:")
        d.wait_line(r"^link up data 127\.0\.0\.1:%d" % r.port)
        d.wait_line(r"^coverage \d+")
        d.wait_line(r"^ready 1")
        # one pattern on the server, none per channel
        self.assertEqual(r.cmd("PUBSUB", "NUMPAT"), 1)
        d.send("sub 1 a,b")
        d.wait_line(r"^subscribed 1$")           # confirmed inside the join
        self.assertEqual(r.cmd("PUBSUB", "CHANNELS"), [])
        self.assertEqual(r.publish("p:a", "hello world"), 1)
        d.wait_line(r"^msg a 1 hello world$")
        r.publish("p:cold", "x")                 # nobody follows it: observed only
        d.wait_line(r"^obs cold$")
        r.publish("other", "y")                  # outside the prefix
        r.publish("p:b", "z")
        d.wait_line(r"^msg b 1 z$")
        self.assertEqual(d.matching(r"^(obs|msg) (other|her)"), [])
        d.send("unsub 1")
        d.send("stats")
        m = d.wait_line(r"^stats messages=(\d+) .* channels=(\d+)")
        self.assertEqual(m.group(1), "3")
        self.assertEqual(m.group(2), "0")
        self.assertEqual(d.quit(), 0)

    def test_prefix_is_matched_literally(self):
        r = self.redis()
        prefix = "a*[x]?\\"
        d = self.driver(self.url(r), "--observe", prefix=prefix)
        d.wait_line(r"^ready 1")
        d.send("sub 1 ch")
        d.wait_line(r"^subscribed 1$")
        r.publish("aZZ[x]?\\ch", "glob")         # would match an unescaped a*
        r.publish("a*x?\\ch", "class")           # would match an unescaped [x]
        r.publish(prefix + "ch", "exact")
        d.wait_line(r"^msg ch 1 exact$")
        self.assertEqual(d.matching(r"glob|class"), [])

    def test_restart_resyncs_each_channel_once(self):
        r = self.redis()
        d = self.driver(self.url(r), "--backoff-base-ms", 50, "--backoff-cap-ms", 400, prefix="")
        d.wait_line(r"^ready 1")
        d.send("sub 1 a,b")
        d.send("sub 2 b")
        d.wait_line(r"^subscribed 2$")
        r.kill()
        d.wait_line(r"^link down data .* cause=eof")
        d.wait_line(r"^coverage -1$")
        d.wait_line(r"^ready 0$")
        d.send("sub 3 c")                       # a join during the outage waits
        mark = d.mark()
        r.start()
        d.wait_line(r"^link up data")
        d.wait_line(r"^ready 1$")
        d.wait_line(r"^subscribed 3$", since=mark)
        resyncs = sorted(d.matching(r"^resync ", since=mark))
        self.assertEqual(resyncs, ["resync a 1", "resync b 2"])   # c was never confirmed
        self.assertEqual(r.publish("c", "after"), 1)
        d.wait_line(r"^msg c 1 after$")
        d.send("stats")
        m = d.wait_line(r"^stats messages=\d+ reconnects=(\d+) link_downs=(\d+)")
        self.assertEqual((m.group(1), m.group(2)), ("1", "1"))

    def test_wrong_password_is_reported_as_auth_refused(self):
        r = self.redis(password="s3cret")
        d = self.driver(self.url(r, ":wrong@"), "--backoff-base-ms", 50,
                        "--backoff-cap-ms", 200)
        m = d.wait_line(r"^link retry data .* cause=(\S+) retry=\d+ detail=(.*)$")
        self.assertEqual(m.group(1), "auth")
        self.assertIn("AUTH refused", m.group(2))
        self.assertIn("WRONGPASS", m.group(2))
        self.assertNotIn("NOAUTH", m.group(2))
        self.assertNotIn("wrong", m.group(2).replace("WRONGPASS", ""))  # never the password
        # It keeps retrying, every time for the same reason.
        for _ in range(2):
            m = d.wait_line(r"^link retry data .* cause=(\S+)")
            self.assertEqual(m.group(1), "auth")
        self.assertEqual(d.matching(r"^ready 1"), [])

    def test_missing_password_is_reported_as_auth(self):
        r = self.redis(password="s3cret")
        d = self.driver(self.url(r))
        m = d.wait_line(r"^link retry data .* cause=(\S+) retry=\d+ detail=(.*)$")
        self.assertEqual(m.group(1), "auth")
        self.assertIn("requires a password", m.group(2))

    def test_acl_user_password_and_db(self):
        r = self.redis(password="admin-pw")
        self.assertEqual(r.cmd("ACL", "SETUSER", "live", "on", ">p@ss:w/rd", "~*", "&*",
                               "+@all"), "OK")
        d = self.driver(self.url(r, "live:p%40ss:w/rd@") + "/3")
        d.wait_line(r"^ready 1")
        d.send("sub 1 t")
        d.wait_line(r"^subscribed 1$")
        c = Resp(r.port, password="p@ss:w/rd", user="live")
        self.assertEqual(c.cmd("PUBLISH", "t", "acl"), 1)
        c.close()
        d.wait_line(r"^msg t 1 acl$")

    def test_host_name_is_resolved(self):
        r = self.redis()
        d = self.driver(f"redis://localhost:{r.port}")
        d.wait_line(r"^link up data localhost:%d" % r.port)

    def test_client_kill_resyncs(self):
        r = self.redis()
        d = self.driver(self.url(r), "--backoff-base-ms", 20, "--backoff-cap-ms", 100)
        d.wait_line(r"^ready 1")
        d.send("sub 1 k")
        d.wait_line(r"^subscribed 1$")
        self.assertEqual(r.cmd("CLIENT", "KILL", "TYPE", "pubsub"), 1)
        d.wait_line(r"^link down data")
        d.wait_line(r"^resync k 1$")
        r.publish("k", "back")
        d.wait_line(r"^msg k 1 back$")

    def test_published_after_coverage_is_always_observed(self):
        """The catch-up's contract: a PUBLISH sent after the driver read the
        pattern's confirmation (its coverage line) is observed, across
        reconnects. One connection publishes and kills, so the server sees
        them in that order."""
        r = self.redis()
        d = self.driver(self.url(r), "--observe", "--backoff-base-ms", 10,
                        "--backoff-cap-ms", 50, prefix="c:")
        d.wait_line(r"^coverage \d+")
        c = r.client()
        sent = []            # (wall ms before the PUBLISH, name)
        kills = []           # index into sent of each CLIENT KILL
        rnd = random.Random(7)

        def publish():
            name = f"ch{rnd.randrange(50)}-{len(sent)}"
            sent.append((wall_ms(), name))
            c.cmd("PUBLISH", "c:" + name, "x")

        for k in range(6):
            for _ in range(250):
                publish()
            kills.append(len(sent))
            covered = len(d.matching(r"^coverage \d+"))
            c.cmd("CLIENT", "KILL", "TYPE", "pubsub")
            # keep publishing through the gap, until coverage is back
            wait_until(lambda: publish() or len(d.matching(r"^coverage \d+")) > covered,
                       20, "coverage again after CLIENT KILL", interval=0)
        for _ in range(250):
            publish()
        # One connection: once the last is observed, all before it were.
        c.cmd("PUBLISH", "c:the-end", "x")
        c.close()
        d.wait_line(r"^obs the-end$")
        observed = set(l.split()[1] for l in d.matching(r"^obs "))
        starts = [int(l.split()[1]) for l in d.matching(r"^coverage \d+")]
        self.assertEqual(len(starts), len(kills) + 1)
        # Window k runs from coverage k to kill k: everything sent in it
        # after the coverage began must have been observed.
        must, missed = 0, []
        bounds = kills + [len(sent)]
        for k, start in enumerate(starts):
            lo = 0 if k == 0 else bounds[k - 1]
            for t, name in sent[lo:bounds[k]]:
                if t > start:
                    must += 1
                    if name not in observed:
                        missed.append(name)
        self.assertGreaterEqual(must, 6 * 250)   # (same-ms sends are not counted)
        self.assertEqual(missed, [])

if __name__ == "__main__":
    rharness.main()
