"""Configuration: `livegate --help` lists every variable; flags work like the
variables; a bad value stops the start with one stderr line naming the
variable and a non-zero exit; LIVEGATE_LOG_FORMAT=json logs JSON.
Contract: "Processes and ports"."""

import json
import os
import re
import shutil
import subprocess

import harness
from harness import mint_pyjwt, recv_json, invalidate

ALL_VARIABLES = [
    "LIVEGATE_SECRET", "LIVEGATE_SECRETS", "LIVEGATE_SECRETS_FILE", "LIVEGATE_API_KEY",
    "LIVEGATE_REDIS_URL", "LIVEGATE_PUBLIC_ADDR", "LIVEGATE_PRIVATE_ADDR",
    "LIVEGATE_ALLOWED_ORIGINS", "LIVEGATE_CHANNEL_PREFIX", "LIVEGATE_TOKEN_TTL",
    "LIVEGATE_WORKERS", "LIVEGATE_MAX_CONNECTIONS", "LIVEGATE_DRAIN_MS",
    "LIVEGATE_LOG_LEVEL", "LIVEGATE_LOG_FORMAT", "LIVEGATE_MAX_TOKEN_LIFETIME",
    "LIVEGATE_RENDER_SLACK_MS", "LIVEGATE_REDIS_TLS_CA", "LIVEGATE_REDIS_TLS_CERT",
    "LIVEGATE_REDIS_TLS_KEY", "LIVEGATE_REDIS_CLUSTER_PUBSUB",
]
BAD_START_TIMEOUT = 5.0   # a bad setting must stop the start promptly
SHORT_SECRET = "only-31-bytes-of-secret-value.."


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("LIVEGATE_")}


class HelpTest(harness.LivegateTestCase):

    def test_help_lists_every_variable(self):
        res = subprocess.run([harness.livegate_bin(), "--help"], env=clean_env(),
                             capture_output=True, text=True, timeout=5)
        self.assertEqual(res.returncode, 0, res.stderr)
        text = res.stdout + res.stderr
        for var in ALL_VARIABLES:
            with self.subTest(var=var):
                self.assertRegex(text, rf"\b{var}\b")
                flag = "--" + var[len("LIVEGATE_"):].lower().replace("_", "-")
                self.assertRegex(text, rf"(?<![\w-]){flag}(?![\w-])", "flag form")


def run_refused(test, overrides, args=()):
    """Starts livegate with overrides expecting it to refuse promptly.
    Returns (exit status, its non-empty stderr lines without sanitizer
    runtime noise); fails test if it keeps running."""
    redis_port = harness.free_port()  # nothing listens: start must fail before
    lg = harness.Livegate(env=dict({"LIVEGATE_REDIS_URL": f"redis://127.0.0.1:{redis_port}",
                                    "LIVEGATE_LOG_LEVEL": None}, **overrides),
                          args=list(args))
    test.addCleanup(shutil.rmtree, lg.workdir, True)
    test.addCleanup(lg.stop)
    lg.spawn()
    try:
        status = lg.proc.wait(timeout=BAD_START_TIMEOUT)
    except subprocess.TimeoutExpired:
        test.fail(f"livegate kept running with {overrides} {list(args)}; log:\n"
                  + lg.log_tail())
    return status, [ln for ln in lg.log_text().splitlines()
                    if ln.strip() and not re.match(r"==\d+==", ln)]


