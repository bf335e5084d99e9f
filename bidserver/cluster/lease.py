"""When a held lease stops being safe to act on: arithmetic on this node's monotonic clock.

Redis starts a lease's `PX` countdown when it *receives* the renewal, which is no earlier
than when this node *sent* it. So the lease lasts at least `lease_ms` after the send, as
Redis counts time. This node stops deciding earlier still: at `sent + lease_ms * (1 - drift)
- guard`, where `drift` bounds how much faster Redis' clock may run than ours over one lease
(1 %, far above the 50 ppm of real oscillators) and `guard` covers how late this node may
notice (a timer firing late, a turn of the loop in progress). The engine checks `valid` on
every command, so a node that was paused past its deadline decides nothing after waking.
This is a liveness measure: safety comes from the epoch fence in PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

DRIFT = 0.01
GUARD_FRACTION = 0.1  # of the lease, capped by MAX_GUARD_S
MAX_GUARD_S = 0.25


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    lease_ms: int

    @property
    def lease_s(self) -> float:
        return self.lease_ms / 1000

    @property
    def guard_s(self) -> float:
        return min(self.lease_s * GUARD_FRACTION, MAX_GUARD_S)

    @property
    def renew_every_s(self) -> float:
        """Renew four times per lease: three renewals in a row may fail before it matters."""
        return self.lease_s / 4

    @property
    def redis_timeout_s(self) -> float:
        """A renewal that takes longer than this is abandoned (and counted as failed)."""
        return self.lease_s / 4

    def deadline(self, sent_at: float) -> float:
        """The last monotonic instant at which a lease renewed by a call sent at `sent_at`
        may still be acted on."""
        return sent_at + self.lease_s * (1 - DRIFT) - self.guard_s

    def valid(self, sent_at: float, now: float) -> bool:
        return now < self.deadline(sent_at)
