from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import test_utils, web

from adapters.webhook import WebhookChannel
from core.clock import ManualClock
from tests.adapters.conftest import Serve, Start
from tests.adapters.webhook.fakes import NOW, SLUG, Receiver, make_settings
from tests.support.inbox import FakeInbox


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A callback receiver on 127.0.0.1, answering 200 until a test says otherwise."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/callback", receiver.handle)
    async with test_utils.TestServer(app, host="127.0.0.1") as server:
        receiver.url = str(server.make_url("/callback"))
        yield receiver


@pytest.fixture
async def channel(
    inbox: FakeInbox, clock: ManualClock, receiver: Receiver, start: Start
) -> WebhookChannel:
    return await start(WebhookChannel(SLUG, make_settings(receiver.url), inbox, clock))


@pytest.fixture
async def events_url(channel: WebhookChannel, serve: Serve) -> str:
    """The channel's inbound endpoint, served on 127.0.0.1."""
    return str((await serve(channel)).make_url(f"/{SLUG}/events"))
