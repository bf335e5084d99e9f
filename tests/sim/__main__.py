"""`python -m tests.sim --seeds 10000`: the long run, with progress; `--seed N` replays one."""

from __future__ import annotations

import argparse
import sys
import time

from tests.sim.faults import FaultConfig
from tests.sim.run import SimResult, run_seed
from tests.sim.world import CHECKS, SimOptions


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.sim", description=__doc__)
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds to run")
    parser.add_argument("--first", type=int, default=0, help="the first seed")
    parser.add_argument("--seed", type=int, help="run this one seed and print its trace")
    parser.add_argument("--mode", choices=("durable", "memory", "both"), default="both")
    parser.add_argument("--steps", type=int, default=200, help="steps per seed")
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="FAULT",
        help=f"switch a fault class off (repeatable): {', '.join(FaultConfig().enabled())}",
    )
    parser.add_argument(
        "--skip-check",
        action="append",
        default=[],
        metavar="CHECK",
        choices=sorted(CHECKS),
        help="switch a check off (repeatable): "
        + "; ".join(f"{name}: {why}" for name, why in CHECKS.items()),
    )
    parser.add_argument("--keep-going", action="store_true", help="do not stop at a failure")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    faults = FaultConfig().without(args.without)
    modes = (True, False) if args.mode == "both" else (args.mode == "durable",)
    seeds = [args.seed] if args.seed is not None else range(args.first, args.first + args.seeds)
    started, failures, runs = time.monotonic(), 0, 0
    for n, seed in enumerate(seeds, 1):
        for durable in modes:
            options = SimOptions(
                seed,
                durable=durable,
                faults=faults,
                steps=args.steps,
                skip_checks=frozenset(args.skip_check),
            )
            result = run_seed(options)
            runs += 1
            if args.seed is not None:
                print("\n".join(result.trace))
            if not result.ok:
                failures += 1
                print(result.report(), flush=True)
                if not args.keep_going:
                    return 1
        if n % 50 == 0 or n == len(seeds):
            _progress(n, len(seeds), runs, failures, started, result)
    return 1 if failures else 0


def _progress(
    n: int, total: int, runs: int, failures: int, started: float, last: SimResult
) -> None:
    spent = time.monotonic() - started
    print(
        f"{n}/{total} seeds, {runs} runs, {failures} failed, {spent:.0f} s "
        f"({spent / runs * 1000:.0f} ms a run; last: {last.bids} bids over "
        f"{last.virtual_s:.0f} virtual s)",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
