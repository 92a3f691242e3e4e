"""Waiting for whichever comes first: a wake-up call or a time on the injected clock."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from core.ports import Clock


async def wake_or_deadline(wake: asyncio.Event, clock: Clock, deadline: datetime | None) -> None:
    """Return when `wake` is set or the clock reaches `deadline` (None: only `wake`)."""
    if wake.is_set():
        return
    waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(wake.wait())}
    if deadline is not None:
        waiters.add(asyncio.ensure_future(clock.sleep_until(deadline)))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        for waiter in waiters:
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
