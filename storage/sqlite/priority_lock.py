"""A lock with two queues: a waiter in the first one is served before anyone in the other.

The writer connection is one lock for every member: a turn holds it while the engine runs
the turn's steps, so dozens of turns may be queued when an inbound event arrives. The event's
platform is waiting for its acknowledgement, which waits for the insert to commit: the insert
goes ahead of the queued turns, which have nobody waiting on the wire.
"""

from __future__ import annotations

import asyncio
from collections import deque


class PriorityLock:
    def __init__(self) -> None:
        self._locked = False
        self._first: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._locked

    async def acquire(self, *, first: bool = False) -> None:
        if not self._locked and not self._first and not self._others:
            self._locked = True
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._first if first else self._others
        queue.append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # handed over just as the waiter gave up: pass it on
            raise
        finally:
            if granted in queue:
                queue.remove(granted)

    def release(self) -> None:
        """Hand the lock straight to the next waiter (first queue first), or free it."""
        for queue in (self._first, self._others):
            while queue:
                granted = queue.popleft()
                if not granted.done():
                    granted.set_result(None)  # stays locked: it is the waiter's now
                    return
        self._locked = False
