"""The inbox's backlog: events stored and handed over, not processed yet.

Acknowledging comes first: a turn (or any job of the dispatcher's) starts only while no
inbound event is waiting to be stored (`Intake`), so that a burst is stored and answered at
the rate the store takes events, not at the rate turns run: a platform that waits for its
answer (some give up after a few seconds and send the event again) is answered, and the
turns catch up once the burst is over. The backlog bounds how far they may fall behind.

The events of the backlog wait in memory, handed to the dispatcher, only up to `HOLD`; the
rest wait in the store alone and are read back as those in memory are processed (`refill`).
So what a backlog costs in memory, and in the collector's time (every event held is objects
it walks), does not grow with `server.max_backlog`.

Under overload a channel acknowledges faster than turns run; past `server.max_backlog` the
inbox takes no more (channels answer 503 with Retry-After, a poller stops asking) until it
drains. Kept in memory, so that no request pays for a count in the store; the runtime's
`recover` hands over every event the store still holds at start and at every sweep, which
makes it true again against the store (after a restart, or an event whose turn failed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

log = logging.getLogger("frontdesk.runtime")

# What a channel tells the platform to wait before sending again an event it turned away.
RETRY_AFTER_SECONDS = 5
HOLD = 500  # events of the backlog held in memory; the others wait in the store
REFILL = 100  # events read back from the store at a time


class Backlog:
    def __init__(self, bound: int, hold: int = HOLD) -> None:
        self.bound = bound
        self.hold = hold
        self._ids: set[int] = set()  # every event stored and not processed yet
        self._held: set[int] = set()  # those handed to the dispatcher, in memory
        self._left_from: int | None = None  # the lowest id left in the store, not read back
        self._reading = asyncio.Lock()  # held by the read of the store's pending events
        self._done_meanwhile: set[int] = set()  # events processed while one was under way
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

    def arrived(self, inbound_id: int) -> bool:
        """Count an event just stored; whether to hold it in memory for the dispatcher now.
        Not while older events wait in the store or are being read from it: handed over
        before them, it would run before them, and a conversation's events run in the order
        they were stored. It waits in the store then, and is read back after them."""
        if self._reading.locked():  # the read may yet leave some in the store
            self.add(inbound_id)
            self.left_at(inbound_id)
            return False
        return self.take(inbound_id)

    def take(self, inbound_id: int) -> bool:
        """Count a stored event (after it is stored, or read back); whether to hold it in
        memory for the dispatcher. False: it is held already, or it waits in the store (no
        room in memory, or an older one waits there) until `left_from` reads it back."""
        if inbound_id in self._held or inbound_id in self._done_meanwhile:
            return False
        self.add(inbound_id)
        # Once an event is left in the store, the later ones a read finds wait behind it,
        # even if room is made meanwhile, so that they are handed over in the order stored.
        behind = self._left_from is not None and inbound_id >= self._left_from
        if behind or len(self._held) >= self.hold:
            self.left_at(inbound_id)
            return False
        self._held.add(inbound_id)
        return True

    @property
    def wants_refill(self) -> bool:
        """Events wait in the store, and half of the room in memory is free."""
        return self._left_from is not None and len(self._held) <= self.hold // 2

    @property
    def room_to_hold(self) -> int:
        return max(0, self.hold - len(self._held))

    def left_from(self) -> int | None:
        """The lowest id left in the store, forgotten: the caller reads from there, and what
        it cannot hold (or is left meanwhile) is counted again by `take` or `left_at`."""
        left, self._left_from = self._left_from, None
        return left

    def left_at(self, inbound_id: int) -> None:
        """Events from `inbound_id` on may wait in the store."""
        if self._left_from is None or inbound_id < self._left_from:
            self._left_from = inbound_id

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        """Around a read of the store's pending events and the hand-over of what it found,
        one at a time: a read hands over in the order stored, and two at once (the sweep's,
        and a read back that starts where events were left) would interleave out of it.
        Events that arrive meanwhile wait in the store (`arrived`). An event processed
        meanwhile was read before its turn committed: `take` refuses it, instead of running
        it again (its second turn would fail at its commit anyway)."""
        async with self._reading:
            try:
                yield
            finally:
                self._done_meanwhile.clear()

    def discard(self, inbound_id: int) -> None:
        if self._reading.locked():
            self._done_meanwhile.add(inbound_id)
        self._held.discard(inbound_id)
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
        # Woken together, the waiters run one after another: one that finds an event being
        # stored again by then (a request read meanwhile) waits again.
        while self._storing:
            await self._idle.wait()
