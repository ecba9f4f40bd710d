"""deploy/docker-compose.yml brought up for real with podman-compose, on the
test's own podman store (podman_store.py): the images built from the
repository's Dockerfiles, the compose file staged with a .env and the CI
override, and helpers to reach the running services.

The compose file is copied byte for byte into the state folder, next to the
.env the test writes: podman-compose reads `env_file: .env` from the compose
file's folder, and the test must not write into deploy/ (a developer's own
deploy/.env may be there). So the images are built by the test, not by
podman-compose (whose build would resolve the copy's relative contexts, and
which passes no `--format docker`: podman's default OCI format drops the
Dockerfile's HEALTHCHECK). Each is built as checked by hand on this machine
(`--isolation chroot --network host`) from the context and Dockerfile the
compose file's `build:` names, with the tag the compose file (or, for the
two images below, the override) gives.
"""

import fnmatch
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import yaml

import deploytest as dt
import podman_store

COMPOSE = dt.DEPLOY / "docker-compose.yml"
REDIS_DOCKERFILE = Path(__file__).resolve().parent / "redis.Dockerfile"
REDIS_IMAGE = "localhost/livegate-ci/redis:debian12"
APP_IMAGE = "localhost/livegate-ci/app:latest"
BUILD_TIMEOUT = 900
COMPOSE_TIMEOUT = 300


def load_compose():
    return yaml.safe_load(COMPOSE.read_text())


def ci_override(compose):
    """The only difference between CI's stack and deploy/docker-compose.yml.
    Each entry is forced by this machine:

    - redis `image`: Docker Hub's redis:7-bookworm cannot be pulled (no
      registry is reachable); redis.Dockerfile builds the stand-in from
      Debian's redis-server on the same Debian 12 base.
    - app `image`: the tag the test built the demo app's image under (the
      compose file leaves the name to the compose tool).
    - livegate `ulimits`: the compose file asks for 65536 open files, above
      this machine's hard limit (20,000), and raising a hard limit needs
      CAP_SYS_RESOURCE, which the machine withholds; nofile becomes the hard
      limit. nproc is spelled out because podman drops its configured default
      ulimits for a container given any --ulimit, and its own default
      (1048576 processes) is above the hard limit too.
    """
    nofile = compose["services"]["livegate"]["ulimits"]["nofile"]
    wanted = int(nofile["hard"] if isinstance(nofile, dict) else nofile)
    limit = min(wanted, podman_store.container_nofile())
    nproc = podman_store.container_nproc()
    return {"services": {
        "redis": {"image": REDIS_IMAGE},
        "app": {"image": APP_IMAGE},
        "livegate": {"ulimits": {"nofile": {"soft": limit, "hard": limit},
                                 "nproc": {"soft": nproc, "hard": nproc}}},
    }}


def build_source(compose, service):
    """(context, dockerfile) of a service's `build:`, resolved as compose
    does: the context against the compose file's folder, the Dockerfile
    against the context."""
    build = compose["services"][service]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    return context, (context / build.get("dockerfile", "Dockerfile")).resolve()


def check_outside_context(state_dir, context, dockerfile):
    """The state folder (podman's storage, gigabytes) must not be sent as
    part of the build context: fails unless it lies outside the context or
    under a folder the Dockerfile's ignore file excludes."""
    try:
        rel = Path(state_dir).resolve().relative_to(context)
    except ValueError:
        return
    ignore = Path(str(dockerfile) + ".dockerignore")
    patterns = [line.strip() for line in ignore.read_text().splitlines()
                if line.strip() and not line.startswith("#")] if ignore.is_file() else []
    parts = rel.parts
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        if any(fnmatch.fnmatch(prefix, p) for p in patterns):
            return
    raise AssertionError(f"the test's state folder {state_dir} lies inside the build context "
                         f"{context} and {ignore.name} does not exclude it: use a build folder "
                         "named as that file excludes (build, build-*, builddir) or outside "
                         "the repository")


