from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.telegram.fake_bot_api import FakeBotApi, serving
from tests.support.crm import Crm
from tests.support.harness import SECRET
from tests.support.receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "deploy" / "demo"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(SECRET)
    await r.start()
    yield r
    await r.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session for tests that talk HTTP to a server of theirs."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    """A fake Telegram Bot API on 127.0.0.1."""
    async with serving() as api:
        yield api


@pytest.fixture
async def crm() -> AsyncIterator[Crm]:
    """A test CRM on 127.0.0.1 for workflows that look customers up."""
    server = Crm()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def route_by_team() -> str:
    """The demo's workflow, exactly as shipped."""
    return (DEMO / "workflows" / "route-by-team.yaml").read_text()
