"""redis+cluster://: a cluster of 3 masters with a replica each, created here
with redis-cli --cluster create. Sharded mode (the default): each channel is
SSUBSCRIBEd on the master owning its slot; a slot migrated with redis-cli
--cluster reshard while publishing, and a master killed (its replica
promoted) while publishing, are outages of the channels they touch only:
every channel gets every message or a resync read after it (the checker),
untouched channels get no resync. Global mode: one PSUBSCRIBE on any node,
moving to another node when that one dies."""

import threading
import time

import rharness
from rharness import Cluster, ClusterPublisher, key_slot, wait_until

PREFIX = "c:"


def names_in(slots, count, taken=()):
    """count channel names whose prefixed slot is in slots."""
    out, i = [], 0
    while len(out) < count:
        name = f"ch{i}"
        if key_slot(PREFIX + name) in slots and name not in taken:
            out.append(name)
        i += 1
    return out


class Publishing:
    """A thread publishing a sequence on each channel in turn until stopped;
    published[channel] = [(monotonic send time, payload)]."""

    def __init__(self, cluster, channels, sharded=True):
        self.pub = ClusterPublisher(cluster, sharded=sharded)
        self.channels = channels
        self.published = {c: [] for c in channels}
        self.receivers = {}
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        i = 0
        while not self.stop_ev.is_set():
            for c in self.channels:
                payload = f"{c}-{i}"
                t, n = self.pub.publish(PREFIX + c, payload)
                self.published[c].append((t, payload))
                self.receivers[payload] = (n, self.pub.last_port)
            i += 1
            time.sleep(0.005)

    def stop(self):
        self.stop_ev.set()
        self.thread.join()
        self.pub.close()