class Stack:
    """The compose project: staged files, podman-compose, and the services."""

    def __init__(self, store, project):
        self.store = store
        self.project = project
        self.dir = store.state / "stack"
        self.log = store.state / "podman-compose.log"
        self.api_key = secrets.token_hex(24)
        self.public_port = self.app_port = None

    def stage(self, override_text):
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        shutil.copyfile(COMPOSE, self.dir / COMPOSE.name)
        (self.dir / ".env").write_text(f"LIVEGATE_SECRET={dt.new_secret()}\n"
                                       f"LIVEGATE_API_KEY={self.api_key}\n")
        (self.dir / "compose.ci.yml").write_text(override_text)
        self.public_port, self.app_port = dt.free_port(), dt.free_port()
        while self.app_port == self.public_port:
            self.app_port = dt.free_port()

    def compose(self, *args, timeout=COMPOSE_TIMEOUT):
        """podman-compose ARGS on the staged files; its output goes to the log.
        Returns the exit status."""
        env = dict(self.store.env, PUBLIC_PORT=str(self.public_port), APP_PORT=str(self.app_port))
        argv = ["podman-compose", "-p", self.project, "-f", str(self.dir / COMPOSE.name),
                "-f", str(self.dir / "compose.ci.yml"), *args]
        with open(self.log, "a") as out:
            out.write(f"\n$ {' '.join(argv)}\n")
            out.flush()
            try:
                return subprocess.run(argv, env=env, cwd=self.dir, stdout=out,
                                      stderr=subprocess.STDOUT, timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                raise AssertionError(f"`{' '.join(argv)}` did not finish within {timeout}s; "
                                     f"log: {self.log}") from None

    def log_errors(self):
        """podman's error lines from the compose log (podman-compose goes on,
        and exits 0, after a container fails to start)."""
        text = self.log.read_text(errors="replace") if self.log.is_file() else ""
        return "\n".join(line for line in text.splitlines() if line.startswith("Error"))

    def containers(self):
        """{service: container name} of this project, running or not."""
        out = self.store.run(["ps", "-a", "--filter", f"label=com.docker.compose.project={self.project}",
                              "--format", '{{.Names}} {{index .Labels "com.docker.compose.service"}}'],
                             60).stdout
        return {svc: name for name, svc in (line.split() for line in out.splitlines() if line)}

    def container(self, service):
        names = self.containers()
        if service not in names:
            raise AssertionError(f"no container for service {service!r} (have {names}); "
                                 f"podman errors:\n{self.log_errors()}")
        return names[service]

    def inspect(self, service):
        return self.store.json(["container", "inspect", self.container(service)])[0]

    def logs(self, service, tail=40):
        p = self.store.run(["logs", "--tail", tail, self.container(service)], 60, check=False)
        return p.stdout + p.stderr

    def exec(self, service, *argv, timeout=60):
        return self.store.run(["exec", self.container(service), *argv], timeout)


def build_image(store, tag, context, dockerfile, log):
    """podman build as checked by hand on this machine; returns seconds taken."""
    t0 = time.monotonic()
    p = store.run(["build", "--format", "docker", "--isolation", "chroot", "--network", "host",
                   "--pull=never", "-f", dockerfile, "-t", tag, context],
                  BUILD_TIMEOUT, check=False)
    with open(log, "a") as out:
        out.write(f"\n$ podman build -t {tag}\n{p.stdout}{p.stderr}")
    if p.returncode != 0:
        raise AssertionError(f"building {tag} from {dockerfile} failed (exit {p.returncode}):\n"
                             f"{(p.stdout + p.stderr)[-4000:]}")
    return time.monotonic() - t0


def host_addresses():
    """The host's own IPv4 addresses (loopback, the NIC, container bridges)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    return sorted({line.split()[3].split("/")[0] for line in out.splitlines()})


def processes_mentioning(words):
    """PIDs of live (not zombie) processes whose command line holds any of words."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(w in cmdline for w in words):
            found.append((int(proc.name), cmdline.replace("\0", " ").strip()))
    return found


def uids_of_tree(pid):
    """{pid: real uid} for pid and all its descendants, from the host's /proc."""
    children = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                status = (proc / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            children.setdefault(int(fields["PPid"]), []).append(
                (int(proc.name), int(fields["Uid"].split()[0])))
    own = Path(f"/proc/{pid}/status").read_text()
    uid = int(next(l for l in own.splitlines() if l.startswith("Uid:")).split()[1])
    result, todo = {pid: uid}, [pid]
    while todo:
        for child, cuid in children.get(todo.pop(), []):
            result[child] = cuid
            todo.append(child)
    return result

