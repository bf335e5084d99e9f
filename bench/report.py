"""Measured series: one row of the table and one object of `--json` each (CONTRACT §6)."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.hist import Histogram, merged
from bench.loadgen import RunOutcome
from bench.plans import TallyOutcome


@dataclass
class Series:
    scenario: str
    engine: str
    target_rate: float | None
    achieved_rate: float | None
    duration_s: float
    errors: int
    latency: Histogram = field(default_factory=Histogram)
    extra: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or f"{self.scenario}/{self.engine}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "engine": self.engine,
            "targetRate": self.target_rate,
            "achievedRate": self.achieved_rate,
            "durationS": self.duration_s,
            "errors": self.errors,
            "latencyMs": self.latency.summary_ms(),
        }
        if self.label:
            out["label"] = self.label
        out.update(self.extra)
        return out


@dataclass
class TallySum:
    sent: int = 0
    sent_window: int = 0
    accepted: int = 0
    accepted_window: int = 0
    missing: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latency: Histogram = field(default_factory=Histogram)
    service: Histogram = field(default_factory=Histogram)
    acks: list[tuple[int, int, float]] = field(default_factory=list)


def sum_tallies(outcomes: list[TallyOutcome]) -> TallySum:
    total = TallySum()
    for o in outcomes:
        total.sent += o.sent
        total.sent_window += o.sent_window
        total.accepted += o.accepted
        total.accepted_window += o.accepted_window
        total.missing += o.missing
        total.errors.update(o.errors)
        total.acks.extend(o.acks)
    total.latency = merged([o.latency for o in outcomes])
    total.service = merged([o.service for o in outcomes])
    return total


def generator_health(run: RunOutcome) -> dict[str, Any]:
    """The load generator's own lag and CPU: if these are high, it was the bottleneck."""
    lag = merged([r.lag for r in run.results])
    cpu = [100.0 * r.cpu_s / r.wall_s for r in run.results if r.wall_s > 0]
    return {
        "generatorLagMs": {"p99": lag.summary_ms()["p99"], "max": lag.summary_ms()["max"]},
        "generatorCpuPct": round(max(cpu), 1) if cpu else None,
        "workers": len(run.results),
    }


def server_health(run: RunOutcome) -> dict[str, Any]:
    """CPU and memory of the server process, and its ping round trip (bench.probe)."""
    rss = run.server_rss_end
    ping = merged([r.ping for r in run.results])
    return {
        "serverCpuPct": run.server_cpu_pct,
        "serverRssMb": round(rss / 2**20, 1) if rss else None,
        "serverPingMs": ping.summary_ms() if ping.count else None,
    }


def bid_series(
    scenario: str,
    engine: str,
    target: float | None,
    measured_s: float,
    run: RunOutcome,
    tally: TallySum,
    **extra: Any,
) -> Series:
    """A series of request → reply latencies (bids, REST calls)."""
    achieved = round(tally.accepted_window / measured_s, 1) if measured_s > 0 else None
    series = Series(
        scenario=scenario,
        engine=engine,
        target_rate=target,
        achieved_rate=achieved,
        duration_s=round(measured_s, 3),
        errors=sum(tally.errors.values()),
        latency=tally.latency,
    )
    series.extra.update(
        sent=tally.sent,
        accepted=tally.accepted,
        missing=tally.missing,
        errorsByCode=dict(tally.errors),
        serviceMs=tally.service.summary_ms(),
        **server_health(run),
        **generator_health(run),
        **extra,
    )
    return series


_COLUMNS = (
    "series",
    "target/s",
    "achieved/s",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "max",
    "errors",
    "missing",
    "srv cpu%",
    "gen cpu%",
    "gen lag p99",
)
GENERATOR_BUSY_PCT = 85.0
GENERATOR_LATE_MS = 5.0


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def _row(s: Series) -> list[str]:
    lat = s.latency.summary_ms()
    gen_lag = (s.extra.get("generatorLagMs") or {}).get("p99")
    return [
        s.name,
        _fmt(s.target_rate),
        _fmt(s.achieved_rate),
        _fmt(lat["p50"]),
        _fmt(lat["p90"]),
        _fmt(lat["p99"]),
        _fmt(lat["p999"]),
        _fmt(lat["max"]),
        _fmt(s.errors),
        _fmt(s.extra.get("missing")),
        _fmt(s.extra.get("serverCpuPct")),
        _fmt(s.extra.get("generatorCpuPct")),
        _fmt(gen_lag),
    ]


def generator_bound(s: Series) -> bool:
    cpu = s.extra.get("generatorCpuPct") or 0.0
    lag = (s.extra.get("generatorLagMs") or {}).get("p99") or 0.0
    return bool(cpu >= GENERATOR_BUSY_PCT or lag >= GENERATOR_LATE_MS)


def table(series: list[Series]) -> str:
    """Latencies in ms; cpu% of one core, over the measured window."""
    rows = [list(_COLUMNS)] + [_row(s) for s in series]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("latency in ms from the intended send time to the reply (coordinated omission")
    lines.append("corrected); cpu% of one core over the measured window; errors include rule")
    lines.append("rejections (see errorsByCode in --json)")
    busy = [s.name for s in series if generator_bound(s)]
    if busy:
        lines.append(
            f"WARNING: the load generator was busy or late in {', '.join(busy)}: those figures "
            "are bounds on the server, not its measure (try --workers, fewer watchers)"
        )
    return "\n".join(lines)


def write_json(path: str, series: list[Series]) -> None:
    Path(path).write_text(json.dumps([s.to_json() for s in series], indent=2) + "\n")


def plot_unavailable() -> str | None:
    """Why `--plot` cannot work here, checked before a run rather than after it."""
    if importlib.util.find_spec("matplotlib") is None:
        return "--plot needs matplotlib, which is not installed: pip install -e '.[bench]'"
    return None


def write_plot(path: str, series: list[Series]) -> None:
    """Latency by percentile, one curve per series (needs matplotlib: the `bench` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    for s in series:
        curve = s.latency.curve()
        if curve:
            xs = [1.0 / max(1.0 - p / 100.0, 1e-9) for p, _ in curve]
            ax.plot(xs, [ms for _, ms in curve], label=s.name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [1, 2, 10, 100, 1000, 10000, 100000]
    ax.set_xticks(ticks, ["0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.999%"])
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency (ms)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
