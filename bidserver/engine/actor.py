"""One live auction: a task with an inbox, the only writer of that auction's state.

The actor asks the pure core to decide, applies the events at once (so the next bid is
decided without waiting for the database) and, before it next yields, hands everything the
turn decided to the persister as one unit. What a command produces for the outside world
(the bidder's answer, public events, private notices, a subscription's snapshot) waits in
`_releases`, in command order, until the writes before it commit: in durable mode nothing
is acknowledged or broadcast that is not stored. If a write fails, everything still waiting
gets `unavailable` and the actor rebuilds its state from the database before it takes
another command. In a cluster, a write refused by the epoch fence (another node took the
auction over) or a reload that finds a newer epoch ends the actor at once: it decides,
acknowledges and broadcasts nothing more, and its registry forgets it. (A single node has
no other owner: there the actor reloads and adopts the epoch, as after any failed write.)
A failed write also wakes the actor at once to recover (it reloads, re-arms its close timer
and shows watchers what a write reported failed did store), in both ack modes:
memory-acked events are not lost silently behind a state nobody corrects.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from functools import partial

from bidserver import metrics
from bidserver.auction import (
    BidCommand,
    CancelAuction,
    CloseIfDue,
    Command,
    Event,
    Notice,
    decide,
    replay,
    reply_for,
    snapshot,
)
from bidserver.engine.fanout import Subscriber
from bidserver.engine.mailbox import (
    RECOVER,
    STOP,
    AdminRequest,
    BidRequest,
    Message,
    Release,
    Reply,
    ReplyFn,
    SnapshotFn,
    SubscribeFn,
    SubscribeRequest,
    Turn,
    fail_subscription,
    refuse,
)
from bidserver.engine.persister import OwnershipLost, Persister, WriteUnit
from bidserver.engine.recording import projection, record_events
from bidserver.engine.watchers import MAX_REPLAY as MAX_REPLAY
from bidserver.engine.watchers import RECENT_EVENTS as RECENT_EVENTS
from bidserver.engine.watchers import Watchers
from bidserver.errors import BidserverError, Unavailable
from bidserver.ports import AppendItem, AuctionStore, LoadedAuction
from bidserver.timefmt import now_ms
from bidserver.wire import notice_message
from bidserver.wire.frames import Frames

log = logging.getLogger("bidserver.actor")

MAX_INBOX = 5_000  # bids waiting for one auction beyond this are refused as `unavailable`
RELOAD_BACKOFF_S = 0.25
RECOVER_MAX_S = 2.0  # while the database stays away, each actor retries its reload this often


class AuctionActor:
    def __init__(
        self,
        loaded: LoadedAuction,
        store: AuctionStore,
        persister: Persister,
        *,
        durable: bool = True,
        decides: Callable[[], bool] | None = None,
        on_fenced: Callable[[AuctionActor], None] | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._decides = decides  # None: a single node decides every auction, always
        self._on_fenced = on_fenced
        self._halted = False
        self._quiet: asyncio.Event | None = None
        self.auction_id = loaded.config.auction_id
        self.state = replay(loaded.config, loaded.events)
        self.epoch = loaded.owner_epoch
        self._store = store
        self._persister = persister
        self._durable = durable
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._releases: deque[Release] = deque()
        self._turn: Turn | None = None
        self._watchers = Watchers(self.auction_id, self.state.seq)
        self._needs_reload = False
        self._drain_due = False  # one drain per loop turn, however many writes landed
        self._reload_after = 0.0
        self._unstored: deque[WriteUnit] = deque()  # handed to the persister, not yet stored
        self._recover_posted = False
        self._recover_timer: asyncio.TimerHandle | None = None
        self._recover_backoff = RELOAD_BACKOFF_S
        self._timer: asyncio.TimerHandle | None = None
        self._timer_for: int | None = None  # the end the timer is armed for
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self.last_active = self._loop.time()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"auction-{self.auction_id}")
        self._schedule_close()

    async def stop(self) -> None:
        """Finish what is in the inbox, then end; releases still waiting end with the writes."""
        self._stopped = True
        self._inbox.put_nowait(STOP)
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._timer is not None:
            self._timer.cancel()
        if self._recover_timer is not None:
            self._recover_timer.cancel()

    def halt(self) -> None:
        """Decide nothing more, now: what is queued is refused (the lease may be gone)."""
        self._halted = True
        if not self._stopped:
            self._stopped = True
            self._inbox.put_nowait(STOP)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def settled(self) -> None:
        """Wait until every decided write has committed or failed (after `stop`); in memory
        mode too, where nothing waits in `_releases` for its write."""
        if not self._releases and not self._unstored:
            return
        quiet = self._quiet = asyncio.Event()
        await quiet.wait()

    def _check_quiet(self) -> None:
        if self._quiet is not None and not self._releases and not self._unstored:
            self._quiet.set()
            self._quiet = None

    def idle(self) -> bool:
        """Nothing would be lost by dropping the actor: in memory mode acked events may still
        be waiting for their write, and a failed write must first be recovered from."""
        return (
            not self._watchers
            and not self._releases
            and not self._unstored
            and not self._needs_reload
            and self._inbox.empty()
        )

    # --- what the gateway, REST and the registry call --------------------------------------

    def submit_bid(self, command: BidCommand, reply: ReplyFn) -> None:
        if self._inbox.qsize() >= MAX_INBOX or self._persister.backlogged:
            # Refuse at the door rather than queue into collapse: nothing was decided.
            reply(Unavailable("the server is busy; retry with the same bidId"))
            return
        self._post(BidRequest(command, reply, self._loop.time()))

    def subscribe(self, subscriber: Subscriber, since_seq: int | None, done: SubscribeFn) -> None:
        self._post(SubscribeRequest(subscriber, since_seq, done))

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._watchers.remove(subscriber)

    def cancel(self, done: SnapshotFn) -> None:
        self._post(AdminRequest(CancelAuction(), done))

    def current_snapshot(self, done: SnapshotFn) -> None:
        """A snapshot of committed state, answered in order with everything before it."""
        self._post(AdminRequest(CloseIfDue(), done))

    @property
    def subscriber_count(self) -> int:
        return len(self._watchers)

    # --- the loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            if self._inbox.empty():
                self._seal()  # about to yield: what this turn decided goes to the persister
            message = await self._inbox.get()
            if message is STOP:
                self._seal()
                self._refuse_rest()
                return
            if message is RECOVER:
                await self._recover()
                continue
            self.last_active = self._loop.time()
            if self._halted or (self._decides is not None and not self._decides()):
                refuse(message, Unavailable("this node no longer decides the auction; retry"))
                continue
            if self._needs_reload and not await self._reload():
                refuse(message, Unavailable("auction state is being recovered; retry"))
                continue
            try:
                self._dispatch(message)
            except Exception:
                log.exception("actor failed a message", extra={"auction": self.auction_id})
                refuse(message, Unavailable("internal failure; retry"))

    def _refuse_rest(self) -> None:
        """Anything that raced in behind the stop goes back: the caller retries elsewhere."""
        while not self._inbox.empty():
            refuse(self._inbox.get_nowait(), Unavailable("auction moved; retry"))

    async def _recover(self) -> None:
        """Reload after a failed write without waiting for a command; retry while it fails."""
        self._recover_posted = False
        if self._halted or not self._needs_reload or await self._reload():
            self._recover_backoff = RELOAD_BACKOFF_S
            return
        if self._recover_timer is None and not self._stopped:
            delay = max(self._reload_after - self._loop.time(), self._recover_backoff)
            self._recover_backoff = min(self._recover_backoff * 2, RECOVER_MAX_S)
            self._recover_timer = self._loop.call_later(delay, self._post_recover)

    def _post_recover(self) -> None:
        self._recover_timer = None
        if not self._recover_posted and not self._stopped:
            self._recover_posted = True
            self._inbox.put_nowait(RECOVER)

    def _post(self, message: Message) -> None:
        if self._stopped:
            refuse(message, Unavailable("auction moved; retry"))
        else:
            self._inbox.put_nowait(message)

    def _dispatch(self, message: Message) -> None:
        if isinstance(message, BidRequest):
            self._on_bid(message)
        elif isinstance(message, SubscribeRequest):
            self._on_subscribe(message)
        elif isinstance(message, AdminRequest):
            self._on_admin(message)

    def _on_bid(self, request: BidRequest) -> None:
        reply, release = self._apply(request.command)
        received = request.received
        code = reply.code if isinstance(reply, BidserverError) else "accepted"

        loop = self._loop

        def answer() -> None:
            metrics.BID_ACK_SECONDS.observe(loop.time() - received)
            metrics.count_bid(code)
            request.reply(reply)

        release.reply = answer
        release.on_fail = request.reply
        self._enqueue(release)

    def _apply(self, command: Command) -> tuple[Reply, Release]:
        """Decide and apply in place, building each public event's message as after it."""
        now = now_ms()
        try:
            decision = decide(self.state, command, now)
        except BidserverError as err:
            return err, Release()
        if decision.repeat is not None:
            return decision.repeat, Release()
        release = self._record(decision.events, decision.notices, now)
        assert decision.cause is not None  # every accepted bid command has one
        return reply_for(self.state, decision.cause), release

    def _record(self, events: tuple[Event, ...], notices: tuple[Notice, ...], now: int) -> Release:
        if not events:
            return Release()
        turn = self._turn
        if turn is None:
            turn = self._turn = Turn(self.state.version)
        frames, payloads = record_events(self.state, events)
        turn.events.extend(events)
        turn.payloads.extend(payloads)
        release = Release(frames=frames, notices=notices, pending=self._durable)
        if self._durable:  # memory acks release at once: nothing waits on the write
            turn.releases.append(release)
        self._schedule_close()
        return release

    def _seal(self) -> None:
        """One write for every command of the turn: a bid no longer costs its own item,
        projection and persister entry, and the batch commits them all the same."""
        turn, self._turn = self._turn, None
        if turn is None:
            return
        state = self.state
        item = AppendItem(self.auction_id, self.epoch, turn.from_version, turn.events,
                          turn.payloads, projection(state, now_ms()))  # fmt: skip
        if self._durable:
            unit = WriteUnit(item, partial(self._written, turn.releases))
            for release in turn.releases:
                release.unit = unit
        else:
            unit = WriteUnit(item, self._written_behind)
        self._unstored.append(unit)
        self._persister.submit(unit)

    def _on_subscribe(self, request: SubscribeRequest) -> None:
        snap = snapshot(self.state, now_ms())
        since, subscriber = request.since_seq, request.subscriber

        def attach() -> None:
            # Everything up to snap.seq is released (hence stored) by now.
            if request.done(self._watchers.catch_up(snap, since)):
                self._watchers.add(subscriber)

        self._enqueue(Release(reply=attach, on_fail=partial(fail_subscription, request.done)))

    def _on_admin(self, request: AdminRequest) -> None:
        now = now_ms()
        try:
            decision = decide(self.state, request.command, now)
        except BidserverError as err:
            if request.done is not None:
                self._enqueue(Release(reply=partial(request.done, err), on_fail=request.done))
            return
        release = self._record(decision.events, decision.notices, now)
        if request.done is not None:
            # The state as of this command, answered once everything up to it is stored:
            # never a later command's events that are still being written (or may fail).
            release.reply = partial(request.done, snapshot(self.state, now))
            release.on_fail = request.done
        elif not decision.events:
            self._schedule_close()  # woke early (clock skew): sleep again
        self._enqueue(release)

    # --- release in command order -----------------------------------------------------------

    def _enqueue(self, release: Release) -> None:
        if not release.pending and not self._releases:
            self._perform(release)
        else:
            self._releases.append(release)

    def _drain_now(self) -> None:
        self._drain_due = False
        self._drain()

    def _drain(self) -> None:
        releases = self._releases
        while releases and not releases[0].pending:
            self._perform(releases.popleft())
        if self._quiet is not None:
            self._check_quiet()

    def _perform(self, release: Release) -> None:
        if release.reply is not None:
            try:
                release.reply()
            except Exception:
                log.exception("reply callback failed", extra={"auction": self.auction_id})
        watchers = self._watchers
        for seq, frames in release.frames:
            watchers.publish(seq, frames)
        for notice in release.notices:
            watchers.broadcast(Frames(notice_message(self.auction_id, notice)), notice.user_id)

    def _written(self, releases: list[Release], error: BidserverError | None) -> None:
        if error is None:
            if self._unstored:
                self._unstored.popleft()  # one auction's units are written in order
            for release in releases:
                release.pending = False
                release.unit = None  # the unit's callback holds the release: no cycle for GC
            # Answer and fan out on the next loop turn: the persister first sends its next
            # batch, so the database commits while we write to the sockets.
            if not self._drain_due:
                self._drain_due = True
                self._loop.call_soon(self._drain_now)
            return
        log.warning(
            "write failed; recovering", extra={"auction": self.auction_id, "error": repr(error)}
        )
        failure = Unavailable("the bid's fate is not known to be stored; retry with its bidId")
        everything, self._releases = self._releases, deque()
        for waiting in everything:
            waiting.unit = None
            if waiting.on_fail is not None:
                waiting.on_fail(failure)
        self._fail_writes(error)
        self._check_quiet()

    def _fenced(self) -> None:
        """Another node holds a newer epoch: drop the auction, decide nothing more here."""
        log.warning("fenced out; auction dropped", extra={"auction": self.auction_id})
        metrics.ACTORS_FENCED.inc()
        self.halt()
        if self._on_fenced is not None:
            self._on_fenced(self)

    def _written_behind(self, error: BidserverError | None) -> None:
        if error is None:
            if self._unstored:
                self._unstored.popleft()
            if self._quiet is not None:
                self._check_quiet()
            return
        log.error(
            "memory-acked events could not be stored; reloading the stored state",
            extra={"auction": self.auction_id, "error": repr(error)},
        )
        self._fail_writes(error)
        self._check_quiet()

    def _fail_writes(self, error: BidserverError) -> None:
        """Every later unit builds on the failed one, so none can be stored: drop them all,
        and recover from the database at once (not on the next command: a close or an
        extension that failed must be retried by the timer, and watchers may be waiting)."""
        unstored, self._unstored = self._unstored, deque()
        for unit in unstored:
            unit.cancelled = True
        if isinstance(error, OwnershipLost) and self._on_fenced is not None:
            self._fenced()
            return
        self._needs_reload = True
        self._post_recover()

    async def _reload(self) -> bool:
        loop = asyncio.get_running_loop()
        if loop.time() < self._reload_after:
            return False
        try:
            loaded = await self._store.load(self.auction_id)
            if loaded is None:  # deleted under us: nothing sensible to serve
                return False
            state = replay(loaded.config, loaded.events)
            missed = await self._committed_unsent(state.seq)
        except BidserverError:
            self._reload_after = loop.time() + RELOAD_BACKOFF_S
            return False
        if loaded.owner_epoch != self.epoch and self._on_fenced is not None:
            self._fenced()  # taken over while our write's fate was unknown
            return False
        self.state = state
        self.epoch = loaded.owner_epoch
        self._needs_reload = False
        if state.seq < self._watchers.released_seq:
            lost = self._watchers.released_seq - state.seq
            log.error(
                "memory-acked events lost; watchers reset to the stored state",
                extra={"auction": self.auction_id, "lost": lost},
            )
            self._watchers.reset(snapshot(state, now_ms()))
        for payload in missed:
            seq = payload.get("seq")
            if isinstance(seq, int):
                self._watchers.publish(seq, Frames(payload))
        self._schedule_close()
        return True

    async def _committed_unsent(self, stored_seq: int) -> list[dict[str, object]]:
        """Stored public events never sent: a write reported failed may still have committed.

        When the connection dies during COMMIT the outcome is unknown and the write counts as
        failed, yet its events may be stored (and will be seen by the reload). Subscribers
        must still get every seq in order, so those events go out from their stored payloads.
        """
        released = self._watchers.released_seq
        if stored_seq <= released:
            return []
        return await self._store.public_events(self.auction_id, released, stored_seq)

    # --- the close timer --------------------------------------------------------------------

    def _schedule_close(self) -> None:
        """(Re)arm the close timer, only when the end moved: most bids leave it alone."""
        target = None if self.state.ended is not None else self.state.ends_at
        if self._timer is not None and target == self._timer_for:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_for = target
        if target is None:
            return
        delay = max(0.0, (target - now_ms()) / 1000)
        self._timer = self._loop.call_later(delay, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._timer_for = None
        self._post(AdminRequest(CloseIfDue(), None))
