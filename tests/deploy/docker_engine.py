"""A private Docker engine for one test run, off the host's network, always stopped after.

`dockerd` runs from Debian's `docker.io` with its state, sockets and containerd under a
temporary folder, and without touching the host's network: no iptables rules, no IP
forwarding or masquerading, no bridge. Builds and containers use `--network host`. Image
registries cannot be reached here, so the base image `debian:bookworm-slim` is made locally
with `debootstrap --variant=minbase bookworm` and `docker import`; the machine's extra CA
certificates go into it, or pip inside the build could not verify the package index.

Making that root file system takes one to two minutes, so its tarball is cached outside
the repository (`/var/cache/bidserver-ci/`, overridable by `BIDSERVER_CI_CACHE`) for a
week: a machine runs debootstrap at most once a week, and a fresh machine still passes,
only slower. Nothing is left behind: containers are removed and `dockerd` is
stopped by its pid, even when the test fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.tools import missing

BASE_IMAGE = "debian:bookworm-slim"
MIRROR = os.environ.get("BIDSERVER_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE = Path(os.environ.get("BIDSERVER_CI_CACHE", "/var/cache/bidserver-ci"))
BASE_MAX_AGE_S = 7 * 24 * 3600
EXTRA_CAS = Path("/usr/local/share/ca-certificates")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
POLL_S = 0.1  # waiting for the daemon's socket: no event to wake on

# Like the published slim image: no docs, man pages or translations in what apt installs.
_DPKG_SLIM = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
"""

# The apt settings Docker's official Debian images carry (debuerreotype): no translations
# and compressed indexes make `apt-get update` in a build quicker and smaller.
_APT_CONF = {
    "docker-no-languages": 'Acquire::Languages "none";\n',
    "docker-gzip-indexes": (
        'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n'
    ),
    "docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
}


