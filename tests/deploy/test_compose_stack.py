#!/usr/bin/python3
"""The sidecar for real: deploy/docker-compose.yml brought up with
podman-compose from images built out of deploy/Dockerfile and
deploy/example.Dockerfile, and checked from the host as a user would.

No Docker daemon and no registry: a Debian 12 base made with mmdebstrap from
the machine's apt mirror (base_image.py, cached in the build folder) is
tagged debian:12 and debian:12-slim; Redis is a stand-in built from Debian's
redis-server (redis.Dockerfile). Everything runs in a podman store of the
test's own (podman_store.py) with runc; the machine's container configuration
is left alone. The stack is the compose file plus compose_stack.ci_override(),
whose docstring says why each of its lines is forced by this machine.

Tests run in the order of their names: the last two stop livegate and take
the stack down. Whatever happens, the class clean-up force-removes every
container and network of the store, and so does the start of the next run
(after a run killed by a timeout).

Skipped (exit 77) only where podman is not installed; anything else that
cannot run fails with the reason. Figures (build times, image sizes, time to
healthy) are printed for docs/operations.md, never asserted.
"""

import asyncio
import atexit
import json
import os
import re
import secrets
import shutil
import signal
import time
import unittest
import urllib.request

import websockets

import base_image
import compose_stack as cs
import deploytest as dt
import podman_store
from test_compose import seconds

STATE = os.environ.get("DEPLOY_STATE_DIR", str(dt.REPO / "build" / "tests" / "deploy" / "podman"))
SERVICES = ("redis", "livegate", "app")
HEALTHY_TIMEOUT = 240
WS_TIMEOUT = 20
CHANNEL = "todos"   # what the demo's tokens name


def figure(name, value):
    print(f"figure: {name} = {value}", flush=True)


