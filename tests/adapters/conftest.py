"""Fixtures every channel's tests share: a fake inbox, and channels started and served for the
length of one test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TypeVar

import pytest
from aiohttp import test_utils, web

from core.ports import Channel
from tests.support.inbox import FakeInbox

C = TypeVar("C", bound=Channel)

Serve = Callable[[Channel], Awaitable[test_utils.TestServer]]


class Start:
    """Starts a channel and closes it when the test ends."""

    def __init__(self, stack: AsyncExitStack) -> None:
        self._stack = stack

    async def __call__(self, channel: C) -> C:
        await channel.start()
        self._stack.push_async_callback(channel.close)
        return channel


@pytest.fixture
def inbox() -> FakeInbox:
    return FakeInbox()


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    async with AsyncExitStack() as stack:
        yield Start(stack)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serves a channel's routes on 127.0.0.1 until the test ends; `make_url` gives a route's
    URL."""
    async with AsyncExitStack() as stack:

        async def serve(channel: Channel) -> test_utils.TestServer:
            app = web.Application()
            app.add_routes(channel.routes())
            server = test_utils.TestServer(app, host="127.0.0.1")
            await stack.enter_async_context(server)
            return server

        yield serve