class ClusterTest(rharness.TestCase):
    """One cluster for the class; the tests run in name order and the last
    ones change it (a reshard, then a dead master)."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(cls.class_redis)

    def setUp(self):
        super().setUp()
        wait_until(self.cluster.healthy, 30, "a healthy cluster", interval=0.2)

    def sharded_driver(self, *args):
        d = self.driver(f"redis+cluster://{self.cluster.seeds()}", "--backoff-base-ms", 50,
                        "--backoff-cap-ms", 500, "--idle-ms", 500, "--dead-ms", 500,
                        *args, prefix=PREFIX)
        d.wait_line(r"^ready 1$")
        return d

    def subscribed_at_owner(self, names):
        """Every channel is subscribed on the master owning its slot."""
        for name in names:
            owner = self.cluster.owner(key_slot(PREFIX + name))
            if PREFIX + name not in owner.cmd("PUBSUB", "SHARDCHANNELS"):
                return False
        return True

    def check(self, d, pubs, since=0):
        for c, published in pubs.published.items():
            self.assertGreater(len(published), 5, c)
            d.settle(c, published)
            lost = d.uncovered(c, published, since)
            self.assertEqual(lost, [], f"channel {c}: (receivers, port) "
                             f"{[pubs.receivers.get(p) for p in lost]}")

    def test_1_channels_spread_over_the_masters(self):
        d = self.sharded_driver()
        names = [f"ch{i}" for i in range(30)]
        d.send("sub 1 " + ",".join(names))
        d.wait_line(r"^subscribed 1$")
        self.assertTrue(self.subscribed_at_owner(names))
        owners = set(self.cluster.owner(key_slot(PREFIX + n)).port for n in names)
        self.assertEqual(len(owners), 3)              # spread over every master
        # livegate's own publisher: SPUBLISH at each slot's master
        lp = self.publisher(f"redis+cluster://{self.cluster.seeds(1)}", prefix=PREFIX)
        for n in names:
            self.assertEqual(lp.publish(n, "x-" + n)[:2], ("ok", 1), n)
        for n in names:
            d.wait_line(r"^msg %s 1 x-%s$" % (n, n), since=0)
        d.send("stats")
        m = d.wait_line(r"^stats .* links_up=(\d+) links=(\d+) ready=1")
        self.assertEqual((m.group(1), m.group(2)), ("3", "3"))
        # the last leave unsubscribes at the owner
        d.send("unsub 1")
        wait_until(lambda: all(self.cluster.node(p).cmd("PUBSUB", "SHARDCHANNELS") == []
                               for p in self.cluster.masters()), 10, "SUNSUBSCRIBE everywhere")

    def test_2_global_mode_is_one_pattern_on_any_node(self):
        d = self.driver(f"redis+cluster://{self.cluster.seeds()}", "--cluster-pubsub", "global",
                        "--observe", prefix=PREFIX)
        d.wait_line(r"^link up data 127\.0\.0\.1:%d " % self.cluster.nodes[0].port)
        d.wait_line(r"^ready 1$")
        self.assertEqual(self.cluster.nodes[0].cmd("PUBSUB", "NUMPAT"), 1)
        d.send("sub 1 g")
        d.wait_line(r"^subscribed 1$")
        # PUBLISH on any node reaches it: the cluster bus broadcasts
        for n in self.cluster.alive():
            n.publish(PREFIX + "g", f"from-{n.port}")
            d.wait_line(r"^msg g 1 from-%d$" % n.port)
        self.cluster.nodes[-1].publish(PREFIX + "cold", "y")
        d.wait_line(r"^obs cold$")
        lp = self.publisher(f"redis+cluster://{self.cluster.seeds()}", "--cluster-pubsub",
                            "global", prefix=PREFIX)
        self.assertEqual(lp.publish("g", "via livegate")[0], "ok")
        d.wait_line(r"^msg g 1 via livegate$")

    def test_3_reshard_while_publishing(self):
        cl = self.cluster
        start, end, src_port = cl.slot_map()[0]
        dst_port = next(p for p in cl.masters() if p != src_port)
        moving = 40                                  # reshard takes a source's first slots
        moved = names_in(range(start, start + moving), 4)
        late = names_in(range(start, start + moving), 1, moved)[0]
        stay = names_in(range(start + 200, end + 1), 2, moved + [late])
        stay += [n for n in names_in(range(0, 16384), 8, moved + stay + [late])
                 if key_slot(PREFIX + n) not in range(start, end + 1)][:2]
        # d2 follows nothing while the slots move: its map goes stale, and a
        # later join in a moved slot is answered MOVED.
        d2 = self.sharded_driver()
        d = self.sharded_driver()
        lp = self.publisher(f"redis+cluster://{cl.seeds()}", prefix=PREFIX)
        self.assertEqual(lp.publish(late, "map read")[0], "ok")    # its map is now stale-to-be
        d.send("sub 1 " + ",".join(moved + stay))
        d.wait_line(r"^subscribed 1$")
        pubs = Publishing(cl, moved + stay)
        try:
            time.sleep(0.5)
            mark = d.mark()
            cl.cli("redis-cli", "--cluster", "reshard", f"127.0.0.1:{src_port}",
                   "--cluster-from", cl.node_id(cl.node(src_port)),
                   "--cluster-to", cl.node_id(cl.node(dst_port)),
                   "--cluster-slots", str(moving), "--cluster-yes")
            wait_until(cl.healthy, 30, "the cluster to agree after the reshard")
            for n in moved:
                self.assertEqual(cl.owner(key_slot(PREFIX + n)).port, dst_port)
            for n in moved:
                d.wait_line(r"^resync %s 1$" % n, since=mark)
            wait_until(lambda: self.subscribed_at_owner(moved + stay), 20,
                       "every channel subscribed at its new owner")
            time.sleep(0.5)
        finally:
            pubs.stop()
        self.check(d, pubs)
        d2.send(f"sub 1 {late}")
        d2.wait_line(r"^subscribed 1$")
        self.assertTrue(self.subscribed_at_owner([late]))
        ClusterPublisher(cl).publish(PREFIX + late, "after the move")
        d2.wait_line(r"^msg %s 1 after the move$" % late)
        # livegate's publisher follows the MOVED answer of its stale map
        self.assertEqual(lp.publish(late, "moved publish")[:2], ("ok", 1))
        d2.wait_line(r"^msg %s 1 moved publish$" % late)
        self.assertEqual(d2.matching(r"^link (down|retry) data"), [])   # MOVED is no failure
        # an outage of the moved channels only
        for n in stay:
            self.assertEqual(d.matching(r"^resync %s " % n), [], n)
        self.assertEqual(d.matching(r"^link (down|retry) data"), [])

    def test_4_master_killed_and_replica_promoted(self):
        cl = self.cluster
        victim = cl.node(cl.masters()[0])
        vslots = [(s, e) for s, e, p in cl.slot_map() if p == victim.port]
        on_victim = names_in(set(x for s, e in vslots for x in range(s, e + 1)), 4)
        elsewhere = [n for n in (f"k{i}" for i in range(40))
                     if cl.owner(key_slot(PREFIX + n)).port != victim.port][:4]
        d = self.sharded_driver()
        d.send("sub 1 " + ",".join(on_victim + elsewhere))
        d.wait_line(r"^subscribed 1$")
        # a global-mode subscriber on the victim, to see it move as well
        g_seeds = ",".join(f"127.0.0.1:{p}" for p in
                           [victim.port] + [n.port for n in cl.alive() if n is not victim][:2])
        g = self.driver(f"redis+cluster://{g_seeds}", "--cluster-pubsub", "global",
                        "--backoff-base-ms", 50, "--backoff-cap-ms", 300, prefix=PREFIX)
        g.wait_line(r"^link up data 127\.0\.0\.1:%d " % victim.port)
        g.send("sub 1 " + ",".join(elsewhere))
        g.wait_line(r"^subscribed 1$")
        lp = self.publisher(f"redis+cluster://{cl.seeds()}", "--timeout-ms", 1000,
                            prefix=PREFIX)
        self.assertEqual(lp.publish(on_victim[0], "before")[0], "ok")
        pubs = Publishing(cl, on_victim + elsewhere)
        gpubs = Publishing(cl, elsewhere, sharded=False)
        try:
            time.sleep(0.5)
            mark, gmark = d.mark(), g.mark()
            victim.kill()
            d.wait_line(r"^link down data 127\.0\.0\.1:%d " % victim.port, since=mark)
            d.wait_line(r"^ready 0$", since=mark)
            wait_until(cl.healthy, 40, "a replica promoted in the victim's place",
                       interval=0.2)
            d.wait_line(r"^ready 1$", timeout=30, since=mark)
            for n in on_victim:
                d.wait_line(r"^resync %s 1$" % n, since=mark)
            wait_until(lambda: self.subscribed_at_owner(on_victim + elsewhere), 20,
                       "every channel subscribed at its owner")
            g.wait_line(r"^link down data 127\.0\.0\.1:%d " % victim.port, since=gmark)
            g.wait_line(r"^link up data ", since=gmark)
            time.sleep(0.5)
        finally:
            pubs.stop()
            gpubs.stop()
        self.check(d, pubs)
        for n in elsewhere:
            self.assertEqual(d.matching(r"^resync %s " % n), [], n)
        self.check(g, gpubs)
        # livegate's publisher finds the promoted replica (each try bounded)
        res = None
        for _ in range(20):
            res = lp.publish(on_victim[0], "after failover")
            self.assertLess(res[2] if res[0] == "ok" else res[1], 5000)
            if res[0] == "ok":
                break
        self.assertEqual(res[:2], ("ok", 1))
        self.assertEqual(len(g.matching(r"^resync ")), len(elsewhere))
        d.send("stats")
        m = d.wait_line(r"^stats .* links_up=(\d+) links=(\d+) ready=1")
        self.assertEqual((m.group(1), m.group(2)), ("3", "3"))   # the dead one is gone


if __name__ == "__main__":
    rharness.main()
