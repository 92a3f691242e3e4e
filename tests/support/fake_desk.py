"""A desk channel of a made-up platform, as a third party would ship one in its own package.

It speaks HTTP: every notice is POSTed as JSON to the `url` its settings name, and an agent
sets their status by POSTing `{"from": <their address>, "status": ...}` to
`/<slug>/status`. Agents are `<name>@desk`, teams' rooms `#<name>`: its own models check the
config's addresses. Nothing in core knows it; tests install it through the
`frontdesk.channels` entry point (see `installed`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel

from core.agents import AgentStatus
from core.deliveries import Delivery
from core.desk_port import Desk
from core.models import DeskThread, NoticeKind, Outbound
from core.ports import Clock, Inbox

TYPE = "fakedesk"


class FakeDeskSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str  # where notices are POSTed


class Person(RootModel[str]):
    root: str = Field(pattern=r"^[a-z]+@desk$")


class Room(RootModel[str]):
    root: str = Field(pattern=r"^#[a-z-]+$")


class FakeDeskChannel:
    settings_model: ClassVar[type[BaseModel]] = FakeDeskSettings
    serves_agents: ClassVar[bool] = True
    agent_address: ClassVar[type[RootModel[str]]] = Person
    team_address: ClassVar[type[RootModel[str]]] = Room
    legacy_address_keys: ClassVar[dict[str, str]] = {}

    def __init__(self, slug: str, settings: FakeDeskSettings, inbox: Inbox, clock: Clock) -> None:
        if not isinstance(inbox, Desk):
            raise TypeError("a desk channel needs frontdesk's desk port beside the inbox")
        self.slug = slug
        self._url = settings.url
        self._desk = inbox
        self._session: aiohttp.ClientSession | None = None

    def routes(self) -> Iterable[web.RouteDef]:
        return [web.post(f"/{self.slug}/status", self._status)]

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, message: Outbound) -> Delivery:
        notice = message.notice
        if notice is None or self._session is None:
            return Delivery.failed("the fake desk has no customers")
        threads = await self._desk.threads_of(notice.handoff_id)
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "kind": notice.kind.value,
            "conversation_id": notice.conversation_id,
            "text": message.text,
            "agent": notice.agent.id if notice.agent is not None else None,
            "agent_address": notice.agent_address,
            "targets": [target.model_dump() for target in notice.targets],
            "threads": [thread.place for thread in threads],
        }
        async with self._session.post(self._url, json=body) as response:
            if response.status >= 300:
                return Delivery.retry(f"the desk answered {response.status}")
        if notice.kind == NoticeKind.HANDOFF:
            for target in notice.targets:
                await self._desk.save_thread(
                    DeskThread(
                        desk=self.slug,
                        place=target.id,
                        ts=message.message_id,
                        conversation_id=notice.conversation_id,
                        handoff_id=notice.handoff_id,
                        agent_id=notice.agent.id if notice.agent is not None else None,
                    )
                )
        return Delivery.sent()

    async def _status(self, request: web.Request) -> web.Response:
        said = await request.json()
        agent = await self._desk.agent_at(self.slug, str(said["from"]))
        if agent is None:
            return web.json_response({"error": "not an agent"}, status=403)
        await self._desk.set_agent_status(agent.id, AgentStatus(said["status"]))
        return web.json_response({"agent": agent.id})


def installed(site: Path) -> Path:
    """Make `site` a folder holding an installed distribution that declares the fake desk in
    the `frontdesk.channels` entry point, as `pip install` would; put it on `sys.path`."""
    info = site / "fakedesk-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakedesk\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[frontdesk.channels]\n{TYPE} = {__name__}:FakeDeskChannel\n"
    )
    return site
