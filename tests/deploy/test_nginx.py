#!/usr/bin/python3
"""deploy/nginx.conf and deploy/nginx-livegate.conf with Debian's real nginx
in front of a real livegate and redis-server.

The example files are used as shipped; only what ties them to a machine is
rewritten (listen ports, upstream address, certificate paths, include path),
each rewrite checked to apply. TLS stays on, with a throw-away self-signed
certificate the client trusts, so the path is the production one:
browser -> wss://host/livegate/ws -> nginx -> ws://livegate/ws.
"""

import asyncio
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import jwt
import websockets
import websockets.exceptions

import deploytest as dt

SITE = dt.DEPLOY / "nginx.conf"
SNIPPET = dt.DEPLOY / "nginx-livegate.conf"
ORIGIN = "https://www.example.com"
TIMEOUT = 10
DRAIN_MS = 1000


def rewrite(text, pattern, replacement, count_expected):
    new, n = re.subn(pattern, replacement, text, flags=re.M)
    if n != count_expected:
        raise AssertionError(f"deploy/nginx.conf: /{pattern}/ matched {n} times, "
                             f"expected {count_expected}")
    return new


def site_for_test(tmp, http_port, https_port, livegate_port, cert, key):
    text = SITE.read_text()
    text = rewrite(text, r"^(\s*)server 127\.0\.0\.1:8080;",
                   rf"\g<1>server 127.0.0.1:{livegate_port};", 1)
    text = rewrite(text, r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{http_port};", 1)
    text = rewrite(text, r"^(\s*)listen 443 ssl http2;",
                   rf"\g<1>listen 127.0.0.1:{https_port} ssl http2;", 1)
    # The test machine may have no IPv6.
    text = rewrite(text, r"^\s*listen \[::\]:(80|443)[^;]*;\n", "", 2)
    text = rewrite(text, r"^(\s*)ssl_certificate\s+\S+;", rf"\g<1>ssl_certificate {cert};", 1)
    text = rewrite(text, r"^(\s*)ssl_certificate_key\s+\S+;",
                   rf"\g<1>ssl_certificate_key {key};", 1)
    text = rewrite(text, r"^(\s*)include /etc/nginx/snippets/livegate\.conf;",
                   rf"\g<1>include {SNIPPET};", 1)
    path = Path(tmp) / "site.conf"
    path.write_text(text)
    return path


def main_conf(tmp, site):
    """Top-level nginx.conf around the site: foreground, files in tmp."""
    path = Path(tmp) / "nginx.conf"
    path.write_text(f"""
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {site};
}}
""")
    return path


def self_signed(tmp):
    cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=www.example.com",
                    "-addext", "subjectAltName=DNS:www.example.com,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class NginxInFront(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(cls.nginx_bin).exists():
            raise AssertionError("nginx not installed (apt-get install -y nginx-light)")
        cls.tmp = tempfile.mkdtemp(prefix="lg-nginx-")
        Path(cls.tmp).chmod(0o755)   # nginx workers may run as nobody
        cls.procs = []
        try:
            cls.redis, cls.redis_port = dt.start_redis(cls.tmp)
            cls.procs.append(cls.redis)
            cls.livegate, cls.public, cls.private, cls.settings = dt.start_livegate(
                cls.tmp, cls.redis_port,
                {"LIVEGATE_ALLOWED_ORIGINS": ORIGIN, "LIVEGATE_DRAIN_MS": str(DRAIN_MS)})
            cls.procs.append(cls.livegate)
            cls.cert, key = self_signed(cls.tmp)
            cls.start_nginx(key)
        except BaseException:
            cls.tearDownClass()
            raise
        cls.tls = ssl.create_default_context(cafile=str(cls.cert))

    @classmethod
    def start_nginx(cls, key):
        last = ""
        for _ in range(3):
            cls.http, cls.https = dt.free_port(), dt.free_port()
            site = site_for_test(cls.tmp, cls.http, cls.https, cls.public, cls.cert, key)
            conf = main_conf(cls.tmp, site)
            check = subprocess.run([cls.nginx_bin, "-t", "-p", cls.tmp, "-e",
                                    f"{cls.tmp}/error.log", "-c", str(conf)],
                                   capture_output=True, text=True, timeout=30)
            if check.returncode != 0:
                raise AssertionError(f"nginx -t rejects the example config:\n{check.stderr}")
            p = dt.Process("nginx", [cls.nginx_bin, "-p", cls.tmp, "-e", f"{cls.tmp}/error.log",
                                     "-c", str(conf)], workdir=cls.tmp)
            dt.wait_for(lambda: (dt.port_open(cls.https) and dt.port_open(cls.http))
                        or not p.alive(), 10, "nginx to listen")
            if p.alive():
                cls.nginx = p
                cls.procs.append(p)
                return
            last = Path(cls.tmp, "error.log").read_text(errors="replace")
            p.stop()
        raise AssertionError(f"nginx did not start:\n{last}")

    @classmethod
    def tearDownClass(cls):
        for p in reversed(getattr(cls, "procs", [])):
            p.stop()
        if getattr(cls, "tmp", None):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def token(self, channels, ttl=300):
        now = int(time.time())
        return jwt.encode({"channels": channels, "iat": now, "exp": now + ttl},
                          self.settings["LIVEGATE_SECRET"], algorithm="HS256")

    def ws_url(self):
        return f"wss://127.0.0.1:{self.https}/livegate/ws"

    async def recv_json(self, ws):
        return await dt.recv_frame(ws, TIMEOUT)

    def test_subscribe_and_invalidate_through_nginx(self):
        channel = f"deploy-{uuid.uuid4().hex[:8]}"

        async def scenario():
            async with websockets.connect(self.ws_url(), ssl=self.tls, origin=ORIGIN,
                                          open_timeout=TIMEOUT, compression=None) as ws:
                await ws.send(json.dumps({"type": "subscribe",
                                          "token": self.token([channel])}))
                subscribed = await self.recv_json(ws)
                self.assertEqual(subscribed["type"], "subscribed")
                self.assertEqual(subscribed["channels"], [channel])

                receivers = await asyncio.to_thread(
                    dt.redis_cli, self.redis_port, "PUBLISH", channel,
                    '{"entity":"todos","id":"123","action":"updated"}')
                self.assertEqual(receivers, "1")
                msg = await self.recv_json(ws)
                self.assertEqual(msg["type"], "invalidate")
                self.assertEqual(msg["channel"], channel)
                self.assertEqual(msg["data"], {"entity": "todos", "id": "123",
                                               "action": "updated"})

                await ws.send(json.dumps({"type": "ping"}))
                self.assertEqual((await self.recv_json(ws))["type"], "pong")

        asyncio.run(scenario())

    def test_foreign_origin_refused_through_nginx(self):
        # nginx must pass the browser's Origin through for
        # LIVEGATE_ALLOWED_ORIGINS to work behind it.
        async def scenario():
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as cm:
                async with websockets.connect(self.ws_url(), ssl=self.tls,
                                              origin="https://evil.example",
                                              open_timeout=TIMEOUT):
                    pass
            self.assertEqual(cm.exception.status_code, 403)

        asyncio.run(scenario())

    def test_script_served_through_nginx(self):
        direct_status, direct_headers, direct_body = dt.http_get(
            f"http://127.0.0.1:{self.public}/livegate.js")
        self.assertEqual(direct_status, 200)
        url = f"https://127.0.0.1:{self.https}/livegate/livegate.js"
        status, headers, body = dt.http_get(url, context=self.tls)
        self.assertEqual(status, 200)
        self.assertEqual(body, direct_body)
        self.assertGreater(len(body), 100)
        self.assertIn("javascript", headers.get("Content-Type", ""))
        etag = headers.get("ETag")
        self.assertTrue(etag)
        self.assertEqual(etag, direct_headers.get("ETag"))
        status, _, body = dt.http_get(url, headers={"If-None-Match": etag}, context=self.tls)
        self.assertEqual(status, 304)
        self.assertEqual(body, b"")

    def test_event_stream_through_nginx_over_http2(self):
        """The fallback where WebSockets are blocked (issue 15): POST
        /livegate/sse through nginx, HTTP/2 over TLS to the client as a
        browser gets it, events not held in a buffer on the way."""
        channel = f"sse-{uuid.uuid4().hex[:8]}"
        body = json.dumps({"type": "subscribe", "token": self.token([channel])})
        curl = subprocess.Popen(
            ["curl", "-sS", "-N", "--http2", "--cacert", str(self.cert), "-D", "-",
             "-H", "Content-Type: text/plain", "-H", f"Origin: {ORIGIN}", "--data-binary", body,
             "--max-time", str(TIMEOUT), f"https://127.0.0.1:{self.https}/livegate/sse"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = b""
        try:
            os.set_blocking(curl.stdout.fileno(), False)

            def read_until(marker):
                nonlocal out
                deadline = time.monotonic() + TIMEOUT
                while marker not in out:
                    if time.monotonic() > deadline or curl.poll() is not None:
                        raise AssertionError(f"no {marker!r} in {out[:600]!r}")
                    chunk = curl.stdout.read(65536)
                    out += chunk or b""
                    if not chunk:
                        time.sleep(0.05)
            read_until(b'"type":"subscribed"')
            head = out.split(b"\r\n\r\n", 1)[0].decode()
            self.assertTrue(head.startswith("HTTP/2 200"), head)
            self.assertIn("content-type: text/event-stream", head.lower())
            self.assertIn(f"access-control-allow-origin: {ORIGIN}", head.lower())
            dt.redis_cli(self.redis_port, "PUBLISH", channel, '{"id":7}')
            read_until(b'"data":{"id":7}')
            self.assertIn(b'data: {"type":"invalidate","channel":"' + channel.encode() +
                          b'","data":{"id":7}}\n\n', out)
        finally:
            curl.kill()
            curl.wait()
            curl.stdout.close()
            curl.stderr.close()

    def test_plain_http_redirects_to_https(self):
        opener = urllib.request.build_opener(dt.NoRedirect)
        try:
            opener.open(f"http://127.0.0.1:{self.http}/livegate/livegate.js", timeout=TIMEOUT)
            self.fail("expected a redirect")
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 301)
            self.assertEqual(e.headers["Location"], "https://127.0.0.1/livegate/livegate.js")

    def test_yy_nginx_logged_no_errors(self):
        # Runs after the traffic above (unittest sorts by name).
        log = Path(self.tmp, "error.log").read_text(errors="replace")
        bad = [l for l in log.splitlines() if re.search(r"\[(emerg|alert|crit|error)\]", l)]
        self.assertEqual(bad, [])

    def test_zz_drain_close_reaches_client_through_nginx(self):
        # Last: it stops livegate. SIGTERM closes clients with 1012 and nginx
        # must pass that close code on, so the script knows to reconnect.
        channel = f"drain-{uuid.uuid4().hex[:8]}"

        async def scenario():
            async with websockets.connect(self.ws_url(), ssl=self.tls, origin=ORIGIN,
                                          open_timeout=TIMEOUT) as ws:
                await ws.send(json.dumps({"type": "subscribe", "token": self.token([channel])}))
                self.assertEqual((await self.recv_json(ws))["type"], "subscribed")
                self.livegate.proc.send_signal(signal.SIGTERM)
                with self.assertRaises(websockets.exceptions.ConnectionClosed) as cm:
                    await dt.recv_frame(ws, DRAIN_MS / 1000 + TIMEOUT)
                self.assertEqual(cm.exception.rcvd.code if cm.exception.rcvd else None, 1012)

        asyncio.run(scenario())
        self.assertEqual(self.livegate.proc.wait(TIMEOUT), 0, self.livegate.log())


if __name__ == "__main__":
    dt.main()
