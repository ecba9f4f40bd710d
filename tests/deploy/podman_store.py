"""A podman of the deploy tests' own, beside the machine's: its images,
containers, networks and run state live under one state folder (in the
build folder) and /run/livegate-deploy-<key>, selected through the
CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and CONTAINERS_REGISTRIES_CONF
variables of each podman call. Nothing in /etc/containers or
/var/lib/containers is read or written, and clean-up removes exactly what
this store holds.

What the written containers.conf settles, each because this machine forces it:
- runtime runc, named so that an installed crun is never picked: crun
  failed on this machine's hybrid (v1 + v2) cgroups when checked by hand;
- cgroup_manager cgroupfs and events_logger file: no systemd is running;
- default_ulimits within the machine's hard limits: rootful podman asks for
  1048576 open files and processes by default, and setrlimit above the
  hard limit needs CAP_SYS_RESOURCE, which this machine does not grant;
- pull_policy never and no search registries: nothing may come from a
  registry, so a missing image fails at once instead of reaching docker.io.
"""

import hashlib
import json
import resource
import shutil
import subprocess
from pathlib import Path

# Processes per container: the demo app takes a thread per request, Redis
# a handful, livegate one per worker; far below any machine's hard limit.
NPROC = 4096


def hard_limit(which):
    """The machine's hard limit for an rlimit (what containers may ask for)."""
    return resource.getrlimit(which)[1]


def container_nofile():
    return hard_limit(resource.RLIMIT_NOFILE)


def container_nproc():
    hard = hard_limit(resource.RLIMIT_NPROC)
    return NPROC if hard == resource.RLIM_INFINITY else min(NPROC, hard)


class Store:
    """One isolated podman: `run` and `json` call it, `remove_all` empties
    it of containers and networks (images stay: they are the build cache)."""

    def __init__(self, state_dir):
        self.state = Path(state_dir).resolve()
        key = hashlib.sha256(str(self.state).encode()).hexdigest()[:12]
        self.rundir = Path("/run") / f"livegate-deploy-{key}"
        self.podman = shutil.which("podman")
        self.env = None

    def configure(self):
        """Writes the three config files; returns the environment for podman."""
        conf = self.state / "conf"
        for d in (conf, self.state / "storage", self.state / "networks", self.rundir):
            d.mkdir(parents=True, exist_ok=True)
        nofile, nproc = container_nofile(), container_nproc()
        (conf / "containers.conf").write_text(f"""\
# Written by tests/deploy/podman_store.py for the deploy tests only.
[containers]
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
pull_policy = "never"
tmp_dir = "{self.rundir / 'libpod'}"

[network]
network_backend = "netavark"
network_config_dir = "{self.state / 'networks'}"
""")
        (conf / "storage.conf").write_text(f"""\
# Written by tests/deploy/podman_store.py for the deploy tests only.
[storage]
driver = "overlay"
graphroot = "{self.state / 'storage'}"
runroot = "{self.rundir / 'storage'}"
""")
        (conf / "registries.conf").write_text(
            "# Written by tests/deploy/podman_store.py: no registry is searched.\n"
            "unqualified-search-registries = []\n"
            'short-name-mode = "disabled"\n')
        self.env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.state),
            "LANG": "C.UTF-8",
            "CONTAINERS_CONF": str(conf / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(conf / "storage.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(conf / "registries.conf"),
        }
        return self.env

    def run(self, args, timeout, check=True, **kwargs):
        """podman ARGS with this store's configuration, bounded by timeout
        seconds. Returns the CompletedProcess; with check, a non-zero exit
        is an AssertionError carrying podman's own message."""
        argv = [self.podman, *map(str, args)]
        try:
            p = subprocess.run(argv, env=self.env, capture_output=True, text=True,
                               timeout=timeout, **kwargs)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"`{' '.join(argv)}` did not finish within {timeout}s:\n"
                                 f"{e.stdout or ''}{e.stderr or ''}") from None
        if check and p.returncode != 0:
            raise AssertionError(f"`{' '.join(argv)}` exited {p.returncode}:\n"
                                 f"{p.stdout}{p.stderr}")
        return p

    def json(self, args, timeout=60):
        return json.loads(self.run(args, timeout).stdout or "null")

    def remove_all(self):
        """Force-removes every container and network of this store (the
        leftovers of a run killed before its clean-up, or this run's).
        Returns the error messages; clean-up goes on past each."""
        errors = []
        ids = self.run(["ps", "-aq"], 60, check=False).stdout.split()
        if ids:
            p = self.run(["rm", "--force", "--time", "0", *ids], 120, check=False)
            if p.returncode != 0:
                errors.append(p.stderr.strip())
        for net in self.run(["network", "ls", "--format", "{{.Name}}"], 60,
                            check=False).stdout.split():
            if net == "podman":
                continue   # podman's built-in default, never created on disk
            p = self.run(["network", "rm", "--force", net], 60, check=False)
            if p.returncode != 0:
                errors.append(p.stderr.strip())
        return errors

    def image_size(self, ref):
        """Uncompressed size of an image in bytes."""
        return int(self.run(["image", "inspect", "--format", "{{.Size}}", ref], 60).stdout)
