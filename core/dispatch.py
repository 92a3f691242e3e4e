"""Run jobs one at a time per conversation key, many keys at once.

Each key (a contact on a channel) has a queue; a key's jobs run strictly in order, and at
most `concurrency` keys run at the same time. An idle key costs nothing: its queue is
dropped when it empties, so memory follows the active conversations, not all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from core.keys import ConversationKey
from core.tasks import TaskSet

log = logging.getLogger("frontdesk.dispatch")

Job = TypeVar("Job")


class Dispatcher(Generic[Job]):
    def __init__(
        self,
        handle: Callable[[Job], Awaitable[object]],
        concurrency: int,
        gate: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._handle = handle
        self._gate = gate  # awaited before each job starts (see `backlog.Intake`)
        self._slots = asyncio.Semaphore(concurrency)
        self._queues: dict[ConversationKey, deque[Job]] = {}
        self._tasks = TaskSet()  # one drain per key with jobs
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, key: ConversationKey, job: Job) -> None:
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(job)  # the key's drain task is running and will reach it
            return
        self._queues[key] = deque([job])
        self._idle.clear()
        task = self._tasks.spawn(self._drain(key), name=f"dispatch:{key}")
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        if not self._tasks:  # the set dropped the task before this callback runs
            self._idle.set()

    async def _drain(self, key: ConversationKey) -> None:
        queue = self._queues[key]
        async with self._slots:
            while queue:
                job = queue[0]
                try:
                    if self._gate is not None:
                        await self._gate()
                    await self._handle(job)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # The job stays durable in the store (inbox row, timer row) and is picked
                    # up again by the next recovery sweep; the key's other jobs go on.
                    log.exception("job failed: key=%s", key)
                queue.popleft()
        del self._queues[key]

    @property
    def busy(self) -> int:
        return len(self._tasks)

    async def join(self) -> None:
        """Wait until every submitted job has been handled."""
        await self._idle.wait()

    async def close(self) -> None:
        await self._tasks.cancel()
        self._queues.clear()
