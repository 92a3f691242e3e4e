"""The runtime's long-running loops: due timers, and the sweep that hands over what the store
still holds (events a crash or a failed try left, queues an agent may take). A loop that fails
is logged and started again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from core.agents import Agent
from core.hours import away_outside_hours
from core.models import Timer
from core.ports import Clock, Store
from core.reporting import Reporter
from core.schedules import Schedule
from core.tasks import TaskSet
from core.turn import TurnReport
from core.waiting import wake_or_deadline

log = logging.getLogger("frontdesk.runtime")

SWEEP_INTERVAL = timedelta(seconds=30)
TIMER_BATCH = 200
TIMER_RETRY_FIRST = timedelta(seconds=5)
TIMER_RETRY_MAX = timedelta(hours=1)
RESTART_DELAY = 1.0


def supervised(
    tasks: TaskSet, name: str, loop: Callable[[], Awaitable[None]]
) -> asyncio.Task[None]:
    """Run `loop` in `tasks`, starting it again after a failure."""

    async def run() -> None:
        while True:
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s loop failed; restarting", name)
                await asyncio.sleep(RESTART_DELAY)

    return tasks.spawn(run(), name=f"frontdesk:{name}")


class TimerLoop:
    """Hands due timers over (`submit`) as they fall due. A timer whose turn failed waits
    before its next try (doubling), so that a timer that always fails does not take turn
    after turn; in memory: a restart tries again."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        submit: Callable[[Timer], None],
        process: Callable[[Timer], Awaitable[TurnReport | None]],
    ) -> None:
        self._store = store
        self._clock = clock
        self._submit = submit
        self._process = process
        self._in_flight: set[str] = set()
        self._failures: dict[str, int] = {}
        self._held: dict[str, datetime] = {}  # timer id → not tried before then
        self.wake = asyncio.Event()

    def take(self, timer: Timer) -> bool:
        """Mark the timer as handed over; False when it is already."""
        if timer.id in self._in_flight:
            return False
        self._in_flight.add(timer.id)
        return True

    def finished(self, timer: Timer) -> None:
        self._in_flight.discard(timer.id)
        self.wake.set()

    async def process(self, timer: Timer) -> TurnReport | None:
        try:
            report = await self._process(timer)
        except Exception as exc:
            failures = self._failures.get(timer.id, 0) + 1
            self._failures[timer.id] = failures
            delay = min(TIMER_RETRY_FIRST * 2 ** (failures - 1), TIMER_RETRY_MAX)
            self._held[timer.id] = self._clock.now() + delay
            log.error(
                "timer failed (%d times), tried again in %s: timer=%s conversation=%s error=%r",
                failures,
                delay,
                timer.id,
                timer.conversation_id,
                exc,
                extra={"conversation_id": timer.conversation_id},
            )
            raise
        self._failures.pop(timer.id, None)
        self._held.pop(timer.id, None)
        return report

    async def run(self) -> None:
        while True:
            self.wake.clear()
            now = self._clock.now()
            due = await self._store.due_timers(now, TIMER_BATCH)
            held = [self._held[t.id] for t in due if self._held.get(t.id, now) > now]
            fresh = [
                t for t in due if t.id not in self._in_flight and self._held.get(t.id, now) <= now
            ]
            for timer in fresh:
                self._submit(timer)
            if len(due) == TIMER_BATCH and fresh:
                continue
            upcoming = await self._store.next_timer_due()
            # Due timers still in flight wake this loop when they finish.
            deadline = upcoming if upcoming is not None and upcoming > now else None
            if held:  # and failed ones when their wait is over
                deadline = min(held) if deadline is None else min(deadline, *held)
            if deadline is None and not due:
                deadline = now + SWEEP_INTERVAL
            await wake_or_deadline(self.wake, self._clock, deadline)


class Sweep:
    """Every SWEEP_INTERVAL: agents away outside their hours, online agents offered their
    queues (in case a wake-up was lost), and stored events not yet processed handed over."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        reporter: Reporter,
        recover: Callable[[], Awaitable[int]],
        agent_status_changed: Callable[[Agent], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._reporter = reporter
        self._recover = recover
        self._agent_status_changed = agent_status_changed
        self.away_outside: Mapping[str, str] = {}
        self.schedules: Mapping[str, Schedule] = {}
        self.wake = asyncio.Event()

    async def run(self) -> None:
        recovered = await self._recover()
        if recovered:
            log.info("recovered %d stored events", recovered)
        while True:
            # Online agents take their teams' queues now and then too, in case a wake-up was
            # lost (a crash between a commit and the offers it called for).
            await away_outside_hours(
                self._store, self._reporter, self._clock.now(), self.away_outside, self.schedules
            )
            for agent in await self._store.list_agents():
                self._agent_status_changed(agent)
            self.wake.clear()
            await wake_or_deadline(self.wake, self._clock, self._clock.now() + SWEEP_INTERVAL)
            await self._recover()
