"""The Pacing port: how long a message must wait, on a manual clock. The same rules hold for
the limiter in one process (SQLite) and for the window every replica shares on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import pytest

from core.clock import ManualClock
from core.pacing import Pacing, SendLimiter, SendLimits
from core.shared_pacing import IN_FLIGHT_LEASE, SharedPacing
from storage.postgres import PostgresStore
from tests.adapters.telegram.fakes import NOW
from tests.support.postgres import DATABASE_URL, scratch_schema

Limiter = Callable[..., Awaitable[tuple[Pacing, ManualClock]]]


@pytest.fixture(params=["process", "postgres"])
async def limiter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Limiter]:
    async with AsyncExitStack() as stack:

        async def make(per_chat: float = 1.0, per_bot: int = 30) -> tuple[Pacing, ManualClock]:
            clock = ManualClock(NOW)
            if request.param == "process":
                return SendLimiter(clock, per_chat, per_bot), clock
            settings = await stack.enter_async_context(scratch_schema())
            store = PostgresStore(settings, tmp_path)
            await store.open()
            stack.push_async_callback(store.close)
            return SharedPacing(store, clock, "telegram", SendLimits(per_chat, per_bot)), clock

        yield make


async def test_one_chat_gets_one_message_per_interval(limiter: Limiter) -> None:
    limits, clock = await limiter(per_chat=1.0)

    assert await limits.acquire("a") == 0.0
    clock.advance(0.4)
    assert await limits.acquire("a") == 0.6
    assert await limits.acquire("b") == 0.0  # another chat is not held back
    clock.advance(0.6)
    assert await limits.acquire("a") == 0.0
    assert await limits.acquire("a") == 1.0


async def test_being_told_to_wait_uses_no_slot(limiter: Limiter) -> None:
    limits, clock = await limiter(per_chat=1.0)
    await limits.acquire("a")
    clock.advance(0.5)
    assert await limits.acquire("a") == 0.5

    clock.advance(0.5)
    assert await limits.acquire("a") == 0.0


async def test_the_bot_sends_at_most_per_second_in_any_one_second_window(limiter: Limiter) -> None:
    limits, clock = await limiter(per_chat=0, per_bot=3)
    assert [await limits.acquire(chat) for chat in "abc"] == [0.0, 0.0, 0.0]
    clock.advance(0.3)
    assert await limits.acquire("d") == 0.7

    clock.advance(0.7)  # the first three leave the window together
    assert [await limits.acquire(chat) for chat in "def"] == [0.0, 0.0, 0.0]
    assert await limits.acquire("g") == 1.0


async def test_the_window_slides(limiter: Limiter) -> None:
    limits, clock = await limiter(per_chat=0, per_bot=2)
    await limits.acquire("a")
    clock.advance(0.5)
    await limits.acquire("b")
    clock.advance(0.5)

    assert await limits.acquire("c") == 0.0  # "a" has left the window
    assert await limits.acquire("d") == 0.5  # "b" leaves it in half a second


async def test_zero_interval_disables_the_chat_spacing(limiter: Limiter) -> None:
    limits, _ = await limiter(per_chat=0)

    assert [await limits.acquire("a") for _ in range(5)] == [0.0] * 5


async def test_a_429_pauses_every_chat(limiter: Limiter) -> None:
    limits, clock = await limiter(per_chat=1.0)
    assert await limits.acquire("a") == 0.0

    await limits.pause(5)
    clock.advance(2)
    assert await limits.acquire("a") == 3.0
    assert await limits.acquire("never-sent-to") == 3.0
    await limits.pause(1)  # a shorter pause does not shorten the one under way
    assert await limits.acquire("b") == 3.0

    clock.advance(3)
    assert await limits.acquire("b") == 0.0


async def test_chats_whose_interval_has_passed_are_forgotten() -> None:
    clock = ManualClock(NOW)
    limits = SendLimiter(clock, per_chat_interval_seconds=1.0, per_bot_per_second=1000)
    for n in range(100):
        await limits.acquire(f"chat-{n}")
    assert limits.chats == 100

    clock.advance(0.5)
    await limits.acquire("a")
    clock.advance(0.5)  # the first hundred are a second old, "a" half a second
    await limits.acquire("b")

    assert limits.chats == 2
    clock.advance(1)
    await limits.acquire("c")
    assert limits.chats == 1


async def test_the_shared_window_forgets_chats_whose_interval_has_passed(
    tmp_path: Path,
) -> None:
    clock = ManualClock(NOW)
    async with scratch_schema() as settings:
        store = PostgresStore(settings, tmp_path)
        await store.open()
        try:
            limits = SharedPacing(store, clock, "telegram", SendLimits(1.0, 1000))
            for n in range(100):
                await limits.acquire(f"chat-{n}")
            clock.advance(1)
            await limits.acquire("a")
            conn = await asyncpg.connect(DATABASE_URL)
            try:
                chats = await conn.fetch(f"SELECT chat FROM {settings.schema_name}.send_chats")
            finally:
                await conn.close()
        finally:
            await store.close()

    assert [row["chat"] for row in chats] == ["a"]


async def test_a_call_in_flight_holds_its_place_until_a_second_after_it_ends(
    limiter: Limiter,
) -> None:
    limits, clock = await limiter(per_chat=0, per_bot=2)
    assert await limits.start("a") == 0.0
    assert await limits.start("b") == 0.0
    assert await limits.start("c") == 1.0  # both still in flight: at least a second away

    clock.advance(0.5)  # they reach the platform late, and end
    await limits.finish("a")
    await limits.finish("b")
    clock.advance(0.9)
    assert await limits.start("c") == 0.1  # a second from when they ended, not from the start

    clock.advance(0.1)
    assert await limits.start("c") == 0.0


async def test_a_call_to_no_chat_counts_for_the_bot_only(limiter: Limiter) -> None:
    limits, _ = await limiter(per_chat=1.0, per_bot=2)
    assert await limits.acquire(None) == 0.0
    assert await limits.acquire("a") == 0.0
    assert await limits.acquire(None) == 1.0  # the bot's two calls this second are made


async def test_a_call_whose_replica_died_holds_its_place_only_for_its_lease(
    tmp_path: Path,
) -> None:
    clock = ManualClock(NOW)
    limits = SendLimits(per_chat_interval_seconds=0, per_bot_per_second=1)
    async with scratch_schema() as settings:
        stores = [PostgresStore(settings, tmp_path) for _ in range(2)]
        for store in stores:
            await store.open()
        try:
            dying, surviving = (SharedPacing(s, clock, "telegram", limits) for s in stores)
            assert await dying.start("a") == 0.0  # and never finishes
            told = await surviving.start("b")
            clock.advance(IN_FLIGHT_LEASE)
            after_lease = await surviving.start("b")
        finally:
            for store in stores:
                await store.close()

    assert told == 1.0
    assert after_lease == 0.0
