"""redis+sentinel://: a master, a replica and three sentinels started here.
The subscriber finds the master through the sentinels (falling over to the
next sentinel when one is down), follows a failover when the master is
killed mid-session (link down, then up on the promoted replica, a resync of
every channel, then every later publish), and reports the sentinel link."""

import threading
import time

import rharness
from rharness import Resp, wait_until

MASTER = "mymaster"


class SentinelSet:
    """master + replica + 3 sentinels with fast failover settings."""

    def __init__(self, start, password=None, replicas=1):
        """start(**kw) starts a RedisServer and arranges for its stop."""
        self.master = start(password=password)
        self.replicas = [start(password=password, replicaof=self.master.port)
                         for _ in range(replicas)]
        self.replica = self.replicas[0]
        self.sentinels = []
        for _ in range(3):
            extra = [f"sentinel monitor {MASTER} 127.0.0.1 {self.master.port} 2",
                     f"sentinel down-after-milliseconds {MASTER} 1000",
                     f"sentinel failover-timeout {MASTER} 5000",
                     f"sentinel parallel-syncs {MASTER} 1"]
            if password:
                extra.append(f"sentinel auth-pass {MASTER} {password}")
            self.sentinels.append(start(sentinel=True, extra=extra))
        wait_until(self.settled, 30, "sentinels to know the replica and each other",
                   interval=0.2)

    def settled(self):
        try:
            for s in self.sentinels:
                if len(s.cmd("SENTINEL", "replicas", MASTER)) < len(self.replicas):
                    return False
                if len(s.cmd("SENTINEL", "sentinels", MASTER)) < 2:
                    return False
            info = self.master.cmd("INFO", "replication")
            return info.count("state=online") == len(self.replicas)
        except (OSError, rharness.RespError):
            return False

    def url(self, cred=""):
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{cred}{hosts}/{MASTER}"

    def master_port(self):
        for s in self.sentinels:
            try:
                return int(s.cmd("SENTINEL", "get-master-addr-by-name", MASTER)[1])
            except (OSError, rharness.RespError):
                continue
        raise AssertionError("no sentinel answers")


