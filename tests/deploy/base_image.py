"""The Debian 12 base image the Dockerfiles start FROM, made on this
machine: no registry is reachable here, Debian's apt mirror is. mmdebstrap
builds a minbase bookworm from the mirror the machine's own apt sources
name (about 35 s), the tarball is kept in the state folder (the build
folder) and made again only when the sources or the options below change;
it is imported once into the test's podman store and tagged as both
`debian:12` and `debian:12-slim`.

The options bring it close to Docker Hub's debian:12-slim: merged /usr set up
by mmdebstrap's hook (not the usrmerge package, which pulls in perl), slim's
dpkg filters, so documentation, manuals and translations stay out of this
image and of every image built on it, and the Docker images' apt settings.
"""

import hashlib
import re
import subprocess
import time
from pathlib import Path

SUITES = ("bookworm", "bookworm-updates", "bookworm-security")
TAGS = ("docker.io/library/debian:12", "docker.io/library/debian:12-slim")
SLIM_DPKG = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/groff/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/share/linda/*",
    "path-exclude=/usr/share/locale/*",
)
# What Docker Hub's Debian images put in /etc/apt/apt.conf.d (docker-clean,
# docker-no-languages): downloaded packages and the package cache are deleted
# after each apt run, so a Dockerfile's `rm -rf /var/lib/apt/lists/*` leaves
# an image without apt's leftovers, as it does on the real base.
DOCKER_APT = (
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
    '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; }',
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
    '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; }',
    'Dir::Cache::pkgcache ""',
    'Dir::Cache::srcpkgcache ""',
    'Acquire::Languages "none"',
)
HOOK = "/usr/share/mmdebstrap/hooks/merged-usr"
MMDEBSTRAP_TIMEOUT = 900
IMPORT_TIMEOUT = 300


def _deb822_entries(text):
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            m = re.match(r"([A-Za-z-]+):\s*(.*)", line)
            if m:
                fields[m.group(1).lower()] = m.group(2).split()
        if "deb" not in fields.get("types", []) or fields.get("enabled") == ["no"]:
            continue
        for uri in fields.get("uris", []):
            for suite in fields.get("suites", []):
                yield uri, suite


def _one_line_entries(text):
    for line in text.splitlines():
        m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
        if m:
            yield m.group(1), m.group(2)


def machine_mirror(etc=Path("/etc/apt")):
    """One `deb URI SUITE main` line per Debian 12 suite the machine's apt
    sources name, first URI wins. Fails if bookworm itself is missing."""
    found = {}
    files = sorted((etc / "sources.list.d").glob("*.sources"))
    lists = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]
    for f in files:
        for uri, suite in _deb822_entries(f.read_text()):
            found.setdefault(suite, uri)
    for f in lists:
        if f.is_file():
            for uri, suite in _one_line_entries(f.read_text()):
                found.setdefault(suite, uri)
    if "bookworm" not in found:
        raise AssertionError(f"no `deb` entry for bookworm in {etc}/sources.list or "
                             f"{etc}/sources.list.d/: the base image is made from the "
                             "machine's own Debian mirror")
    return [f"deb {found[s]} {s} main" for s in SUITES if s in found]


def mmdebstrap_argv(target, mirror_lines):
    return ["mmdebstrap", "--variant=minbase", "--format=tar", f"--hook-dir={HOOK}",
            *(f"--dpkgopt={o}" for o in SLIM_DPKG), *(f"--aptopt={o}" for o in DOCKER_APT),
            "bookworm", str(target), *mirror_lines]


def cached_tarball(state_dir, log):
    """The base tarball for the machine's current mirror, made if missing.
    Returns (path, seconds spent making it; 0 when cached)."""
    lines = machine_mirror()
    key = hashlib.sha256("\n".join(mmdebstrap_argv("-", lines)).encode()).hexdigest()[:16]
    tar = Path(state_dir) / f"debian12-base-{key}.tar"
    if tar.is_file():
        return tar, 0.0
    for old in Path(state_dir).glob("debian12-base-*.tar*"):
        old.unlink()
    partial = tar.with_suffix(".tar.partial")
    t0 = time.monotonic()
    with open(log, "ab") as out:
        try:
            p = subprocess.run(mmdebstrap_argv(partial, lines), stdout=out,
                               stderr=subprocess.STDOUT, timeout=MMDEBSTRAP_TIMEOUT)
        except subprocess.TimeoutExpired:
            partial.unlink(missing_ok=True)
            raise AssertionError(f"mmdebstrap did not finish within {MMDEBSTRAP_TIMEOUT}s "
                                 f"(log: {log})") from None
    if p.returncode != 0:
        partial.unlink(missing_ok=True)
        raise AssertionError(f"mmdebstrap exited {p.returncode} (mirror: {lines}):\n"
                             f"{Path(log).read_text(errors='replace')[-3000:]}")
    partial.rename(tar)
    return tar, time.monotonic() - t0


def ensure_imported(store, tar):
    """Imports tar as debian:12 and debian:12-slim unless the store already
    holds this very tarball under those names (a new image ID would make
    every build after it start from scratch). Returns whether it imported."""
    marker = store.state / "base-image.id"
    recorded = marker.read_text().split() if marker.is_file() else []
    if len(recorded) == 2 and recorded[0] == tar.name:
        ids = {store.run(["image", "inspect", "--format", "{{.Id}}", t], 60,
                         check=False).stdout.strip() for t in TAGS}
        if ids == {recorded[1]}:
            return False
    # Every image in the store was built on the previous base, so none of
    # them can serve as a build cache any more.
    store.run(["image", "rm", "--all", "--force"], IMPORT_TIMEOUT)
    store.run(["import", "--quiet", "--change", 'CMD ["bash"]', tar, TAGS[0]], IMPORT_TIMEOUT)
    store.run(["tag", TAGS[0], TAGS[1]], 60)
    image_id = store.run(["image", "inspect", "--format", "{{.Id}}", TAGS[0]], 60).stdout.strip()
    marker.write_text(f"{tar.name} {image_id}\n")
    return True
