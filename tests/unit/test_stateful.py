"""The rules core against an independent reference model of CONTRACT §2, step by step.

`RefAuction` below is written from the contract text alone: its own increment table and its
own leader, price, reserve, soft-close, buy-now, cancel and close logic, plainly and without
importing any helper of `bidserver.auction`. A Hypothesis state machine sends the same random
commands (plain bids, max bids, buy-now, cancel, close ticks, retried bidIds, malformed money)
at random times to both and compares every answer: accepted or refused and with which code,
the public events, the private notices, the bidder's reply and the observable state. The
contract's invariants are checked after every step, including a full `replay` of the log.

A failure prints the falsifying steps, the notes of each command sent and a reproduce blob;
Hypothesis' example database (`.hypothesis/`) replays it first on the next run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Final

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bidserver.auction import (
    AuctionConfig,
    BidKind,
    BidPlaced,
    BuyNow,
    CancelAuction,
    Cancelled,
    Cause,
    Closed,
    CloseIfDue,
    Command,
    Event,
    Extended,
    MaxRaised,
    Notice,
    Outbid,
    Outcome,
    PlaceBid,
    PlaceMaxBid,
    PublicEvent,
    Won,
    handle,
    increment,
    minimum_next_bid,
    new_state,
    parse_money,
    replay,
    snapshot,
)
from bidserver.auction.state import AuctionState
from bidserver.errors import BadRequest, BidserverError, Rejection

MONEY_CAP: Final = 10**12
T0: Final = 1_764_000_000_000  # an arbitrary "creation" instant, epoch ms
SELLER: Final = 1
AUCTION_ID: Final = 7

Shape = tuple[object, ...]

# --------------------------------------------------------------------------------------------
# The reference model: CONTRACT §2, read literally.
# --------------------------------------------------------------------------------------------


def ref_step(price: int) -> int:
    """Default increment table, 'price below → step'; at or above 50,000 the step is 1,000."""
    if price < 1_000:
        return 25
    if price < 5_000:
        return 50
    if price < 10_000:
        return 100
    if price < 25_000:
        return 250
    if price < 50_000:
        return 500
    return 1_000


@dataclass(frozen=True)
class RefReply:
    amount: int
    leading: bool
    current_price: int
    bid_count: int
    seq: int
    ends_at: int


@dataclass
class RefResult:
    """What the model expects of one command: a refusal code, or events, notices, a reply."""

    error: str | None = None
    events: list[Shape] = field(default_factory=list)
    notices: list[Shape] = field(default_factory=list)
    reply: RefReply | None = None
    repeated: bool = False


@dataclass
class RefAuction:
    seller: int
    starts_at: int
    ends_at: int
    starting_price: int
    reserve: int | None
    buy_now_price: int | None
    anti_snipe_ms: int
    max_extensions: int | None
    finished: str | None = None  # "closed" or "cancelled" once announced
    price: int | None = None
    leader: int | None = None
    leader_max: int = 0
    bid_count: int = 0
    seq: int = 0
    extensions: int = 0
    answers: dict[tuple[int, str], RefReply] = field(default_factory=dict)

    @classmethod
    def from_terms(cls, config: AuctionConfig) -> RefAuction:
        return cls(
            seller=config.seller_id,
            starts_at=config.starts_at,
            ends_at=config.ends_at,
            starting_price=config.starting_price,
            reserve=config.reserve_price,
            buy_now_price=config.buy_now_price,
            anti_snipe_ms=config.anti_snipe_ms,
            max_extensions=config.max_extensions,
        )

    # --- what anyone can see ---

    def status(self, now: int) -> str:
        if self.finished is not None:
            return self.finished
        if now < self.starts_at:
            return "scheduled"
        if now >= self.ends_at:
            return "closed"  # at endsAt by the server clock the auction closes
        return "open"

    def reserve_met(self) -> bool:
        if self.reserve is None:
            return True
        return self.price is not None and self.price >= self.reserve

    def minimum_next_bid(self) -> int:
        if self.price is None:
            return self.starting_price
        return self.price + ref_step(self.price)

    def buy_now_offered(self) -> bool:
        if self.buy_now_price is None:
            return False
        if self.reserve is None:
            return self.bid_count == 0
        return not self.reserve_met()

    # --- commands ---

    def refusal(self, bidder: int, now: int, kind: str, value: int) -> str | None:
        """The first rule that refuses, in the contract's 'Which error' order."""
        status = self.status(now)
        if status in ("scheduled", "cancelled"):
            return "auction_not_open"
        if status == "closed":
            return "auction_closed"
        if bidder == self.seller:
            return "seller_cannot_bid"
        leading = bidder == self.leader
        if kind == "bid" and leading:
            return "already_leading"
        if kind == "max" and leading and value <= self.leader_max:
            return "max_below_current"
        if kind == "buy_now":
            return None if self.buy_now_offered() else "buy_now_unavailable"
        if not leading and value < self.minimum_next_bid():
            return "bid_too_low"
        return None

    def bid(self, bidder: int, value: int, kind: str, bid_id: str | None, now: int) -> RefResult:
        if type(value) is not int or not 1 <= value <= MONEY_CAP:
            return RefResult(error="bad_request")
        if bid_id is not None and (bidder, bid_id) in self.answers:
            return RefResult(reply=self.answers[(bidder, bid_id)], repeated=True)
        refused = self.refusal(bidder, now, kind, value)
        if refused is not None:
            return RefResult(error=refused)
        result = RefResult()
        if bidder == self.leader:
            self._leader_raises(bidder, value, now, result)
        else:
            self._challenge(bidder, value, kind, now, result)
        self._soft_close(now, result)
        assert self.price is not None
        result.reply = RefReply(
            value, self.leader == bidder, self.price, self.bid_count, self.seq, self.ends_at
        )
        if bid_id is not None:
            self.answers[(bidder, bid_id)] = result.reply
        return result

    def buy_now(self, bidder: int, now: int) -> RefResult:
        refused = self.refusal(bidder, now, "buy_now", 0)
        if refused is not None:
            return RefResult(error=refused)
        assert self.buy_now_price is not None
        price, previous = self.buy_now_price, self.leader
        result = RefResult()
        self._record(result, now, "buy_now", bidder, price)
        self.leader, self.leader_max = bidder, price
        if previous is not None and previous != bidder:
            result.notices.append(("outbid", previous, price, price + ref_step(price)))
        self._close(result, now, winner=bidder)
        result.reply = RefReply(price, True, price, self.bid_count, self.seq, self.ends_at)
        return result

    def cancel(self, now: int) -> RefResult:
        status = self.status(now)
        if status == "cancelled":
            return RefResult(error="auction_not_open")
        if status == "closed":
            return RefResult(error="auction_closed")
        self.seq += 1
        self.finished = "cancelled"
        return RefResult(events=[("cancelled", self.seq, now)])

    def close_if_due(self, now: int) -> RefResult:
        result = RefResult()
        if self.finished is None and now >= self.ends_at:
            self._close(result, now, winner=self.leader if self.reserve_met() else None)
        return result

    # --- the rules behind them ---

    def _challenge(self, bidder: int, value: int, kind: str, now: int, result: RefResult) -> None:
        if self.leader is None:
            # A first plain bid sets its amount; a first max bid leads at the starting price.
            price = value if kind == "bid" else self._lift_to_reserve(self.starting_price, value)
            self._record(result, now, kind, bidder, price)
            self.leader, self.leader_max = bidder, value
            return
        held, holder = self.leader_max, self.leader
        if value > held:
            if kind == "bid":
                price = value
            else:
                price = self._lift_to_reserve(min(value, held + ref_step(held)), value)
            self._record(result, now, kind, bidder, price)
            self.leader, self.leader_max = bidder, value
            result.notices.append(("outbid", holder, price, price + ref_step(price)))
        else:
            # The leader keeps the lead (earlier max wins a tie): the challenger's record at V,
            # then the leader's automatic bid at min(M, V + increment(V)).
            self._record(result, now, kind, bidder, value)
            price = min(held, value + ref_step(value))
            self._record(result, now, "proxy", holder, price)
            result.notices.append(("outbid", bidder, price, price + ref_step(price)))

    def _leader_raises(self, bidder: int, value: int, now: int, result: RefResult) -> None:
        """A leader's raise moves the price only for the reserve rule (then it is a record)."""
        if self.reserve is not None and not self.reserve_met() and value >= self.reserve:
            self._record(result, now, "max", bidder, self.reserve)
        self.leader_max = value

    def _lift_to_reserve(self, price: int, max_value: int) -> int:
        """A max at or above the reserve raises the price straight to it while it is unmet."""
        if self.reserve is None or self.reserve_met() or max_value < self.reserve:
            return price
        return max(price, self.reserve)

    def _soft_close(self, now: int, result: RefResult) -> None:
        if self.ends_at - now >= self.anti_snipe_ms:
            return
        if self.max_extensions is not None and self.extensions >= self.max_extensions:
            return
        self.ends_at = now + self.anti_snipe_ms
        self.extensions += 1
        self.seq += 1
        result.events.append(("extended", self.seq, now, self.ends_at))

    def _record(self, result: RefResult, now: int, kind: str, bidder: int, amount: int) -> None:
        self.seq += 1
        self.bid_count += 1
        self.price = amount
        result.events.append(("bid", self.seq, now, kind, bidder, amount))

    def _close(self, result: RefResult, now: int, winner: int | None) -> None:
        self.seq += 1
        self.finished = "closed"
        result.events.append(("closed", self.seq, now, winner, self.price, self.reserve_met()))
        if winner is not None and self.price is not None:
            result.notices.append(("won", winner, self.price))