class ComposeStack(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("podman") is None:
            raise unittest.SkipTest("podman is not installed (scripts/deps.sh installs it)")
        for tool in ("podman-compose", "mmdebstrap", "runc"):
            if shutil.which(tool) is None:
                raise AssertionError(f"{tool} is not installed (scripts/deps.sh installs it)")
        if os.geteuid() != 0:
            raise AssertionError("needs root: the stack runs on rootful podman (published "
                                 "ports, bridge networks) and mmdebstrap builds as root")
        cls.compose_file = cs.load_compose()
        cls.grace = seconds(cls.compose_file["services"]["livegate"]["stop_grace_period"])
        cls.store = podman_store.Store(STATE)
        cls.store.configure()
        # Leftovers of a run killed before its clean-up go first.
        leftovers = cls.store.remove_all()
        if leftovers:
            raise AssertionError("could not remove a previous run's containers and networks:\n"
                                 + "\n".join(leftovers))
        cls.addClassCleanup(cls.clean_up)
        # An interrupted run skips class clean-ups but not atexit.
        atexit.register(cls.store.remove_all)
        cls.stack = cs.Stack(cls.store, cls.compose_file.get("name", "livegate"))
        cls.build_images()
        cls.bring_up()

    @classmethod
    def clean_up(cls):
        errors = cls.store.remove_all()
        if errors:
            raise AssertionError("clean-up left containers or networks behind:\n"
                                 + "\n".join(errors))

    @classmethod
    def build_images(cls):
        log = cls.store.state / "build.log"
        log.write_text("")
        tar, made_in = base_image.cached_tarball(cls.store.state, log)
        figure("mmdebstrap base seconds", f"{made_in:.0f}" if made_in else "cached")
        t0 = time.monotonic()
        if base_image.ensure_imported(cls.store, tar):
            figure("base import seconds", f"{time.monotonic() - t0:.0f}")
        figure("base image MB", f"{cls.store.image_size(base_image.TAGS[1]) / 1e6:.0f}")
        lg_context, lg_dockerfile = cs.build_source(cls.compose_file, "livegate")
        cs.check_outside_context(cls.store.state, lg_context, lg_dockerfile)
        cls.livegate_image = cls.compose_file["services"]["livegate"]["image"]
        app_context, app_dockerfile = cs.build_source(cls.compose_file, "app")
        redis_context = cls.store.state / "redis-context"   # empty: the Dockerfile copies nothing
        redis_context.mkdir(exist_ok=True)
        for tag, context, dockerfile in (
                (cls.livegate_image, lg_context, lg_dockerfile),
                (cs.APP_IMAGE, app_context, app_dockerfile),
                (cs.REDIS_IMAGE, redis_context, cs.REDIS_DOCKERFILE)):
            took = cs.build_image(cls.store, tag, context, dockerfile, log)
            figure(f"build {tag} seconds", f"{took:.0f}")
            figure(f"image {tag} MB", f"{cls.store.image_size(tag) / 1e6:.0f}")

    @classmethod
    def bring_up(cls):
        override = cs.ci_override(cls.compose_file)
        cls.stack.stage("# CI override: see tests/deploy/compose_stack.py ci_override()\n"
                        + json.dumps(override, indent=2) + "\n")
        print(f"CI override: {json.dumps(override)}", flush=True)
        t0 = time.monotonic()
        status = cls.stack.compose("up", "-d", "--no-build")
        if status != 0:
            raise AssertionError(f"podman-compose up exited {status}:\n{cls.stack.log_errors()}"
                                 f"\n(log: {cls.stack.log})")
        cls.wait_healthy()
        figure("up to every service healthy seconds", f"{time.monotonic() - t0:.1f}")

    @classmethod
    def wait_healthy(cls):
        """Runs each service's healthcheck until it reports healthy. Without
        systemd podman cannot schedule healthchecks (it logs "unable to get
        systemd connection"), so the test runs the configured check itself,
        as the scheduler would, and reads podman's verdict."""
        pending = list(SERVICES)

        def progress():
            for service in list(pending):
                state = cls.stack.inspect(service)["State"]
                if state["Status"] != "running":
                    raise AssertionError(
                        f"{service} is {state['Status']} (exit {state['ExitCode']}, "
                        f"{state.get('Error') or 'no error'}):\n{cls.stack.logs(service)}\n"
                        f"podman errors:\n{cls.stack.log_errors()}")
                cls.store.run(["healthcheck", "run", cls.stack.container(service)], 60,
                              check=False)
                if cls.health(service)["Status"] == "healthy":
                    pending.remove(service)
            return not pending

        try:
            # Each try runs podman for every pending service: a gentle poll.
            dt.wait_for(progress, HEALTHY_TIMEOUT, "every service's healthcheck to pass", poll=0.5)
        except AssertionError as e:
            detail = "\n".join(f"{s}: {json.dumps(cls.health(s).get('Log', [])[-2:])}\n"
                               f"{cls.stack.logs(s, 15)}" for s in pending)
            raise AssertionError(f"{e}; still not healthy: {pending}\n{detail}") from None

    @classmethod
    def health(cls, service):
        return cls.stack.inspect(service)["State"].get("Health") or {}

    # What a user does first: open the demo app.
    def page(self):
        status, _, body = dt.http_get(f"http://127.0.0.1:{self.stack.app_port}/", timeout=10)
        self.assertEqual(status, 200, body[:500])
        return body.decode()

    def token(self):
        m = re.search(r'data-token="([^"]+)"', self.page())
        self.assertIsNotNone(m, "the demo page carries no data-token: it could not mint one")
        return m.group(1)

    @staticmethod
    async def recv_json(ws, timeout, what):
        try:
            return json.loads(await asyncio.wait_for(ws.recv(), timeout))
        except asyncio.TimeoutError:
            raise AssertionError(f"no {what} within {timeout}s") from None

    async def subscribe(self, token):
        ws = await websockets.connect(
            f"ws://127.0.0.1:{self.stack.public_port}/ws",
            origin=f"http://localhost:{self.stack.app_port}",
            open_timeout=WS_TIMEOUT, close_timeout=5)
        await ws.send(json.dumps({"type": "subscribe", "token": token}))
        frame = await self.recv_json(ws, WS_TIMEOUT, "answer to subscribe")
        self.assertEqual(frame, {"type": "subscribed", "channels": [CHANNEL]})
        return ws

    def test_01_demo_page_carries_a_token_and_the_script(self):
        page = self.page()
        m = re.search(r'<script src="([^"]+/livegate\.js)" data-token="([^"]+)"', page)
        self.assertIsNotNone(m, "no livegate script tag with a token in the demo page")
        src, token = m.groups()
        # The app names the published public port, which serves the script.
        self.assertEqual(src, f"http://localhost:{self.stack.public_port}/livegate.js")
        status, _, body = dt.http_get(src.replace("localhost", "127.0.0.1"), timeout=10)
        self.assertEqual(status, 200)
        self.assertIn(b"livegate", body)
        self.assertEqual(token.count("."), 2, "data-token is not a JWT")

    def test_02_publish_in_redis_container_reaches_websocket_client(self):
        token = self.token()
        payload = {"entity": "todos", "id": secrets.token_hex(4), "action": "updated"}

        async def scenario():
            ws = await self.subscribe(token)
            try:
                out = self.stack.exec("redis", "redis-cli", "PUBLISH", CHANNEL,
                                      json.dumps(payload)).stdout
                self.assertGreaterEqual(int(out.strip()), 1, f"redis-cli PUBLISH answered {out!r}")
                while True:
                    frame = await self.recv_json(ws, WS_TIMEOUT, "invalidation after PUBLISH")
                    if frame.get("type") == "invalidate" and frame.get("data") == payload:
                        return frame
            finally:
                await ws.close()

        frame = asyncio.run(scenario())
        self.assertEqual(frame["channel"], CHANNEL)

    def test_03_private_port_not_published_on_the_host(self):
        ports = self.stack.inspect("livegate")["NetworkSettings"]["Ports"]
        published = {port: [b["HostPort"] for b in binds] for port, binds in ports.items() if binds}
        self.assertEqual(published, {"8080/tcp": [str(self.stack.public_port)]})
        # Nothing on any of the host's own addresses answers as this
        # livegate's private API (another program may hold 8081 there).
        for addr in cs.host_addresses():
            with self.subTest(address=addr):
                if not dt.port_open(8081, addr):
                    continue
                req = urllib.request.Request(
                    f"http://{addr}:8081/v1/tokens", data=b'{"channels":["x"]}', method="POST",
                    headers={"Authorization": f"Bearer {self.stack.api_key}",
                             "Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(req, timeout=5) as r:
                        status = r.status
                except OSError as e:
                    status = getattr(e, "code", str(e))
                self.assertNotEqual(status, 201, f"{addr}:8081 mints tokens with the stack's key")

    def test_04_private_api_reachable_from_the_app_container(self):
        # As the demo does it: its own LIVEGATE_PRIVATE_URL and API key.
        probe = ("import json, os, urllib.request\n"
                 "req = urllib.request.Request(os.environ['LIVEGATE_PRIVATE_URL'] + '/v1/tokens',\n"
                 "    data=b'{\"channels\":[\"todos\"]}', method='POST', headers={\n"
                 "    'Authorization': 'Bearer ' + os.environ['LIVEGATE_API_KEY'],\n"
                 "    'Content-Type': 'application/json'})\n"
                 "with urllib.request.urlopen(req, timeout=10) as r:\n"
                 "    print(r.status, json.loads(r.read())['token'].count('.'))\n")
        out = self.stack.exec("app", "python3", "-c", probe).stdout.split()
        self.assertEqual(out, ["201", "2"])

    def test_05_every_healthcheck_reports_healthy(self):
        for service in SERVICES:
            with self.subTest(service=service):
                name = self.stack.container(service)
                p = self.store.run(["healthcheck", "run", name], 60, check=False)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertEqual(self.health(service)["Status"], "healthy")

    def test_06_livegate_runs_as_the_non_root_user(self):
        info = self.stack.inspect("livegate")
        self.assertEqual(info["Config"]["User"], "10001:10001")
        uids = cs.uids_of_tree(info["State"]["Pid"])
        self.assertGreaterEqual(len(uids), 2, f"expected livegate and its workers: {uids}")
        self.assertEqual(set(uids.values()), {10001}, uids)

    def test_07_stop_closes_clients_with_1012_and_exits_0(self):
        token = self.token()
        name = self.stack.container("livegate")

        async def scenario():
            ws = await self.subscribe(token)
            t0 = time.monotonic()
            stopper = await asyncio.create_subprocess_exec(
                self.store.podman, "stop", "--time", str(int(self.grace)), name,
                env=self.store.env, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE)
            try:
                try:
                    while True:
                        await self.recv_json(ws, self.grace + WS_TIMEOUT, "close after podman stop")
                except websockets.ConnectionClosed as e:
                    close = e.rcvd
            finally:
                await ws.close()
            _, err = await asyncio.wait_for(stopper.communicate(), self.grace + 60)
            self.assertEqual(stopper.returncode, 0, err.decode())
            return close, time.monotonic() - t0

        close, took = asyncio.run(scenario())
        figure("podman stop livegate seconds", f"{took:.1f}")
        self.assertIsNotNone(close, "the connection ended without a close frame")
        self.assertEqual(close.code, 1012)
        state = self.stack.inspect("livegate")["State"]
        # Exit 0, not 137: livegate finished its drain before the grace
        # period ran out and podman had to send SIGKILL.
        self.assertEqual((state["Status"], state["ExitCode"], state["OOMKilled"]),
                         ("exited", 0, False), self.stack.logs("livegate"))

    def test_08_compose_down_leaves_nothing_running(self):
        ids = [self.stack.inspect(s)["Id"] for s in SERVICES]
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
        t0 = time.monotonic()
        # podman-compose ignores stop_grace_period: it is given as down's -t.
        status = self.stack.compose("down", "-t", str(int(self.grace)))
        figure("compose down seconds", f"{time.monotonic() - t0:.1f}")
        self.assertEqual(status, 0, self.stack.log_errors())
        self.assertEqual(self.stack.containers(), {})
        self.assertEqual(cs.processes_mentioning(ids), [])
        for port in (self.stack.public_port, self.stack.app_port):
            self.assertFalse(dt.port_open(port), f"port {port} still answers after down")
        # Each service stopped on its own stop signal: none was killed
        # (137) after down's timeout.
        events = self.store.run(["events", "--stream=false", "--since", since,
                                 "--filter", "event=died", "--format", "json"], 60).stdout
        died = {}
        for line in events.splitlines():
            ev = json.loads(line)
            died[ev["Attributes"].get("com.docker.compose.service")] = ev.get("ContainerExitCode", 0)
        self.assertEqual({s: died.get(s) for s in ("redis", "app")}, {"redis": 0, "app": 0},
                         "137: killed after down's timeout, it ignored its stop signal")


def interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    # A SIGTERM (meson's timeout, a stopped CI job) ends the run through the
    # normal exit path, so the atexit clean-up removes the containers.
    signal.signal(signal.SIGTERM, interrupted)
    dt.main()
