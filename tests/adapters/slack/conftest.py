from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.outbound import SlackSender
from core.clock import ManualClock
from core.pacing import SendLimiter
from tests.adapters.slack.fake_web_api import TOKEN, FakeWebApi, serving
from tests.adapters.slack.fakes import NOW, SLUG, FakeDesk


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def limiter(clock: ManualClock) -> SendLimiter:
    return SendLimiter(clock, per_chat_interval_seconds=1.0, per_bot_per_second=20)


@pytest.fixture
def desk() -> FakeDesk:
    return FakeDesk()


@pytest.fixture
async def web_api() -> AsyncIterator[FakeWebApi]:
    async with serving() as api:
        yield api


def make_client(url: str) -> AsyncWebClient:
    # No retry handlers: the outbox retries, with its own backoff, and a test never sleeps.
    return AsyncWebClient(token=TOKEN, base_url=url, timeout=5, retry_handlers=[])


@pytest.fixture
def sender(web_api: FakeWebApi, desk: FakeDesk, limiter: SendLimiter) -> SlackSender:
    return SlackSender(make_client(web_api.url), desk, SLUG, limiter)