# --------------------------------------------------------------------------------------------
# Translating the core's objects into the model's plain shapes.
# --------------------------------------------------------------------------------------------


def event_shape(event: Event) -> Shape:
    if isinstance(event, BidPlaced):
        return ("bid", event.seq, event.at, str(event.kind), event.bidder_id, event.amount)
    if isinstance(event, Extended):
        return ("extended", event.seq, event.at, event.ends_at)
    if isinstance(event, Closed):
        shape: Shape = (event.winner_id, event.final_price, event.reserve_met)
        return ("closed", event.seq, event.at, *shape)
    if isinstance(event, Cancelled):
        return ("cancelled", event.seq, event.at)
    return ("max_raised", event.at, event.bidder_id, event.max_amount)


def notice_shape(notice: Notice) -> Shape:
    if isinstance(notice, Outbid):
        return ("outbid", notice.user_id, notice.current_price, notice.minimum_next_bid)
    return ("won", notice.user_id, notice.final_price)


def money_fields(event: Event) -> list[int | None]:
    if isinstance(event, BidPlaced):
        return [event.amount, event.leader_max, event.cause.sent]
    if isinstance(event, MaxRaised):
        return [event.max_amount, event.cause.sent]
    if isinstance(event, Closed):
        return [event.final_price]
    return []


