"""Taking back what a stopped process held: at start, and on a shared store within seconds.

At start, `take_back` takes what the previous process (on SQLite) or any stopped replica (on a
shared store) held in flight, before anything runs.

On a store that replicas share, the replica that accepted an event processes it. When that
replica dies (SIGKILL, a lost machine), its events would wait for another replica's sweep
(`core.loops.SWEEP_INTERVAL`); this loop asks the store on the heartbeat's cadence instead,
so they move as soon as the dead replica's heartbeat is stale (`owner_timeout_seconds`). The
same look sets uncertain the messages a dead replica was sending on an `after_crash: skip`
channel: the outbox's claims take a dead replica's other leases but leave those, so their
lanes wait for this look, never for a claim that would send them again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Protocol, runtime_checkable

from core.config_sections import AfterCrash
from core.models import OutboxItem, StoredInbound
from core.ports import Clock, Store

log = logging.getLogger("frontdesk.runtime")

BATCH = 500


@runtime_checkable
class Takeover(Protocol):
    """A store shared by replicas, which tells from their heartbeats when one has died."""

    @property
    def takeover_seconds(self) -> float:
        """How often to look (its heartbeat's cadence)."""
        ...

    async def orphaned_inbound(self, limit: int) -> list[StoredInbound]:
        """Unprocessed events whose replica is gone, oldest first, now this replica's."""
        ...

    async def orphaned_outbound(self) -> list[OutboxItem]:
        """Messages in flight when their replica died, on a channel set `after_crash: skip`:
        now `uncertain`, never sent again (their lanes go on without them)."""
        ...


class TakeoverLoop:
    """Every `takeover_seconds` of the injected clock, hands over (`submit`) the events of
    replicas that died, sets uncertain what they were sending on an `after_crash: skip`
    channel, and wakes (`wake`) the outbox and the timers, whose claims take a dead
    replica's leases and due timers too: else they would look only when a commit or their
    own next due time wakes them."""

    def __init__(
        self,
        *,
        store: Takeover,
        clock: Clock,
        submit: Callable[[StoredInbound], None],
        wake: Callable[[], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._submit = submit
        self._wake = wake

    async def run(self) -> None:
        every = timedelta(seconds=self._store.takeover_seconds)
        while True:
            await self._clock.sleep_until(self._clock.now() + every)
            count = 0
            while True:
                batch = await self._store.orphaned_inbound(BATCH)
                for item in batch:
                    self._submit(item)
                count += len(batch)
                if len(batch) < BATCH:
                    break
            if count:
                log.info("took over events of a replica that stopped: %d", count)
            for forsaken in await self._store.orphaned_outbound():
                log.warning(
                    "not sent again: in flight when its replica stopped (after_crash: skip):"
                    " conversation=%s channel=%s message=%s",
                    forsaken.message.conversation_id,
                    forsaken.message.channel,
                    forsaken.message.message_id,
                )
            self._wake()


async def take_back(store: Store, clock: Clock, after_crash: Mapping[str, AfterCrash]) -> None:
    """Take back what the previous process held when it stopped, before anything runs:
    its deliveries and HTTP requests under way are redone now, not when their leases
    would have run out; a delivery on an `after_crash: skip` channel is set uncertain."""
    skip = {slug for slug, choice in after_crash.items() if choice == "skip"}
    taken = await store.take_back(clock.now(), skip)
    for item in taken.uncertain:
        log.warning(
            "not sent again: in flight when the previous process stopped (after_crash:"
            " skip): conversation=%s channel=%s message=%s",
            item.message.conversation_id,
            item.message.channel,
            item.message.message_id,
        )
    if taken.resent or taken.requests:
        log.info(
            "taken back from the previous process: %d messages to send again, %d HTTP"
            " requests to make again",
            taken.resent,
            taken.requests,
        )