class BadSettingTest(harness.LivegateTestCase):

    def _run_bad(self, overrides, args=()):
        return run_refused(self, overrides, args)

    def test_bad_values_stop_the_start(self):
        cases = [
            ("LIVEGATE_SECRET", {"LIVEGATE_SECRET": SHORT_SECRET}),
            ("LIVEGATE_SECRET", {"LIVEGATE_SECRET": ""}),
            ("LIVEGATE_SECRET", {"LIVEGATE_SECRET": None}),  # no secret at all
            ("LIVEGATE_SECRETS", {"LIVEGATE_SECRET": None, "LIVEGATE_SECRETS": "no-colon-here"}),
            ("LIVEGATE_SECRETS", {"LIVEGATE_SECRET": None,
                                  "LIVEGATE_SECRETS": f"k1:{SHORT_SECRET}"}),
            ("LIVEGATE_SECRETS_FILE", {"LIVEGATE_SECRET": None,
                                       "LIVEGATE_SECRETS_FILE": "/nonexistent/livegate-keys"}),
            ("LIVEGATE_PUBLIC_ADDR", {"LIVEGATE_PUBLIC_ADDR": "nonsense"}),
            ("LIVEGATE_PUBLIC_ADDR", {"LIVEGATE_PUBLIC_ADDR": "127.0.0.1:99999"}),
            ("LIVEGATE_PRIVATE_ADDR", {"LIVEGATE_PRIVATE_ADDR": "127.0.0.1:"}),
            ("LIVEGATE_REDIS_URL", {"LIVEGATE_REDIS_URL": "http://127.0.0.1:6379"}),
            ("LIVEGATE_REDIS_URL", {"LIVEGATE_REDIS_URL": "redis://127.0.0.1:notaport"}),
            ("LIVEGATE_TOKEN_TTL", {"LIVEGATE_TOKEN_TTL": "0"}),
            ("LIVEGATE_TOKEN_TTL", {"LIVEGATE_TOKEN_TTL": "-1"}),
            ("LIVEGATE_TOKEN_TTL", {"LIVEGATE_TOKEN_TTL": "ten"}),
            ("LIVEGATE_TOKEN_TTL", {"LIVEGATE_TOKEN_TTL": "86401"}),
            ("LIVEGATE_WORKERS", {"LIVEGATE_WORKERS": "0"}),
            ("LIVEGATE_WORKERS", {"LIVEGATE_WORKERS": "two"}),
            ("LIVEGATE_MAX_CONNECTIONS", {"LIVEGATE_MAX_CONNECTIONS": "-3"}),
            ("LIVEGATE_MAX_CONNECTIONS", {"LIVEGATE_MAX_CONNECTIONS": "lots"}),
            ("LIVEGATE_DRAIN_MS", {"LIVEGATE_DRAIN_MS": "soon"}),
            ("LIVEGATE_LOG_LEVEL", {"LIVEGATE_LOG_LEVEL": "loud"}),
            ("LIVEGATE_LOG_FORMAT", {"LIVEGATE_LOG_FORMAT": "xml"}),
            ("LIVEGATE_MAX_TOKEN_LIFETIME", {"LIVEGATE_MAX_TOKEN_LIFETIME": "0"}),
            ("LIVEGATE_MAX_TOKEN_LIFETIME", {"LIVEGATE_MAX_TOKEN_LIFETIME": "1w"}),
            ("LIVEGATE_MAX_TOKEN_LIFETIME", {"LIVEGATE_MAX_TOKEN_LIFETIME": "100",
                                             "LIVEGATE_TOKEN_TTL": "200"}),
            ("LIVEGATE_RENDER_SLACK_MS", {"LIVEGATE_RENDER_SLACK_MS": "60001"}),
            ("LIVEGATE_REDIS_CLUSTER_PUBSUB", {"LIVEGATE_REDIS_CLUSTER_PUBSUB": "both"}),
            ("LIVEGATE_REDIS_TLS_CA", {"LIVEGATE_REDIS_TLS_CA": "/nonexistent/ca.pem"}),
            ("LIVEGATE_REDIS_TLS_CA", {"LIVEGATE_REDIS_TLS_CA": "/"}),
            ("LIVEGATE_REDIS_TLS_KEY", {"LIVEGATE_REDIS_TLS_CERT": "/etc/hostname"}),
            ("LIVEGATE_REDIS_TLS_CERT", {"LIVEGATE_REDIS_TLS_KEY": "/etc/hostname"}),
            ("LIVEGATE_PUBLIC_ADDR", {"LIVEGATE_PUBLIC_ADDR": "example.invalid:8080"}),
            # Issue 10 finding 12: this pair was reported as LIVEGATE_SECRETS.
            ("LIVEGATE_SECRETS_FILE", {"LIVEGATE_SECRETS_FILE": "/nonexistent/keys"}),
        ]
        for var, overrides in cases:
            with self.subTest(var=var, value=overrides.get(var)):
                status, lines = self._run_bad(overrides)
                self.assertNotEqual(status, 0, f"exit status, stderr: {lines!r}")
                self.assertGreater(status, 0, "must exit, not crash on a signal")
                self.assertEqual(len(lines), 1, f"one stderr line expected: {lines!r}")
                # "livegate: <the variables at fault>: <what is wrong>"
                self.assertIn(var, lines[0].split(": ")[1], "the line must name the variable first")
                self.assertNotIn(SHORT_SECRET, lines[0], "a secret must never be printed")

    def test_bad_flag_value_names_the_setting(self):
        status, lines = self._run_bad({}, args=["--token-ttl=0"])
        self.assertGreater(status, 0, lines)
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"LIVEGATE_TOKEN_TTL|--token-ttl|token-ttl")

    def test_unknown_flag_is_refused(self):
        status, lines = self._run_bad({}, args=["--no-such-setting=1"])
        self.assertGreater(status, 0, lines)
        self.assertTrue(any("no-such-setting" in ln for ln in lines), lines)


