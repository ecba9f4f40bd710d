"""The livegate binary itself on production Redis (issue 16), end to end as
a user runs it: rediss:// with a private CA and a client certificate,
redis+sentinel:// through a master failover, redis+cluster:// with sharded
pub/sub (SPUBLISH from redis-cli -c and from /v1/publish). The links are
tested in depth through the driver (test_tls, test_sentinel, test_cluster);
this file proves the binary is wired to them: settings, /readyz, resync,
the private API's publisher."""

import asyncio
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
import rharness  # noqa: E402
from rharness import Cluster, key_slot  # noqa: E402
from test_sentinel import MASTER, SentinelSet  # noqa: E402

OUTAGE = 30.0


def start_livegate(test, url, env=None):
    lg = harness.Livegate(env={"LIVEGATE_REDIS_URL": url, **(env or {})})
    test.addCleanup(lg.stop)
    test.addCleanup(lambda: test._outcome.success or sys.stderr.write(lg.log_tail()))
    lg.start()
    return lg


async def subscribe(lg, channels):
    ws, frame = await harness.subscribe(lg.ws_url, harness.mint_pyjwt(channels))
    assert frame["type"] == "subscribed", frame
    return ws


async def next_data(ws, timeout=harness.RECV_TIMEOUT):
    """The next invalidation's data, status frames skipped."""
    while True:
        f = await harness.recv_json(ws, timeout)
        if f["type"] == "invalidate":
            return f


class LivegateOnTls(rharness.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.certs = rharness.Certs()

    @classmethod
    def tearDownClass(cls):
        cls.certs.cleanup()

    def test_rediss_with_a_private_ca_and_a_client_certificate(self):
        r = self.redis(tls=self.certs.server_files(), password="pw")
        cert, key = self.certs.client()
        lg = start_livegate(self, f"rediss://:pw@localhost:{r.port}", {
            "LIVEGATE_REDIS_TLS_CA": self.certs.ca, "LIVEGATE_REDIS_TLS_CERT": cert,
            "LIVEGATE_REDIS_TLS_KEY": key})

        async def scenario():
            ws = await subscribe(lg, ["todos"])
            self.assertEqual(r.publish("todos", '{"id":1}'), 1)
            self.assertEqual((await next_data(ws))["data"], {"id": 1})
            status, reply = lg.api("POST", "/v1/publish", {"channel": "todos", "data": 2})
            self.assertEqual((status, reply), (202, {"receivers": 1}))
            self.assertEqual((await next_data(ws))["data"], 2)
            await ws.close()
        asyncio.run(scenario())

    def test_a_wrong_host_name_is_never_ready(self):
        r = self.redis(tls=self.certs.server_files(sans=("DNS:elsewhere.example",)),
                       password="pw")
        cert, key = self.certs.client()
        lg = harness.Livegate(env={
            "LIVEGATE_REDIS_URL": f"rediss://:pw@localhost:{r.port}",
            "LIVEGATE_REDIS_TLS_CA": self.certs.ca, "LIVEGATE_REDIS_TLS_CERT": cert,
            "LIVEGATE_REDIS_TLS_KEY": key})
        self.addCleanup(lg.stop)
        lg.start(ready=False)
        time.sleep(2)
        self.assertEqual(lg.http_status("/readyz"), 503)
        self.assertIn("role=data", lg.log_text())
        self.assertRegex(lg.log_text(), r"event=redis_retry .*(certificate|verify|TLS)")


class LivegateOnSentinel(rharness.TestCase):

    def test_failover_resyncs_then_every_publish_arrives(self):
        s = SentinelSet(self.redis)
        url = "redis+sentinel://" + ",".join(f"127.0.0.1:{x.port}" for x in s.sentinels) + \
              f"/{MASTER}"
        lg = start_livegate(self, url)

        async def scenario():
            ws = await subscribe(lg, ["todos"])
            s.master.publish("todos", "before")
            self.assertEqual((await next_data(ws))["data"], "before")
            s.master.kill()   # the sentinels promote the replica
            # Not ready while no master is known: a load balancer stops
            # sending pages here until the new master is subscribed.
            await asyncio.to_thread(harness.wait_until, lambda: lg.http_status("/readyz") == 503,
                                    OUTAGE, 0.05, "/readyz 503 during the failover")
            frame = await next_data(ws, OUTAGE)
            self.assertEqual(frame.get("reason"), "resync", frame)
            await asyncio.to_thread(harness.wait_until, lambda: lg.http_status("/readyz") == 200,
                                    OUTAGE, 0.2, "/readyz 200 on the new master")
            for i in range(5):
                status, _ = lg.api("POST", "/v1/publish", {"channel": "todos", "data": i})
                self.assertEqual(status, 202)
                self.assertEqual((await next_data(ws))["data"], i)
            await ws.close()
        asyncio.run(scenario())


class LivegateOnCluster(rharness.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(cls.class_redis)

    def test_sharded_pubsub_across_the_masters(self):
        rharness.wait_until(self.cluster.healthy, 30, "a healthy cluster", interval=0.2)
        lg = start_livegate(self, f"redis+cluster://{self.cluster.seeds()}",
                            {"LIVEGATE_CHANNEL_PREFIX": "lg:"})
        # channels whose slots lie on different masters
        names, masters = [], set()
        i = 0
        while len(masters) < 3:
            name = f"room{i}"
            owner = self.cluster.owner(key_slot("lg:" + name)).port
            if owner not in masters:
                masters.add(owner)
                names.append(name)
            i += 1

        async def scenario():
            ws = await subscribe(lg, names)
            for n in names:
                node = self.cluster.owner(key_slot("lg:" + n))
                self.assertIn("lg:" + n, node.cmd("PUBSUB", "SHARDCHANNELS"))
                out = subprocess.run(["redis-cli", "-c", "-p", str(node.port), "SPUBLISH",
                                      "lg:" + n, json.dumps({"via": "cli", "ch": n})],
                                     capture_output=True, text=True, timeout=10)
                self.assertEqual(out.stdout.strip(), "1", out)
                self.assertEqual((await next_data(ws))["data"], {"via": "cli", "ch": n})
                status, reply = lg.api("POST", "/v1/publish", {"channel": n, "data": "api"})
                self.assertEqual((status, reply), (202, {"receivers": 1}))
                f = await next_data(ws)
                self.assertEqual((f["channel"], f["data"]), (n, "api"))
            await ws.close()
        asyncio.run(scenario())


if __name__ == "__main__":
    harness.livegate_bin()
    unittest.main(verbosity=2)