@dataclass
class Engine:
    """A running private dockerd and the client bound to it."""

    client: str
    host: str
    log_path: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env.update(DOCKER_HOST=self.host, DOCKER_BUILDKIT="0")
        return env

    def run(
        self, *args: str, timeout: float = 300, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [self.client, *args],
            env=self.env(),
            input=None if stdin is None else stdin.decode("latin-1"),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return done

    def check(self, *args: str, timeout: float = 300) -> str:
        done = self.run(*args, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
        return done.stdout.strip()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def require_docker() -> tuple[str, str]:
    """dockerd and a client of the same engine (Debian's), else fail/skip."""
    dockerd = shutil.which("dockerd")
    client = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker")
    if dockerd is None or client is None:
        missing("dockerd not found; install Debian's docker.io (.ci/setup-docker)")
    if os.geteuid() != 0:
        missing("the container test starts its own dockerd, which needs root")
    assert dockerd is not None
    assert client is not None
    return dockerd, client


@contextlib.contextmanager
def docker_engine() -> Iterator[Engine]:
    dockerd, client = require_docker()
    state = Path(tempfile.mkdtemp(prefix="bidserver-docker-"))
    sock = state / "docker.sock"
    log_path = state / "dockerd.log"
    command = [
        dockerd,
        f"--data-root={state / 'data'}",
        f"--exec-root={state / 'exec'}",
        f"--pidfile={state / 'dockerd.pid'}",
        f"--host=unix://{sock}",
        "--iptables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        "--bridge=none",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    engine = Engine(client, f"unix://{sock}", log_path)
    try:
        _wait_started(engine, process)
        yield engine
    finally:
        _stop(engine, process)
        _unmount_under(state)
        shutil.rmtree(state, ignore_errors=True)


def _wait_started(engine: Engine, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while engine.run("version", "--format", "{{.Server.Version}}", timeout=10).returncode != 0:
        if process.poll() is not None:
            raise AssertionError(f"dockerd exited {process.returncode}:\n{engine.log()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"dockerd did not answer in {START_TIMEOUT_S} s:\n{engine.log()}")
        time.sleep(POLL_S)


def _stop(engine: Engine, process: subprocess.Popen[bytes]) -> None:
    """Remove every container, then stop dockerd (and its containerd) by pid."""
    if process.poll() is None:
        ids = engine.run("ps", "-aq", timeout=30).stdout.split()
        if ids:
            engine.run("rm", "-f", *ids, timeout=60)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT_S)


def _unmount_under(folder: Path) -> None:
    """What dockerd leaves mounted once stopped (its default netns), deepest first."""
    prefix = str(folder) + "/"
    with open("/proc/self/mountinfo") as mounts:
        points = [line.split()[4] for line in mounts]
    for point in sorted((p for p in points if p.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)


# --- the base image -----------------------------------------------------------------------


def base_tarball() -> Path:
    """A debootstrapped bookworm as a tarball: from the cache while it is under a week old
    (the image build updates its packages anyway), else made (and cached)."""
    name = f"debian-bookworm-minbase-{_recipe()}.tar"
    cached = CACHE / name
    if cached.exists() and time.time() - cached.stat().st_mtime < BASE_MAX_AGE_S:
        return cached
    if shutil.which("debootstrap") is None:
        missing("debootstrap not found; install Debian's debootstrap (.ci/setup-docker)")
    work = Path(tempfile.mkdtemp(prefix="bidserver-rootfs-"))
    try:
        rootfs = work / "rootfs"
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), MIRROR],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"debootstrap failed:\n{done.stdout[-3000:]}\n{done.stderr}")
        _slim(rootfs)
        target = _cache_dir(work) / name
        partial = target.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
        partial.rename(target)
        for old in target.parent.glob("debian-bookworm-minbase-*.tar"):
            if old != target:
                old.unlink(missing_ok=True)
        return target
    finally:
        shutil.rmtree(work / "rootfs", ignore_errors=True)
        if not any(work.iterdir()):
            work.rmdir()  # the tarball went to the cache


def _recipe() -> str:
    """A short hash of what goes into the root file system, so a change remakes the cache."""
    recipe = hashlib.sha256((_DPKG_SLIM + repr(sorted(_APT_CONF.items())) + MIRROR).encode())
    for cert in sorted(EXTRA_CAS.glob("*.crt")) if EXTRA_CAS.is_dir() else []:
        recipe.update(cert.read_bytes())
    return recipe.hexdigest()[:8]


def _cache_dir(work: Path) -> Path:
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        probe = CACHE / ".probe"
        probe.touch()
        probe.unlink()
        return CACHE
    except OSError:
        return work  # not cacheable here: used once, then removed with `work`


def _slim(rootfs: Path) -> None:
    """What the published slim image has, plus this machine's extra CAs for pip."""
    (rootfs / "etc/dpkg/dpkg.cfg.d/slim").write_text(_DPKG_SLIM)
    for name, text in _APT_CONF.items():
        (rootfs / "etc/apt/apt.conf.d" / name).write_text(text)
    for folder in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (rootfs / folder).glob("*"):
            if entry.is_file():
                entry.unlink()
    target = rootfs / "usr/local/share/ca-certificates"
    target.mkdir(parents=True, exist_ok=True)
    for cert in EXTRA_CAS.glob("*.crt") if EXTRA_CAS.is_dir() else []:
        shutil.copy2(cert, target / cert.name)


def import_base_image(engine: Engine) -> None:
    tarball = base_tarball()
    with tarball.open("rb") as stream:
        done = subprocess.run(
            [engine.client, "import", "-", BASE_IMAGE],
            env=engine.env(),
            stdin=stream,
            capture_output=True,
            timeout=300,
            check=False,
        )
    if done.returncode != 0:
        raise AssertionError(f"docker import failed: {done.stderr.decode(errors='replace')}")
    if tarball.parent != CACHE:
        shutil.rmtree(tarball.parent, ignore_errors=True)  # made for this run only
