"""The running pieces put together: inbox, dispatcher, engine, timers and outbox.

An accepted event is stored first, then handed to the dispatcher under its conversation key.
On start, and every sweep interval, events and timers left in the store (by a crash, or by a
failed attempt) are handed over again, so nothing accepted is ever lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from core.config import OutboxSettings
from core.dispatch import Dispatcher
from core.engine import Engine, TurnReport
from core.errors import StoreUnavailable
from core.models import Inbound, StoredInbound, Timer
from core.outbox import OutboxWorker
from core.ports import Channel, Clock, Store
from core.schedules import Schedule
from core.waiting import wake_or_deadline
from core.workflow import Workflow

log = logging.getLogger("frontdesk.runtime")

SWEEP_INTERVAL = timedelta(seconds=30)
TIMER_BATCH = 200
RESTART_DELAY = 1.0


class Runtime:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        workflows: list[Workflow],
        channels: Mapping[str, Channel],
        outbox: OutboxSettings,
        concurrency: int = 64,
        on_turn: Callable[[TurnReport], None] | None = None,
        schedules: Mapping[str, Schedule] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.engine = Engine(
            store, clock, workflows, on_commit=self._committed, schedules=schedules
        )
        self.outbox = OutboxWorker(store, channels, clock, outbox)
        self._dispatcher: Dispatcher[StoredInbound | Timer] = Dispatcher(self._handle, concurrency)
        self._inbound_in_flight: set[int] = set()
        self._timers_in_flight: set[str] = set()
        self._timer_wake = asyncio.Event()
        self._sweep_wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_turn = on_turn

    # the Inbox port ---------------------------------------------------------------------

    async def accept(self, event: Inbound) -> bool:
        received_at = self.clock.now()
        try:
            inbound_id = await self.store.record_inbound(event, received_at)
        except StoreUnavailable:
            raise
        except Exception as exc:
            log.exception("inbox write failed: key=%s", event.contact_key)
            raise StoreUnavailable("the inbox could not store the event") from exc
        if inbound_id is None:
            return False
        self._submit(StoredInbound(id=inbound_id, received_at=received_at, event=event))
        return True

    # lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        await self.engine.prepare()
        self._spawn("outbox", self.outbox.run)
        self._spawn("timers", self._timers)
        self._spawn("sweep", self._sweep)

    async def stop(self, grace: float = 10.0) -> None:
        """Finish the turns and deliveries under way (for at most `grace` seconds each), then
        stop; whatever is cut short stays in the store and is picked up at the next start."""
        try:
            await asyncio.wait_for(self._dispatcher.join(), grace)
        except TimeoutError:
            log.warning("stopping with %d conversations still busy", self._dispatcher.busy)
        await self.outbox.stop(grace)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._dispatcher.close()

    async def idle(self) -> None:
        """Wait until every event handed over so far has been processed (tests, `chat`)."""
        await self._dispatcher.join()

    async def fire_due_timers(self) -> int:
        """Hand over every due timer and wait for them (`frontdesk chat`, tests)."""
        due = await self.store.due_timers(self.clock.now(), TIMER_BATCH)
        for timer in due:
            self._submit(timer)
        await self.idle()
        return len(due)

    def _spawn(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        async def supervised() -> None:
            while True:
                try:
                    await loop()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s loop failed; restarting", name)
                    await asyncio.sleep(RESTART_DELAY)

        task = asyncio.create_task(supervised(), name=f"frontdesk:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # work -------------------------------------------------------------------------------

    def _submit(self, job: StoredInbound | Timer) -> None:
        if isinstance(job, StoredInbound):
            if job.id in self._inbound_in_flight:
                return
            self._inbound_in_flight.add(job.id)
            self._dispatcher.submit(job.event.contact_key, job)
        else:
            if job.id in self._timers_in_flight:
                return
            self._timers_in_flight.add(job.id)
            self._dispatcher.submit(job.key, job)

    async def _handle(self, job: StoredInbound | Timer) -> None:
        try:
            if isinstance(job, StoredInbound):
                report = await self.engine.process_inbound(job)
            else:
                report = await self.engine.process_timer(job)
        finally:
            if isinstance(job, StoredInbound):
                self._inbound_in_flight.discard(job.id)
            else:
                self._timers_in_flight.discard(job.id)
                self._timer_wake.set()
        if report is not None and self._on_turn is not None:
            self._on_turn(report)

    def _committed(self, report: TurnReport, timers: list[Timer]) -> None:
        if report.sent:
            self.outbox.wake()
        if timers:
            self._timer_wake.set()

    async def recover(self) -> int:
        """Hand over every stored event not yet processed; returns how many."""
        count, after = 0, 0
        while True:
            batch = await self.store.pending_inbound(500, after_id=after)
            for item in batch:
                self._submit(item)
            count += len(batch)
            if len(batch) < 500:
                return count
            after = batch[-1].id

    async def _sweep(self) -> None:
        recovered = await self.recover()
        if recovered:
            log.info("recovered %d stored events", recovered)
        while True:
            self._sweep_wake.clear()
            await wake_or_deadline(self._sweep_wake, self.clock, self.clock.now() + SWEEP_INTERVAL)
            await self.recover()

    async def _timers(self) -> None:
        while True:
            self._timer_wake.clear()
            now = self.clock.now()
            due = await self.store.due_timers(now, TIMER_BATCH)
            fresh = [t for t in due if t.id not in self._timers_in_flight]
            for timer in fresh:
                self._submit(timer)
            if len(due) == TIMER_BATCH and fresh:
                continue
            upcoming = await self.store.next_timer_due()
            # Due timers still in flight wake this loop when they finish.
            deadline = upcoming if upcoming is not None and upcoming > now else None
            if deadline is None and not due:
                deadline = now + SWEEP_INTERVAL
            await wake_or_deadline(self._timer_wake, self.clock, deadline)
