from __future__ import annotations

import pytest

from adapters.telegram import TelegramChannel
from core.clock import ManualClock
from tests.adapters.conftest import Serve, Start
from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fakes import NOW, SLUG, make_settings
from tests.support.inbox import FakeInbox


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def channel(
    inbox: FakeInbox, clock: ManualClock, bot_api: FakeBotApi, start: Start
) -> TelegramChannel:
    return await start(TelegramChannel(SLUG, make_settings(bot_api.url), inbox, clock))


@pytest.fixture
async def updates_url(channel: TelegramChannel, serve: Serve) -> str:
    """The channel's webhook endpoint, served on 127.0.0.1."""
    return str((await serve(channel)).make_url(f"/{SLUG}/updates"))
