"""Waiting for whichever comes first: a wake-up call or a time on the injected clock."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from core.clock import ManualClock
from core.waiting import wake_or_deadline

MONDAY_10 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _settled(task: asyncio.Future[None]) -> bool:
    for _ in range(20):  # passes of the loop for the waiters to see it and be cancelled
        await asyncio.sleep(0)
    return task.done()


# (rule, deadline in seconds (None: none), the clock moved by, woken, done)
WAITS: list[tuple[str, float | None, float, bool, bool]] = [
    ("a wake-up ends the wait", 60, 0, True, True),
    ("the deadline ends the wait", 60, 60, False, True),
    ("not a second before the deadline", 60, 59, False, False),
    ("no deadline: only a wake-up", None, 3600, False, False),
    ("no deadline, woken", None, 0, True, True),
]


@pytest.mark.parametrize(
    ("deadline", "moved", "woken", "done"), [r[1:] for r in WAITS], ids=[r[0] for r in WAITS]
)
async def test_wake_or_deadline(
    deadline: float | None, moved: float, woken: bool, done: bool
) -> None:
    clock = ManualClock(MONDAY_10)
    wake = asyncio.Event()
    until = None if deadline is None else MONDAY_10 + timedelta(seconds=deadline)
    task = asyncio.ensure_future(wake_or_deadline(wake, clock, until))
    await _settled(task)
    clock.advance(moved)
    if woken:
        wake.set()
    assert await _settled(task) is done
    if not done and until is not None:
        assert clock.deadlines == [until]  # still waiting for the clock
    if done:
        assert clock.deadlines == []  # nothing left asleep on the clock
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_wake_up_already_set_returns_at_once() -> None:
    wake = asyncio.Event()
    wake.set()
    await wake_or_deadline(wake, ManualClock(MONDAY_10), None)
