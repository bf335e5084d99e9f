"""The deterministic simulation in CI: a few seeds in both ack modes (the long run is
`python -m tests.sim --seeds 10000`), that a seed replays exactly, and that the checks
catch a planted bug.
"""

from __future__ import annotations

import pytest

from bidserver.ports import AppendItem
from tests.sim.faults import FaultConfig
from tests.sim.memstore import MemoryStore
from tests.sim.run import run_seed
from tests.sim.world import SimOptions

CI_SEEDS = range(12)

# Switched off until the fix of what they find lands on main (issue 9); each name says
# which promise main still breaks. Empty these as the fixes land.
UNFIXED_ON_MAIN_FAULTS = ("unexpected",)  # defect 12: the scheduler loop dies on a bug
UNFIXED_ON_MAIN_CHECKS = frozenset(
    {
        "refusal_memory",  # defect 6: a refused bidId is forgotten
        "soft_close_extension",  # defect 7: a leader's silent max raise extends
    }
)


def ci_options(seed: int, *, durable: bool) -> SimOptions:
    return SimOptions(
        seed,
        durable=durable,
        faults=FaultConfig().without(UNFIXED_ON_MAIN_FAULTS),
        skip_checks=UNFIXED_ON_MAIN_CHECKS,
    )


@pytest.mark.parametrize("durable", [True, False], ids=["durable", "memory"])
def test_every_promise_holds_under_faults(durable: bool) -> None:
    for seed in CI_SEEDS:
        result = run_seed(ci_options(seed, durable=durable))
        assert result.ok, result.report()


def test_a_seed_replays_exactly() -> None:
    first = run_seed(ci_options(7, durable=True))
    again = run_seed(ci_options(7, durable=True))
    assert first.trace == again.trace
    assert first.virtual_s == again.virtual_s


def test_a_lost_write_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store that says it committed auction 1's events but kept none: the sim must tell."""
    real = MemoryStore.write_items

    def forgetful(
        self: MemoryStore, items: list[AppendItem], skip: set[int] | None = None
    ) -> set[int]:
        kept = [item for item in items if item.auction_id != 1]
        return real(self, kept, skip) - {1}

    monkeypatch.setattr(MemoryStore, "write_items", forgetful)
    result = run_seed(SimOptions(3, durable=True, faults=FaultConfig.none()))
    assert not result.ok
    assert "stored seq is 0" in result.violations[0]
    assert "python -m tests.sim --seed 3 --mode durable" in result.report()
