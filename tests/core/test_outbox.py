"""The outbox's retry arithmetic (exponential, capped, with jitter of 50 to 100%), and when its
loop looks for work again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from core.clock import ManualClock
from core.config_sections import OutboxSettings
from core.deliveries import Delivery
from core.models import Outbound
from core.outbox import OutboxWorker
from core.ports import Channel, Store
from storage.sqlite import SqliteSettings, SqliteStore
from tests.storage.builders import T0, conversation, enqueue, message, seconds, seed
from tests.support.waiting import until


def worker(jitter: float, base: float = 2.0, cap: float = 60.0) -> OutboxWorker:
    return OutboxWorker(
        store=cast(Store, object()),  # the arithmetic reads no store
        channels={},
        clock=ManualClock(datetime(2026, 3, 2, tzinfo=UTC)),
        settings=OutboxSettings(base_delay_seconds=base, max_delay_seconds=cap),
        jitter=lambda: jitter,
    )


# (rule, attempts made, jitter drawn, seconds to wait)
DELAYS: list[tuple[str, int, float, float]] = [
    ("after the first attempt: the base, fully jittered down to half", 1, 0.0, 1.0),
    ("after the first attempt: the base at most", 1, 1.0, 2.0),
    ("doubles with each attempt", 2, 1.0, 4.0),
    ("and again", 3, 1.0, 8.0),
    ("jitter in between", 3, 0.5, 6.0),
    ("capped at the maximum", 10, 1.0, 60.0),
    ("the cap jittered too", 10, 0.0, 30.0),
    ("the cap holds for very many attempts", 200, 1.0, 60.0),
]


@pytest.mark.parametrize(
    ("attempts", "jitter", "seconds"), [r[1:] for r in DELAYS], ids=[r[0] for r in DELAYS]
)
def test_the_wait_before_the_next_attempt(attempts: int, jitter: float, seconds: float) -> None:
    assert worker(jitter).backoff(attempts) == pytest.approx(seconds)


class Recorded:
    """A channel that takes every message."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: Outbound) -> Delivery:
        self.sent.append(message.message_id)
        return Delivery.sent()


async def test_a_message_that_comes_due_while_the_loop_looks_is_sent_without_the_idle_poll(
    tmp_path: Path,
) -> None:
    # The claim finds nothing due yet; by the time the loop has read when the next message
    # is due, that time has passed. It is due, not in flight: the loop claims it at once
    # rather than waiting the idle poll (30 s) to be woken.
    clock = ManualClock(T0)
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    try:
        await store.take_back(T0, ())
        await seed(store, conversation("v1", "c1"))
        await enqueue(store, message("m1", "v1"), at=seconds(1))
        next_due = store.next_outbound_due

        async def slow_look() -> datetime | None:
            due = await next_due()
            clock.set(max(clock.now(), seconds(2)))  # the look took its time
            return due

        store.next_outbound_due = slow_look  # type: ignore[method-assign]
        channel = Recorded()
        worker = OutboxWorker(
            store=store,
            channels={"webhook": cast(Channel, channel)},
            clock=clock,
            settings=OutboxSettings(),
        )
        running = asyncio.create_task(worker.run())
        try:
            await until(lambda: channel.sent)
            assert channel.sent == ["m1"]
        finally:
            await worker.stop(1)
            await running
    finally:
        await store.close()
