from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import test_utils, web

from adapters.telegram import TelegramChannel
from core.clock import ManualClock
from tests.adapters.telegram.fake_bot_api import FakeBotApi, serving
from tests.adapters.telegram.fakes import NOW, SLUG, make_settings
from tests.support.inbox import FakeInbox


@pytest.fixture
def inbox() -> FakeInbox:
    return FakeInbox()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    async with serving() as api:
        yield api


@pytest.fixture
async def channel(
    inbox: FakeInbox, clock: ManualClock, bot_api: FakeBotApi
) -> AsyncIterator[TelegramChannel]:
    channel = TelegramChannel(SLUG, make_settings(bot_api.url), inbox, clock)
    await channel.start()
    yield channel
    await channel.close()


@pytest.fixture
async def updates_url(channel: TelegramChannel) -> AsyncIterator[str]:
    """The channel's webhook endpoint, served on 127.0.0.1."""
    app = web.Application()
    app.add_routes(channel.routes())
    async with test_utils.TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url(f"/{SLUG}/updates"))
