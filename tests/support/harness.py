"""Run a real frontdesk (aiohttp on 127.0.0.1, SQLite file) inside a test."""

from __future__ import annotations

import asyncio
import json
import textwrap
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from adapters.webhook.signing import SIGNATURE_HEADER, sign
from core.app import Frontdesk, build
from core.clock import ManualClock
from core.config import load_config
from core.ports import OutboxRecord, Records
from tests.support.serve import serving_app
from tests.support.waiting import until

SECRET = "test-webhook-secret-0123456789"
API_TOKEN = "test-api-token-0123456789"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def records_of(frontdesk: Frontdesk) -> Records:
    """What the running frontdesk's store holds: every store these tests run can say."""
    assert frontdesk.records is not None
    return frontdesk.records


DIRECTORY = """
agents:
  alice: {name: Alice, status: online}
  bob: {name: Bob, status: online}
  carol: {name: Carol, status: online}
  dave: {name: Dave, status: away}
teams:
  sales: {agents: [alice, bob]}
  support: {agents: [carol, dave]}
"""


def write_config(
    folder: Path,
    callback_url: str,
    workflows: dict[str, str],
    directory: str = DIRECTORY,
    extra: str = "",
    channels: str = "",
    outbox: str = "{base_delay_seconds: 1, max_delay_seconds: 60, max_attempts: 5}",
) -> Path:
    """A config with one webhook channel called `webhook` (and `channels`, more of the
    section's YAML indented by two), the given workflow files, and `outbox` settings."""
    (folder / "workflows").mkdir(exist_ok=True)
    for name, body in workflows.items():
        (folder / "workflows" / f"{name}.yaml").write_text(textwrap.dedent(body))
    listed = "\n".join(f"  - workflows/{name}.yaml" for name in workflows)
    config = folder / "frontdesk.yaml"
    config.write_text(
        f"""
server: {{host: 127.0.0.1, port: 0}}
store: {{type: sqlite, path: frontdesk.db}}
api: {{token: {API_TOKEN}}}
outbox: {outbox}
channels:
  webhook:
    type: webhook
    secret: {SECRET}
    callback_url: {callback_url}
{channels}
{textwrap.dedent(directory)}
workflows:
{listed}
{textwrap.dedent(extra)}
"""
    )
    return config


def event(
    contact: str, text: str | None = None, option: str | None = None, **profile: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {}
    if text is not None:
        message["text"] = text
    if option is not None:
        message["option_id"] = option
    return {
        "event_id": uuid.uuid4().hex,
        "contact": {"id": contact, **profile},
        "message": message,
    }


async def post_event(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any] | bytes, secret: str = SECRET
) -> tuple[int, dict[str, Any]]:
    """POST a signed event to the webhook channel of the frontdesk at `url`: the status and
    the JSON answer."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {SIGNATURE_HEADER: sign(secret, raw), "Content-Type": "application/json"}
    async with session.post(f"{url}/webhook/events", data=raw, headers=headers) as response:
        return response.status, await response.json()


@dataclass
class Running:
    frontdesk: Frontdesk
    clock: ManualClock
    url: str
    session: aiohttp.ClientSession

    async def post(
        self, body: dict[str, Any] | bytes, secret: str = SECRET
    ) -> tuple[int, dict[str, Any]]:
        return await post_event(self.session, self.url, body, secret)

    async def say(
        self, contact: str, text: str | None = None, option: str | None = None, **profile: Any
    ) -> None:
        status, body = await self.post(event(contact, text, option, **profile))
        assert (status, body) == (200, {"status": "accepted"})
        await self.frontdesk.runtime.idle()

    async def set_status(self, agent: str, status: str) -> None:
        """Set an agent's status through the REST API, as an agent would."""
        async with self.session.put(
            f"{self.url}/api/agents/{agent}/status",
            json={"status": status},
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as response:
            assert response.status == 200

    async def burst(self, contacts: list[str]) -> None:
        """Every contact writes at the same moment; wait until all are processed."""
        results = await asyncio.gather(*(self.post(event(c, "hi")) for c in contacts))
        assert all(status == 200 for status, _ in results)
        await self.frontdesk.runtime.idle()

    async def assignees(self, contacts: list[str]) -> Counter[str | None]:
        """How many of the contacts' (only) conversations each agent has; None: unassigned."""
        counted: Counter[str | None] = Counter()
        for contact in contacts:
            [conversation] = await records_of(self.frontdesk).conversations_of("webhook", contact)
            counted[conversation.assignee] += 1
        return counted

    async def outbox_when(
        self,
        contact: str,
        ready: Callable[[list[OutboxRecord]], bool],
        channel: str = "webhook",
    ) -> list[OutboxRecord]:
        """The contact's outbox rows once `ready` holds (bounded, so a broken test fails)."""

        async def rows_when_ready() -> list[OutboxRecord] | None:
            conversations = await records_of(self.frontdesk).conversations_of(channel, contact)
            if not conversations:
                return None
            rows = await records_of(self.frontdesk).outbox(conversations[0].id)
            return rows if ready(rows) else None

        found: list[OutboxRecord] = await until(rows_when_ready)
        return found

    async def advance(self, seconds: float) -> None:
        """Move the clock on and let the timers and the outbox catch up with it."""
        self.clock.advance(seconds)
        await self.frontdesk.runtime.fire_due_timers()
        self.frontdesk.runtime.outbox.wake()


@asynccontextmanager
async def running(config_path: Path, start: datetime = START) -> AsyncIterator[Running]:
    clock = ManualClock(start)
    frontdesk = build(load_config(config_path), clock)
    async with serving_app(frontdesk.app) as url, aiohttp.ClientSession() as session:
        yield Running(frontdesk, clock, url, session)
