"""The machine side of a run: CPU pinning, file-descriptor limits, a process's CPU and RSS.

On a machine with at least two usable cores the server gets the first one (through
`taskset`) and the load generator the rest, so neither steals the other's cycles and the
generator's lag measures the generator alone. PostgreSQL is not pinned: it is shared with
whoever else uses it. File-descriptor limits are raised to the hard limit here, and child
processes (the server, the workers) inherit the raised soft limit.
"""

from __future__ import annotations

import os
import resource
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class CorePlan:
    """Which cores the server and the load generator run on; None means not pinned."""

    server: tuple[int, ...] | None
    generator: tuple[int, ...] | None
    workers: int
    why_not: str = ""

    def server_prefix(self) -> list[str]:
        if self.server is None:
            return []
        return ["taskset", "-c", _cores(self.server)]

    def describe(self) -> str:
        if self.server is None or self.generator is None:
            return f"pinning: none ({self.why_not}); generator: {self.workers} worker process(es)"
        return (
            f"pinning: server on cpu {_cores(self.server)} (taskset -c {_cores(self.server)}), "
            f"generator on cpu {_cores(self.generator)} with {self.workers} worker process(es); "
            "PostgreSQL unpinned"
        )


def _cores(cores: tuple[int, ...]) -> str:
    return ",".join(map(str, cores))


def usable_cores() -> tuple[int, ...]:
    if hasattr(os, "sched_getaffinity"):
        return tuple(sorted(os.sched_getaffinity(0)))
    return tuple(range(os.cpu_count() or 1))


def plan_cores(*, pin: bool, workers: int | None, local_server: bool) -> CorePlan:
    """Server on the first core, generator on the rest; workers default to one per core."""
    cores = usable_cores()
    why_not = ""
    if not pin:
        why_not = "--no-pin"
    elif not local_server:
        why_not = "server not started by the harness"
    elif len(cores) < 2:
        why_not = "fewer than two usable cores"
    elif shutil.which("taskset") is None:
        why_not = "taskset not found"
    if why_not:
        return CorePlan(None, None, workers or max(1, min(len(cores) // 2, 8)), why_not)
    server, generator = cores[:1], cores[1:]
    return CorePlan(server, generator, workers or max(1, min(len(generator), 8)))


def pin_self(cores: tuple[int, ...] | None) -> None:
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)


def raise_fd_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return int(resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def check_fd_budget(connections: int, *, margin: int = 200) -> str | None:
    """Why `connections` sockets cannot be opened in one process, or None when they can."""
    limit = raise_fd_limit()
    if connections + margin <= limit:
        return None
    return (
        f"{connections} connections need about {connections + margin} file descriptors in the "
        f"server and in the generator, but the limit is {limit} (hard limit; raise it with "
        f"`ulimit -Hn {connections + 1000}` as root, or in /etc/security/limits.conf)"
    )


class ProcessSampler:
    """CPU time and resident memory of one process, read from /proc (Linux)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._mark_cpu = 0.0
        self._mark_wall = 0.0

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the process (all threads) so far."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def rss_bytes(self) -> int:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def mark(self) -> None:
        self._mark_cpu, self._mark_wall = self.cpu_seconds(), time.monotonic()

    def cpu_percent_since_mark(self) -> float | None:
        elapsed = time.monotonic() - self._mark_wall
        if not self._mark_wall or elapsed <= 0:
            return None
        return round(100.0 * (self.cpu_seconds() - self._mark_cpu) / elapsed, 1)


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
