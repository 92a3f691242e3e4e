"""The inbox's backlog: events stored and handed over, not processed yet.

Acknowledging comes first: a turn (or any job of the dispatcher's) starts only while no
inbound event is waiting to be stored (`Intake`), so that a burst is stored and answered at
the rate the store takes events, not at the rate turns run: a platform that waits for its
answer (some give up after a few seconds and send the event again) is answered, and the
turns catch up once the burst is over. The backlog bounds how far they may fall behind.

Under overload a channel acknowledges faster than turns run; past `server.max_backlog` the
inbox takes no more (channels answer 503 with Retry-After, a poller stops asking) until it
drains. Kept in memory, so that no request pays for a count in the store; the runtime's
`recover` hands over every event the store still holds at start and at every sweep, which
makes it true again against the store (after a restart, or an event whose turn failed).
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("frontdesk.runtime")

# What a channel tells the platform to wait before sending again an event it turned away.
RETRY_AFTER_SECONDS = 5


class Backlog:
    def __init__(self, bound: int) -> None:
        self.bound = bound
        self._ids: set[int] = set()
        # Set while a poller may ask its platform for more: under the bound by a tenth of it,
        # so that a poller does not ask again for every single event processed.
        self._room = asyncio.Event()
        self._room.set()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, inbound_id: int) -> bool:
        return inbound_id in self._ids

    @property
    def full(self) -> bool:
        return len(self._ids) >= self.bound

    def add(self, inbound_id: int) -> None:
        self._ids.add(inbound_id)
        if self.full and self._room.is_set():
            self._room.clear()
            log.warning(
                "backlog full: %d events not processed yet; new ones are turned away with 503"
                " until it drains",
                len(self._ids),
            )

    def discard(self, inbound_id: int) -> None:
        self._ids.discard(inbound_id)
        if not self._room.is_set() and len(self._ids) <= self.bound - max(1, self.bound // 10):
            self._room.set()
            log.info("backlog drained: %d events not processed yet", len(self._ids))

    async def room(self) -> None:
        await self._room.wait()


class Intake:
    """How many inbound events are being stored right now; `idle` waits until none is."""

    def __init__(self) -> None:
        self._storing = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self._storing += 1
        self._idle.clear()

    def leave(self) -> None:
        self._storing -= 1
        if self._storing == 0:
            self._idle.set()

    async def idle(self) -> None:
        await self._idle.wait()
