"""`TakeoverLoop`: a dead replica's events are handed over on the store's cadence, measured on
the injected clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from core.clock import ManualClock
from core.models import OutboxItem, StoredInbound
from core.takeover import TakeoverLoop
from tests.storage.builders import T0, event, message


class OrphaningStore:
    """Holds the events a dead replica left, until a replica asks for them."""

    takeover_seconds = 2.0

    def __init__(
        self, left: list[StoredInbound], in_flight: list[OutboxItem] | None = None
    ) -> None:
        self.left = left
        self.in_flight = in_flight or []  # on an after_crash: skip channel
        self.asked = 0

    async def orphaned_inbound(self, limit: int) -> list[StoredInbound]:
        self.asked += 1
        taken, self.left = self.left[:limit], self.left[limit:]
        return taken

    async def orphaned_outbound(self) -> list[OutboxItem]:
        forsaken, self.in_flight = self.in_flight, []
        return forsaken


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_dead_replicas_events_are_handed_over_at_the_next_look() -> None:
    clock = ManualClock(T0)
    left = [StoredInbound(id=n, received_at=T0, event=event(n)) for n in (1, 2)]
    store = OrphaningStore(left)
    handed: list[int] = []
    woken: list[bool] = []
    loop = TakeoverLoop(
        store=store,
        clock=clock,
        submit=lambda item: handed.append(item.id),
        wake=lambda: woken.append(True),
    )
    task = asyncio.create_task(loop.run())
    try:
        await settle()
        before = list(handed)
        clock.advance(1.9)
        await settle()
        early = list(handed)
        clock.advance(0.1)
        await settle()
        clock.advance(2)  # and nothing more the next time
        await settle()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert before == early == []
    assert handed == [1, 2]
    assert woken == [True, True]  # the outbox and timers, at each look
    assert store.asked == 2


async def test_what_a_dead_replica_was_sending_on_a_skip_channel_is_logged_as_not_sent_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="frontdesk")
    clock = ManualClock(T0)
    in_flight = OutboxItem(id=7, message=message("m1", "v1"), attempts=0, created_at=T0)
    store = OrphaningStore([], [in_flight])
    woken: list[bool] = []
    loop = TakeoverLoop(
        store=store, clock=clock, submit=lambda item: None, wake=lambda: woken.append(True)
    )
    task = asyncio.create_task(loop.run())
    try:
        await settle()
        clock.advance(2)
        await settle()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert store.in_flight == []
    [said] = [r.getMessage() for r in caplog.records if "not sent again" in r.getMessage()]
    assert "conversation=v1" in said
    assert "message=m1" in said
    assert woken == [True]  # then the outbox: the lane goes on
