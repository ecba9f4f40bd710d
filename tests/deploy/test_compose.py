#!/usr/bin/python3
"""deploy/docker-compose.yml and deploy/.env.example, checked without a
Docker engine: services, healthchecks, start order, port exposure, file
limits, and that every LIVEGATE_* variable they set is one livegate knows."""

import re
import unittest

import yaml

import deploytest as dt

COMPOSE = dt.DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = dt.DEPLOY / ".env.example"
PRIVATE_PORT = 8081
PUBLIC_PORT = 8080


def env_of(service):
    """A service's `environment`, as a dict (compose allows a map or a list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            key, _, value = str(item).partition("=")
            out[key] = value
        return out
    return {str(k): ("" if v is None else str(v)) for k, v in env.items()}


def container_ports(entry):
    """Container-side ports of one `ports:` entry (short or long syntax)."""
    if isinstance(entry, dict):
        spec = str(entry["target"])
    else:
        # [[ip:]host:]container[/proto]; an IPv6 host ip is in brackets.
        spec = re.sub(r"^\[[^\]]*\]:", "", str(entry)).split("/")[0].split(":")[-1]
    lo, _, hi = spec.partition("-")
    return set(range(int(lo), int(hi or lo) + 1))


def published_ports(service):
    ports = set()
    for entry in service.get("ports") or []:
        ports |= container_ports(entry)
    return ports


def env_example_names():
    """(set, mentioned): names assigned on active lines, and every LIVEGATE_
    name given as `NAME=` on a commented-out line too."""
    assigned, mentioned = {}, set()
    for n, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = re.match(r"#\s*(LIVEGATE_[A-Z0-9_]+)=", stripped)
            if m:
                mentioned.add(m.group(1))
            continue
        m = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(\S*)", stripped)
        if not m:
            raise AssertionError(f".env.example line {n} is not KEY=value without spaces, "
                                 f"quotes or comments: {line!r}")
        assigned[m.group(1)] = m.group(2)
        mentioned.add(m.group(1))
    return assigned, mentioned


def seconds(text):
    """Compose duration ("15s", "1m30s", "500ms") in seconds."""
    total, pos = 0.0, 0
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(text)):
        if m.start() != pos:
            break
        total += float(m.group(1)) * units[m.group(2)]
        pos = m.end()
    if pos != len(str(text)) or pos == 0:
        raise AssertionError(f"not a compose duration: {text!r}")
    return total


class ComposeFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.compose = yaml.safe_load(COMPOSE.read_text())
        cls.services = cls.compose["services"]
        cls.known = dt.help_settings()

    def test_services(self):
        self.assertEqual(set(self.services), {"redis", "livegate", "app"})

    def test_every_service_has_a_healthcheck(self):
        for name, svc in self.services.items():
            with self.subTest(service=name):
                hc = svc.get("healthcheck")
                self.assertIsInstance(hc, dict, f"{name} has no healthcheck")
                self.assertFalse(hc.get("disable", False))
                test = hc.get("test")
                self.assertTrue(test and test != ["NONE"], f"{name} healthcheck has no test")

    def test_healthchecks_survive_podman_compose(self):
        # podman-compose 1.0 turns a CMD list into one shell line by joining
        # the words with quoted spaces, so a word the shell would split or
        # parse (spaces, ;, quotes, parentheses) breaks the check there; a
        # longer command has to be a CMD-SHELL string.
        for name, svc in self.services.items():
            test = svc["healthcheck"]["test"]
            if isinstance(test, str) or test[0] != "CMD":
                continue
            with self.subTest(service=name):
                for word in test[1:]:
                    self.assertNotRegex(word, r"""[\s;'"()&|<>$`\\]""",
                                        f"{name}: healthcheck word {word!r} needs CMD-SHELL")

    def test_redis_healthcheck_pings(self):
        test = self.services["redis"]["healthcheck"]["test"]
        self.assertIn("redis-cli", test)
        self.assertIn("ping", test)

    def test_livegate_healthcheck_uses_image_probe(self):
        # The probe script the Dockerfile installs, which GETs /healthz.
        test = self.services["livegate"]["healthcheck"]["test"]
        self.assertEqual(test, ["CMD", "/usr/local/bin/livegate-healthcheck"])
        dockerfile = (dt.DEPLOY / "Dockerfile").read_text()
        self.assertRegex(dockerfile, r"(?m)^COPY .*deploy/healthcheck\.sh /usr/local/bin/livegate-healthcheck$")
        self.assertIn("/healthz", (dt.DEPLOY / "healthcheck.sh").read_text())

    def test_start_order(self):
        deps = self.services["livegate"]["depends_on"]
        self.assertEqual(deps["redis"]["condition"], "service_healthy")
        app_deps = self.services["app"]["depends_on"]
        self.assertEqual(app_deps["livegate"]["condition"], "service_healthy")

    def test_private_port_not_published(self):
        for name, svc in self.services.items():
            with self.subTest(service=name):
                self.assertNotIn(PRIVATE_PORT, published_ports(svc))
                self.assertNotEqual(svc.get("network_mode"), "host")

    def test_public_port_published(self):
        self.assertIn(PUBLIC_PORT, published_ports(self.services["livegate"]))

    def test_listeners_match_ports(self):
        env = env_of(self.services["livegate"])
        # The private API must listen beyond loopback so `app` can reach it
        # as livegate:8081 on the compose network.
        self.assertEqual(env["LIVEGATE_PRIVATE_ADDR"], f"0.0.0.0:{PRIVATE_PORT}")
        self.assertEqual(env["LIVEGATE_PUBLIC_ADDR"], f"0.0.0.0:{PUBLIC_PORT}")
        self.assertEqual(env["LIVEGATE_REDIS_URL"], "redis://redis:6379")
        app_env = env_of(self.services["app"])
        self.assertEqual(app_env["LIVEGATE_PRIVATE_URL"], f"http://livegate:{PRIVATE_PORT}")

    def test_nofile_raised(self):
        nofile = self.services["livegate"]["ulimits"]["nofile"]
        if isinstance(nofile, dict):
            self.assertGreaterEqual(int(nofile["soft"]), 65536)
            self.assertGreaterEqual(int(nofile["hard"]), int(nofile["soft"]))
        else:
            self.assertGreaterEqual(int(nofile), 65536)

    def test_stop_grace_covers_drain(self):
        drain_s = int(self.known["LIVEGATE_DRAIN_MS"]) / 1000
        grace = seconds(self.services["livegate"]["stop_grace_period"])
        self.assertGreater(grace, drain_s + 5, "stop_grace_period must outlast LIVEGATE_DRAIN_MS")
        self.assertEqual(self.services["livegate"].get("stop_signal", "SIGTERM"), "SIGTERM")

    def test_livegate_variables_are_known(self):
        env = env_of(self.services["livegate"])
        names = {k for k in env if k.startswith("LIVEGATE_")}
        self.assertTrue(names)
        self.assertEqual(names - set(self.known), set())
        # Nothing but LIVEGATE_* configures livegate.
        self.assertEqual(set(env) - names, set())
        self.assertEqual(self.services["livegate"]["env_file"], ".env")

    def test_app_gets_the_api_key_from_env_file(self):
        app_env = env_of(self.services["app"])
        self.assertRegex(app_env["LIVEGATE_API_KEY"], r"^\$\{LIVEGATE_API_KEY(:\?[^}]*)?\}$")

    def test_app_variables_are_read_by_the_demo(self):
        app_py = dt.DEPLOY / "example" / "app.py"
        self.assertTrue(app_py.is_file(), f"{app_py} is missing")
        source = app_py.read_text()
        for name in env_of(self.services["app"]):
            with self.subTest(var=name):
                self.assertIn(f'"{name}"', source.replace("'", '"'),
                              f"deploy/example/app.py does not read {name}")

    def test_build_files_exist(self):
        for name in ("livegate", "app"):
            build = self.services[name]["build"]
            context = (COMPOSE.parent / build["context"]).resolve()
            with self.subTest(service=name):
                self.assertTrue(context.is_dir(), context)
                self.assertTrue((context / build["dockerfile"]).is_file())