def assert_int_money(*values: int | None) -> None:
    for value in values:
        assert value is None or type(value) is int, f"money {value!r} is {type(value).__name__}"


def public(events: list[Event] | tuple[Event, ...]) -> list[PublicEvent]:
    """The numbered events; `MaxRaised` is private and has no seq."""
    return [e for e in events if isinstance(e, BidPlaced | Extended | Closed | Cancelled)]


def run(state: AuctionState, command: Command, now: int) -> Outcome | BidserverError:
    try:
        return handle(state, command, now)
    except BidserverError as exc:
        return exc


# --------------------------------------------------------------------------------------------
# The state machine.
# --------------------------------------------------------------------------------------------

BIDDERS: Final = (2, 3, 4, 5, SELLER)
CHALLENGERS: Final = (2, 3, 4, 5)
EARLY_COMMANDS: Final = 4
LATE_COMMANDS: Final = 6
BID_IDS: Final = st.none() | st.sampled_from(["k1", "k2", "k3", "k4", "k5", "k6"])
PRICE_POINTS: Final = (
    1,
    25,
    975,
    999,
    1_000,
    4_950,
    5_000,
    9_900,
    10_000,
    24_750,
    25_000,
    49_500,
    50_000,
    99_000,
)
PICKS: Final = (
    "floor",
    "floor+1",
    "floor-1",
    "floor+step",
    "max-1",
    "max",
    "max+1",
    "max+step-1",
    "max+step",
    "reserve-1",
    "reserve",
    "reserve+1",
    "buy_now",
    "any",
    "bad:0",
    "bad:cap+1",
    "bad:True",
)
CLOCK_MARKS: Final = ("starts-1", "starts", "window-1", "window", "window+1", "ends-1")
STATEFUL_SETTINGS: Final = settings(
    max_examples=500,
    stateful_step_count=50,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def auction_terms(draw: st.DrawFn) -> AuctionConfig:
    starting = draw(st.sampled_from(PRICE_POINTS) | st.integers(1, 120_000))
    reserve = draw(
        st.none()
        | st.just(starting)
        | st.integers(max(1, starting - 50), 2 * starting + 1_000)
        | st.integers(2 * starting, 5 * starting + 20_000)
    )
    # Buy-now at or above the reserve and the starting price, as a sane seller sets it.
    lowest_buy_now = max(starting, reserve or 0)
    buy_now = draw(st.none() | st.integers(lowest_buy_now, 2 * lowest_buy_now + 5_000))
    starts_at = T0 + draw(st.integers(-600_000, 0) | st.integers(1, 5_000))
    ends_at = max(starts_at, T0) + draw(st.integers(1, 900_000))
    return AuctionConfig(
        auction_id=AUCTION_ID,
        seller_id=SELLER,
        starts_at=starts_at,
        ends_at=ends_at,
        starting_price=starting,
        reserve_price=reserve,
        buy_now_price=buy_now,
        anti_snipe_ms=draw(st.sampled_from([0, 1_000, 5_000, 120_000])),
        max_extensions=draw(st.sampled_from([None, 0, 1, 3])),
    )


def lively(machine: AuctionMachine) -> bool:
    """Commands before the start and after the end are tried a few times per run, no more."""
    return machine.sent_early < EARLY_COMMANDS and machine.sent_late < LATE_COMMANDS


class AuctionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.config = AuctionConfig(AUCTION_ID, SELLER, T0, T0 + 1, 1)
        self.state = new_state(self.config)
        self.model = RefAuction.from_terms(self.config)
        self.now = T0
        self.log: list[Event] = []
        self.aliases: dict[int, str] = {}
        self.sent: list[PlaceBid | PlaceMaxBid] = []
        self.highest_price = 0
        self.cancels = 0
        self.sent_early = 0
        self.sent_late = 0
        self.commands = 0

    @initialize(config=auction_terms())
    def setup(self, config: AuctionConfig) -> None:
        self.config = config
        self.state = new_state(config)
        self.model = RefAuction.from_terms(config)

    # --- commands ---

    @precondition(lively)
    @rule(bidder=st.sampled_from(BIDDERS), pick=st.sampled_from(PICKS), raw=st.integers(1, 300_000))
    def plain_bid(self, bidder: int, pick: str, raw: int) -> None:
        self._send(PlaceBid(bidder, self._amount(pick, raw)))

    @precondition(lively)
    @rule(
        bidder=st.sampled_from(BIDDERS),
        pick=st.sampled_from(PICKS),
        raw=st.integers(1, 300_000),
        bid_id=BID_IDS,
    )
    def max_bid(self, bidder: int, pick: str, raw: int, bid_id: str | None) -> None:
        self._send(PlaceMaxBid(bidder, self._amount(pick, raw), bid_id))

    @precondition(lively)
    @rule(
        is_max=st.booleans(),
        who=st.integers(0, 2),
        pick=st.sampled_from(PICKS),
        raw=st.integers(1, 300_000),
        bid_id=BID_IDS,
    )
    def challenge(self, is_max: bool, who: int, pick: str, raw: int, bid_id: str | None) -> None:
        """A bid or max from someone other than the seller and the leader."""
        bidder = [b for b in CHALLENGERS if b != self.model.leader][who]
        amount = self._amount(pick, raw)
        command = (
            PlaceMaxBid(bidder, amount, bid_id) if is_max else PlaceBid(bidder, amount, bid_id)
        )
        self._send(command)

    @precondition(lambda self: lively(self) and self.model.leader is not None)
    @rule(pick=st.sampled_from(PICKS), raw=st.integers(1, 300_000), bid_id=BID_IDS)
    def leader_raises(self, pick: str, raw: int, bid_id: str | None) -> None:
        assert self.model.leader is not None
        self._send(PlaceMaxBid(self.model.leader, self._amount(pick, raw), bid_id))

    @precondition(lambda self: lively(self) and bool(self.sent))
    @rule(index=st.integers(0, 1_000))
    def retry(self, index: int) -> None:
        """The same bidder sends an earlier command with its bidId again, unchanged."""
        self._send(self.sent[index % len(self.sent)])

    @precondition(lively)
    @rule(bidder=st.sampled_from(BIDDERS))
    def buy_now(self, bidder: int) -> None:
        self._send(BuyNow(bidder))

    @precondition(lambda self: lively(self) and self.cancels < 2 and self.cancel_is_interesting())
    @rule()
    def cancel(self) -> None:
        self.cancels += 1
        self._send(CancelAuction())

    def cancel_is_interesting(self) -> bool:
        """A scheduled auction, one with bids, or a finished one; not a fresh open one."""
        if self.model.status(self.now) != "open":
            return True
        return self.model.bid_count > 0 and self.commands >= 6

    @precondition(lambda self: lively(self) and self.now >= self.model.ends_at - 1_000)
    @rule()
    def close_if_due(self) -> None:
        """The actor's timer; also sent a little early, and again after the end."""
        self._send(CloseIfDue())

    # --- the clock (never goes back) ---

    @rule(ms=st.integers(0, 3_000))
    def clock_ticks(self, ms: int) -> None:
        self.now += ms

    @precondition(lively)
    @rule(mark=st.sampled_from(CLOCK_MARKS))
    def clock_to_mark(self, mark: str) -> None:
        """Time moves up to a mark around startsAt or the anti-snipe window (never back)."""
        window = self.model.ends_at - self.model.anti_snipe_ms
        target = {
            "starts-1": self.config.starts_at - 1,
            "starts": self.config.starts_at,
            "window-1": window - 1,
            "window": window,
            "window+1": window + 1,
            "ends-1": self.model.ends_at - 1,
        }[mark]
        self.now = max(self.now, target)

    @precondition(lambda self: lively(self) and self.may_end())
    @rule(mark=st.sampled_from(["ends", "ends+1", "far"]), ms=st.integers(3_000, 1_200_000))
    def clock_to_end(self, mark: str, ms: int) -> None:
        """Time reaches endsAt exactly, just after it, or jumps far ahead."""
        target = {"ends": self.model.ends_at, "ends+1": self.model.ends_at + 1}.get(mark)
        self.now = max(self.now, self.now + ms if target is None else target)

    def may_end(self) -> bool:
        """Let time end the auction only once something happened, so runs are not all empty."""
        return self.model.bid_count >= 1 or self.commands >= 6

    # --- sending one command to both and comparing ---

    def _amount(self, pick: str, raw: int) -> int:
        model = self.model
        floor = model.minimum_next_bid()
        held = model.leader_max if model.leader is not None else floor
        reserve = floor if model.reserve is None else model.reserve
        table = {
            "floor": floor,
            "floor+1": floor + 1,
            "floor-1": floor - 1,
            "floor+step": floor + ref_step(floor),
            "max-1": held - 1,
            "max": held,
            "max+1": held + 1,
            "max+step-1": held + ref_step(held) - 1,
            "max+step": held + ref_step(held),
            "reserve-1": reserve - 1,
            "reserve": reserve,
            "reserve+1": reserve + 1,
            "buy_now": model.buy_now_price or floor,
            "any": raw,
            # malformed money, refused as bad_request before any rule
            "bad:0": 0,
            "bad:cap+1": MONEY_CAP + 1,
            "bad:True": True,
        }
        return table[pick] if pick.startswith("bad:") else max(1, table[pick])

    def _expect(self, command: Command, now: int) -> RefResult:
        if isinstance(command, PlaceBid):
            return self.model.bid(command.bidder_id, command.amount, "bid", command.bid_id, now)
        if isinstance(command, PlaceMaxBid):
            value = command.max_amount
            return self.model.bid(command.bidder_id, value, "max", command.bid_id, now)
        if isinstance(command, BuyNow):
            return self.model.buy_now(command.bidder_id, now)
        if isinstance(command, CancelAuction):
            return self.model.cancel(now)
        return self.model.close_if_due(now)

    def _send(self, command: Command) -> None:
        now = self.now
        self.commands += 1
        status = self.model.status(now)
        self.sent_early += status == "scheduled"
        self.sent_late += status in ("closed", "cancelled")
        note(f"t0{now - T0:+} ends0{self.model.ends_at - T0:+} send {command}")
        before = copy.deepcopy(self.state)
        finished_before = any(isinstance(e, Closed | Cancelled) for e in self.log)
        extensions_before = sum(1 for e in self.log if isinstance(e, Extended))
        expected = self._expect(command, now)
        outcome = run(self.state, command, now)
        if isinstance(outcome, BidserverError):
            self._check_refusal(command, outcome, expected, before)
            return
        note(f"  -> {outcome}")
        assert expected.error is None, (
            f"core accepted {command} ({[event_shape(e) for e in outcome.events]}); "
            f"model refuses it with {expected.error!r}"
        )
        got = [event_shape(e) for e in public(outcome.events)]
        assert got == expected.events, f"events of {command}: core {got}, model {expected.events}"
        notices = sorted(notice_shape(n) for n in outcome.notices)
        assert notices == sorted(expected.notices), f"notices of {command}: core {notices}"
        self._check_reply(command, outcome, expected)
        ended = finished_before or (status == "closed" and not isinstance(command, CloseIfDue))
        if expected.repeated or ended:
            assert outcome.events == (), f"{command} after the end or as a retry made events"
            assert self.state == before, f"{command} after the end or as a retry changed state"
        self._check_extension(command, outcome, before, extensions_before)
        self._check_close(command, outcome, before)
        self._check_money(outcome)
        self.log.extend(outcome.events)
        if isinstance(command, PlaceBid | PlaceMaxBid) and command.bid_id is not None:
            self.sent.append(command)

    def _check_refusal(
        self, command: Command, exc: BidserverError, expected: RefResult, before: AuctionState
    ) -> None:
        assert exc.code == expected.error, (
            f"core refused {command} with {exc.code!r}; "
            f"model says {expected.error or 'accepted'}: {expected}"
        )
        assert isinstance(exc, BadRequest if exc.code == "bad_request" else Rejection)
        if exc.code == "bid_too_low":
            floor = self.model.minimum_next_bid()
            assert exc.details.get("minimumNextBid") == floor, f"{exc.details} != {floor}"
        assert self.state == before, f"the refused {command} changed the state"

    def _check_reply(self, command: Command, outcome: Outcome, expected: RefResult) -> None:
        reply = outcome.reply
        if isinstance(command, CancelAuction | CloseIfDue):
            assert reply is None
            return
        assert reply is not None
        assert expected.reply is not None
        got = RefReply(
            reply.amount,
            reply.leading,
            reply.current_price,
            reply.bid_count,
            reply.seq,
            reply.ends_at,
        )
        assert got == expected.reply, f"reply to {command}: core {got}, model {expected.reply}"
        known = self.aliases.get(command.bidder_id)
        if known is None:
            assert reply.bidder_alias not in self.aliases.values(), "alias given twice"
            self.aliases[command.bidder_id] = reply.bidder_alias
        else:
            assert reply.bidder_alias == known, "a bidder's alias changed"

    def _check_extension(
        self, command: Command, outcome: Outcome, before: AuctionState, extensions_before: int
    ) -> None:
        """Soft close, stated directly: one extension per accepted bid inside the window."""
        events = public(outcome.events)
        extended = [e for e in events if isinstance(e, Extended)]
        is_new_bid = isinstance(command, PlaceBid | PlaceMaxBid) and bool(outcome.events)
        limit = self.config.max_extensions
        in_window = before.ends_at - self.now < self.config.anti_snipe_ms
        allowed = limit is None or extensions_before < limit
        if is_new_bid and in_window and allowed:
            assert len(extended) == 1, f"{command} in the window did not extend once"
            assert events[-1] is extended[0], "the extension must follow the records"
            assert extended[0].ends_at == self.now + self.config.anti_snipe_ms
            assert self.state.ends_at == extended[0].ends_at
        else:
            assert not extended, f"{command} extended outside the rule"
            assert self.state.ends_at == before.ends_at

    def _check_close(self, command: Command, outcome: Outcome, before: AuctionState) -> None:
        reserve = self.config.reserve_price
        for event in outcome.events:
            if not isinstance(event, Closed):
                continue
            if isinstance(command, BuyNow):
                assert event.winner_id == command.bidder_id
                continue
            price = before.current_price
            met = reserve is None or (price is not None and price >= reserve)
            assert event.reserve_met == met
            assert event.winner_id == (before.leader_id if met else None)
            assert event.final_price == price

    def _check_money(self, outcome: Outcome) -> None:
        for event in outcome.events:
            assert_int_money(*money_fields(event))
        for notice in outcome.notices:
            if isinstance(notice, Outbid):
                assert_int_money(notice.current_price, notice.minimum_next_bid)
            else:
                assert isinstance(notice, Won)
                assert_int_money(notice.final_price)
        if outcome.reply is not None:
            assert_int_money(outcome.reply.amount, outcome.reply.current_price)

    # --- after every step ---

    @invariant()
    def observable_state_matches_the_model(self) -> None:
        model, snap = self.model, snapshot(self.state, self.now)
        leader_alias = None if model.leader is None else self.aliases[model.leader]
        expected = (
            model.status(self.now),
            model.price,
            model.bid_count,
            leader_alias,
            model.minimum_next_bid(),
            model.reserve_met(),
            model.status(self.now) == "open" and model.buy_now_offered(),
            model.ends_at,
            model.seq,
        )
        got = (
            str(snap.status),
            snap.current_price,
            snap.bid_count,
            snap.leader_alias,
            snap.minimum_next_bid,
            snap.reserve_met,
            snap.buy_now_available,
            snap.ends_at,
            snap.seq,
        )
        assert got == expected, f"snapshot at t0{self.now - T0:+}: core {got}, model {expected}"
        assert self.state.leader_id == model.leader
        if model.leader is not None:
            assert self.state.leader_max == model.leader_max
        assert_int_money(snap.current_price, snap.minimum_next_bid, self.state.leader_max)

    @invariant()
    def contract_invariants_hold(self) -> None:
        state = self.state
        price = state.current_price
        amounts = [e.amount for e in self.log if isinstance(e, BidPlaced)]
        assert amounts == sorted(amounts), f"the price fell: {amounts}"
        if price is not None:
            assert price >= self.highest_price, "the price fell"
            self.highest_price = price
        assert (state.leader_id is not None) == bool(amounts), "a leader iff a bid was accepted"
        assert (price is not None) == bool(amounts)
        if state.leader_id is not None:
            assert price is not None
            assert price <= state.leader_max, "the price is above the leader's max"
            reserve = self.config.reserve_price
            if reserve is not None and state.leader_max >= reserve:
                assert price >= reserve, "the leader's max meets the reserve but the price not"
        seqs = [e.seq for e in public(self.log)]
        assert seqs == list(range(1, len(seqs) + 1)), f"seq not dense: {seqs}"
        assert state.seq == len(seqs)
        assert replay(self.config, self.log) == state, "replaying the log differs"


# 25,000 steps take ~40 s on a quiet core; the default 120 s bound is too tight on a shared one.
@pytest.mark.timeout(600)
def test_core_agrees_with_the_reference_model() -> None:
    run_state_machine_as_test(
        AuctionMachine,
        settings=STATEFUL_SETTINGS,
    )


# --------------------------------------------------------------------------------------------
# Plain properties of money and increments.
# --------------------------------------------------------------------------------------------

BAND_EDGES: Final = [b + d for b in (1_000, 5_000, 10_000, 25_000, 50_000) for d in (-1, 0, 1)]
PRICES: Final = st.integers(1, MONEY_CAP) | st.sampled_from(BAND_EDGES)


@given(PRICES)
def test_increment_is_the_contract_table(price: int) -> None:
    assert increment(price) == ref_step(price)
    assert type(increment(price)) is int


@given(PRICES, PRICES)
def test_increment_and_next_bid_grow_with_the_price(a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    assert increment(low) <= increment(high)
    if low < high:
        assert low + increment(low) < high + increment(high)


@given(price=PRICES, starting=PRICES)
def test_minimum_next_bid_is_starting_price_then_strictly_above_the_price(
    price: int, starting: int
) -> None:
    config = AuctionConfig(AUCTION_ID, SELLER, T0, T0 + 60_000, starting)
    assert minimum_next_bid(new_state(config)) == starting
    record = BidPlaced(1, T0, BidKind.BID, 2, price, 2, price, Cause(2, None, price))
    after = minimum_next_bid(replay(config, [record]))
    assert type(after) is int
    assert after > price
    assert after == price + ref_step(price)


@given(st.integers() | st.booleans() | st.floats() | st.text(max_size=5) | st.none())
def test_parse_money_takes_only_whole_units_up_to_10_to_the_12(value: object) -> None:
    if type(value) is int and 1 <= value <= MONEY_CAP:
        parsed = parse_money(value, "amount")
        assert parsed == value
        assert type(parsed) is int
    else:
        with pytest.raises(BadRequest):
            parse_money(value, "amount")