class FlagsTest(harness.LivegateTestCase):

    async def test_flags_configure_like_variables(self):
        redis = self.start_redis()
        ports = (harness.free_port(), harness.free_port())
        # No LIVEGATE_* in the environment: everything comes from flags.
        lg = harness.Livegate(env={k: None for k in ALL_VARIABLES}, args=[
            f"--secret={harness.SECRET}",
            f"--api-key={harness.API_KEY}",
            f"--redis-url=redis://127.0.0.1:{redis.port}",
            f"--public-addr=127.0.0.1:{ports[0]}",
            f"--private-addr=127.0.0.1:{ports[1]}",
            "--workers=1",
            "--channel-prefix=pfx:",
            "--render-slack-ms=0",   # as the harness sets it (harness.Livegate)
        ])
        lg.public_port, lg.private_port = ports
        self.addCleanup(shutil.rmtree, lg.workdir, True)
        self.addCleanup(lg.stop)
        lg.start()
        ws, _ = await self.open_sub(lg, lg.mint_api(["todos"]))
        self.assertEqual(redis.publish("todos", "bare"), 0)   # the prefix is pfx:
        redis.publish("pfx:todos", "via flags")
        self.assertFrame(await recv_json(ws), invalidate("todos", "via flags"))


def parse_logfmt(line):
    """One logfmt line as {key: value}, read the way go-logfmt (and Loki's
    parser) read it: an unquoted value is taken byte for byte up to the next
    space; a quoted one is unescaped with JSON string rules."""
    out, i, n = {}, 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        if i >= n:
            break
        eq = line.index("=", i)
        key, i = line[i:eq], eq + 1
        if i < n and line[i] == '"':
            j = i + 1
            while line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            out[key], i = json.loads(line[i:j + 1]), j + 1
        else:
            j = line.find(" ", i)
            j = n if j < 0 else j
            out[key], i = line[i:j], j
    return out


class LogFormatTest(harness.LivegateTestCase):

    async def test_logfmt_values_read_back_exactly(self):
        """Issue 10 finding 12: a backslash was written bare (channel=a\\b),
        which logfmt parsers read back with the backslash doubled."""
        redis = self.start_redis()
        prefix = 'app\\1"x:'
        lg = self.start_livegate(redis, env={"LIVEGATE_CHANNEL_PREFIX": prefix})
        channel = "a\\b"
        ws, _ = await self.open_sub(lg, mint_pyjwt([channel]))
        # Too large to embed: logged as payload_too_large with the channel.
        redis.publish(prefix + channel, "x" * 70000)
        self.assertEqual((await recv_json(ws))["channel"], channel)
        harness.wait_until(lambda: "payload_too_large" in lg.log_text(), 5,
                           what="the payload_too_large line")
        lines = [parse_logfmt(ln) for ln in lg.log_text().splitlines()
                 if ln.startswith("ts=")]
        start = [ln for ln in lines if ln.get("event") == "start"]
        self.assertEqual(start[0]["channel_prefix"], prefix)
        big = [ln for ln in lines if ln.get("event") == "payload_too_large"]
        self.assertEqual(big[0]["channel"], channel)

    async def test_json_log_lines(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis, env={"LIVEGATE_LOG_FORMAT": "json"})
        ws, _ = await self.open_sub(lg, mint_pyjwt(["todos"]))
        await ws.close()
        self.assertEqual(lg.stop(), 0, "exit status after SIGTERM")
        # Sanitizer builds (CI) add their own "==PID==" lines at exit; they
        # are not livegate's log, and a real sanitizer error fails the exit
        # status above.
        lines = [ln for ln in lg.log_text().splitlines()
                 if ln.strip() and not re.match(r"==\d+==", ln)]
        self.assertTrue(lines, "debug level logged nothing")
        for ln in lines:
            with self.subTest(line=ln[:120]):
                self.assertIsInstance(json.loads(ln), dict)

    async def test_logfmt_default_does_not_print_secrets(self):
        redis = self.start_redis()
        lg = self.start_livegate(redis)
        token = lg.mint_api(["todos"])
        ws, _ = await self.open_sub(lg, token)
        await ws.close()
        lg.stop()
        log = lg.log_text()
        self.assertTrue(log.strip(), "debug level logged nothing")
        for secret in (harness.SECRET, harness.API_KEY, token):
            self.assertNotIn(secret, log)


if __name__ == "__main__":
    harness.main()