class EnvExample(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.known = dt.help_settings()
        cls.assigned, cls.mentioned = env_example_names()

    def test_only_known_variables(self):
        self.assertEqual(self.mentioned - set(self.known), set())

    def test_every_variable_listed(self):
        self.assertEqual(set(self.known) - self.mentioned, set())

    def test_secrets_left_blank(self):
        # A copied-but-unedited .env must not start with a published secret:
        # an empty LIVEGATE_SECRET makes livegate refuse to start.
        self.assertEqual(self.assigned.get("LIVEGATE_SECRET"), "")
        self.assertEqual(self.assigned.get("LIVEGATE_API_KEY"), "")

    def test_commented_defaults_match_help(self):
        for line in ENV_EXAMPLE.read_text().splitlines():
            m = re.fullmatch(r"#\s*(LIVEGATE_[A-Z0-9_]+)=(\S*)", line.strip())
            if not m or m.group(1) in ("LIVEGATE_SECRETS", "LIVEGATE_SECRETS_FILE",
                                       "LIVEGATE_WORKERS", "LIVEGATE_REDIS_TLS_CA",
                                       "LIVEGATE_REDIS_TLS_CERT", "LIVEGATE_REDIS_TLS_KEY"):
                continue   # examples, not defaults
            name, value = m.groups()
            default = self.known[name]
            with self.subTest(var=name):
                self.assertEqual(value, "" if default == "(empty)" else default)


if __name__ == "__main__":
    dt.main()
