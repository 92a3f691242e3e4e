"""Background tasks that are kept until they finish: none is lost to the garbage collector,
and all of them can be waited for or stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class TaskSet:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def join(self) -> None:
        """Wait for every task, those they start included."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def cancel(self) -> None:
        """Stop every task and wait until they have stopped."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self, grace: float) -> None:
        """Let the tasks under way finish for at most `grace` seconds, then stop the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        await self.cancel()


async def settle(outcome: asyncio.Future[T], work: Awaitable[T]) -> None:
    """Run a job whose caller awaits `outcome`, and hand it the result or the error."""
    try:
        result = await work
    except BaseException as exc:
        if not outcome.done():
            outcome.set_exception(exc)
        raise
    if not outcome.done():
        outcome.set_result(result)
