"""Waiting in a test for something that happens beside it (an outbox delivery, an offer
round), without sleeping for a fixed time."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

POLL_SECONDS = 0.01


async def until(check: Callable[[], Any], limit: float = 10.0) -> Any:
    """The first truthy result of `check` (a function or an async one), polled; bounded, so
    that a broken test fails instead of hanging."""
    deadline = time.monotonic() + limit
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("it never happened")
        await asyncio.sleep(POLL_SECONDS)
