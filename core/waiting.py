"""Waiting for whichever comes first: a wake-up call or a time on the injected clock."""

from __future__ import annotations

import asyncio
from datetime import datetime

from core.ports import Clock


async def wake_or_deadline(wake: asyncio.Event, clock: Clock, deadline: datetime | None) -> None:
    """Return when `wake` is set or the clock reaches `deadline` (None: only `wake`).

    The deadline ends the wait by setting `wake`, so the loops that wait here clear it before
    they look for work, as they do anyway. The delivery loop waits here once or twice a
    message: one sleeper task at most, not a task per thing waited for."""
    if wake.is_set():
        return
    if deadline is None:
        await wake.wait()
        return
    sleeper = asyncio.ensure_future(clock.sleep_until(deadline))

    def ring(done: asyncio.Future[None]) -> None:
        if not done.cancelled():
            wake.set()

    sleeper.add_done_callback(ring)
    try:
        await wake.wait()
    finally:
        sleeper.cancel()
