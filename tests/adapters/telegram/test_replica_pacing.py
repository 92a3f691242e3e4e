"""One bot's limits hold for every replica together: three Telegram channels of one bot, each
on a PostgreSQL store of its own (three replicas of one deployment), send a burst through the
fake Bot API; its clock (the injected one) never sees more than the bot's limit in any second,
nor two messages to one chat within the chat's interval, and a 429 holds every replica."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from adapters.telegram import TelegramChannel
from core.clock import ManualClock
from core.deliveries import DeliveryOutcome
from core.models import Outbound
from core.pacing import Pacing, SendLimits
from core.shared_pacing import deployment_pacing
from storage.postgres import PostgresStore
from tests.adapters.telegram.fake_bot_api import FakeBotApi, serving
from tests.adapters.telegram.fakes import SLUG, make_settings
from tests.support.inbox import FakeInbox
from tests.support.postgres import scratch_schema

REPLICAS = 3
PER_SECOND = 30
SHARED_CHAT = "777"
STEP = timedelta(seconds=0.05)


class ReplicaInbox(FakeInbox):
    """The Inbox a channel of one replica sees, giving the pacing its Runtime would give."""

    def __init__(self, store: PostgresStore, clock: ManualClock) -> None:
        super().__init__()
        self._store = store
        self._clock = clock

    def pacing(self, bot: str, limits: SendLimits) -> Pacing:
        return deployment_pacing(self._store, self._clock, bot, limits)


@dataclass
class Deployment:
    api: FakeBotApi
    replicas: list[TelegramChannel]  # the one bot's channel in each replica


@pytest.fixture
async def deployment(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Deployment]:
    async with AsyncExitStack() as stack:
        api = await stack.enter_async_context(serving(FakeBotApi(clock=clock)))
        settings = await stack.enter_async_context(scratch_schema())
        channels = []
        for _ in range(REPLICAS):
            store = PostgresStore(settings, tmp_path)
            await store.open()
            stack.push_async_callback(store.close)
            telegram = make_settings(
                api.url, per_bot_per_second=PER_SECOND, per_chat_interval_seconds=1.0
            )
            channel = TelegramChannel(SLUG, telegram, ReplicaInbox(store, clock), clock)
            await channel.start()
            stack.push_async_callback(channel.close)
            channels.append(channel)
        yield Deployment(api, channels)


def message(n: int, chat: str) -> Outbound:
    return Outbound(
        message_id=f"m-{n}", conversation_id=f"c-{chat}", channel=SLUG, recipient=chat, text="hi"
    )


def most_in_one_second(times: list[datetime]) -> int:
    times = sorted(times)
    return max(
        sum(1 for other in times if start <= other < start + timedelta(seconds=1))
        for start in times
    )


async def test_a_burst_from_every_replica_keeps_the_bots_limits_together(
    deployment: Deployment, clock: ManualClock
) -> None:
    api, replicas = deployment.api, deployment.replicas
    # Each replica: 40 new chats, and 3 messages to one chat they all write to.
    pending = {
        replica: [message(n * 100 + i, f"{n}{i:03}") for i in range(40)]
        + [message(n * 100 + 50 + i, SHARED_CHAT) for i in range(3)]
        for n, replica in enumerate(replicas)
    }
    total = sum(len(messages) for messages in pending.values())
    for _ in range(400):  # 20 s of the clock at most
        sends = [(r, m) for r, messages in pending.items() for m in messages]
        if not sends:
            break
        outcomes = await asyncio.gather(*(r.send(m) for r, m in sends))
        for (replica, sent), outcome in zip(sends, outcomes, strict=True):
            assert outcome.outcome in (DeliveryOutcome.SENT, DeliveryOutcome.DEFER), outcome
            if outcome.outcome == DeliveryOutcome.SENT:
                pending[replica].remove(sent)
        clock.advance(STEP)

    calls = api.of("sendMessage")
    assert len(calls) == total
    times = [call.clock_at for call in calls if call.clock_at is not None]
    assert most_in_one_second(times) == PER_SECOND  # reached, never passed
    shared = sorted(c.clock_at for c in calls if c.params["chat_id"] == SHARED_CHAT and c.clock_at)
    assert len(shared) == REPLICAS * 3
    assert all(later - earlier >= timedelta(seconds=1) for earlier, later in pairwise(shared))


async def test_a_429_to_one_replica_holds_the_bot_for_every_replica(
    deployment: Deployment, clock: ManualClock
) -> None:
    api, replicas = deployment.api, deployment.replicas
    api.fail_next("sendMessage", 429, retry_after=3)

    refused = await replicas[0].send(message(1, "1"))
    elsewhere = await replicas[1].send(message(2, "2"))
    clock.advance(3)
    later = await replicas[2].send(message(3, "3"))

    assert refused.outcome == DeliveryOutcome.RETRY
    assert elsewhere.outcome == DeliveryOutcome.DEFER
    assert elsewhere.retry_after == 3.0
    assert later.outcome == DeliveryOutcome.SENT
    assert [c.params["chat_id"] for c in api.of("sendMessage")] == ["1", "3"]