class FailoverTest(rharness.TestCase):

    def test_failover_mid_session(self):
        ss = SentinelSet(self.redis, password="pw", replicas=2)
        d = self.driver(ss.url(":pw@"), "--backoff-base-ms", 50, "--backoff-cap-ms", 500,
                        "--idle-ms", 500, "--dead-ms", 500, prefix="s:")
        d.wait_line(r"^link up data 127\.0\.0\.1:%d " % ss.master.port)
        d.wait_line(r"^ready 1$")
        d.wait_line(r"^link up sentinel ", since=0)
        d.send("sub 1 a,b")
        d.send("sub 2 b")
        d.wait_line(r"^subscribed 2$")
        self.assertEqual(ss.master.publish("s:a", "before"), 1)
        d.wait_line(r"^msg a 1 before$")

        # A publisher writes to whichever master the sentinels name, all
        # through the failover; every message must arrive or be covered.
        published, stop = [], threading.Event()

        def publisher():
            c, i = None, 0
            while not stop.is_set():
                try:
                    if c is None:
                        c = Resp(ss.master_port(), password="pw", timeout=1.0)
                    payload = f"seq-{i}"
                    t = time.monotonic()
                    c.cmd("PUBLISH", "s:a", payload)
                    published.append((t, payload))
                    i += 1
                except (OSError, rharness.RespError, AssertionError):
                    if c is not None:
                        c.close()
                    c = None
                    time.sleep(0.05)
                time.sleep(0.01)
            if c is not None:
                c.close()

        pub = threading.Thread(target=publisher)
        pub.start()
        self.addCleanup(stop.set)
        time.sleep(0.5)

        # 1. A manual failover: the old master stays up, so only
        #    +switch-master (or the lookup it triggers) moves the link.
        mark = d.mark()
        ss.sentinels[0].cmd("SENTINEL", "FAILOVER", MASTER)
        first = self.follow(d, ss.master.port, mark)
        promoted = next(r for r in ss.replicas if r.port == first)
        other = next(r for r in ss.replicas if r.port != first)
        wait_until(lambda: "master_link_status:up" in other.cmd("INFO", "replication") and
                   f"master_port:{first}" in other.cmd("INFO", "replication"),
                   30, "the other replica to follow the new master", interval=0.1)
        time.sleep(0.5)
        # 2. The new master is killed mid-session: a replica takes over.
        mark = d.mark()
        promoted.kill()
        self.follow(d, first, mark)
        newest = ss.master_port()
        self.assertIn(newest, (ss.master.port, other.port))
        time.sleep(0.5)
        stop.set()
        pub.join()
        self.assertGreater(len(published), 100)
        d.settle("a", published)
        self.assertEqual(d.uncovered("a", published), [])
        # Every later publish arrives.
        c = Resp(newest, password="pw")
        for i in range(200):
            self.assertEqual(c.cmd("PUBLISH", "s:b", f"after-{i}"), 1)
        c.close()
        d.wait_line(r"^msg b 2 after-199$")
        got = [l for l in d.matching(r"^msg b 2 after-", since=mark)]
        self.assertEqual(got, [f"msg b 2 after-{i}" for i in range(200)])
        # livegate's publisher finds the master through the sentinels
        lp = self.publisher(ss.url(":pw@"), prefix="s:")
        self.assertEqual(lp.publish("b", "via sentinel")[:2], ("ok", 1))
        d.wait_line(r"^msg b 2 via sentinel$")
        # each failover is one reconnect
        d.send("stats")
        m = d.wait_line(r"^stats messages=\d+ reconnects=(\d+) link_downs=(\d+)")
        self.assertEqual((m.group(1), m.group(2)), ("2", "2"))

    def follow(self, d, old, mark):
        """The link leaves port old and comes up on another, with one resync
        per channel and readiness lost meanwhile. Returns the new port."""
        d.wait_line(r"^link down data 127\.0\.0\.1:%d " % old, timeout=40, since=mark)
        d.wait_line(r"^ready 0$", since=mark)
        up = d.wait_line(r"^link up data 127\.0\.0\.1:(?!%d )(\d+) " % old, timeout=40,
                         since=mark)
        d.wait_line(r"^ready 1$")
        d.wait_line(r"^resync b 2$", since=mark)
        self.assertEqual(sorted(d.matching(r"^resync ", since=mark)),
                         ["resync a 1", "resync b 2"])
        return int(up.group(1))


class LookupTest(rharness.TestCase):
    """Tests that leave the set as they found it share one."""

    @classmethod
    def setUpClass(cls):
        cls.ss = SentinelSet(cls.class_redis)

    def test_unknown_master_name_is_reported(self):
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.ss.sentinels)
        d = self.driver(f"redis+sentinel://{hosts}/nosuchmaster", "--backoff-base-ms", 50)
        m = d.wait_line(r"^link retry data .* detail=(.*)$")
        self.assertIn("does not know master 'nosuchmaster'", m.group(1))

    def test_zz_falls_over_to_the_next_sentinel(self):
        ss = self.ss
        ss.sentinels[0].kill()      # last test of the class: it may break the set
        d = self.driver(ss.url(), prefix="")
        d.wait_line(r"^link retry sentinel 127\.0\.0\.1:%d .*cause=connect"
                    % ss.sentinels[0].port)
        d.wait_line(r"^link up data 127\.0\.0\.1:%d " % ss.master.port)
        d.wait_line(r"^ready 1$")
        d.send("sub 1 x")
        d.wait_line(r"^subscribed 1$")
        ss.master.publish("x", "via second sentinel")
        d.wait_line(r"^msg x 1 via second sentinel$")

if __name__ == "__main__":
    rharness.main()
