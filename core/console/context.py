"""What every console page and form reaches: the records, the controls, the config's
workflows and schedules, the clock, sessions and templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import jinja2
from aiohttp import web

from core.agents import Agent, AgentStatus
from core.config import Config
from core.console.live import Feed
from core.console.sessions import Session, Sessions
from core.desk_actions import HandAssignment
from core.ports import Clock, Records


class Controls(Protocol):
    """What operators may do from the console: the runtime's own setters, the same ones the
    REST API and the agents' desk use."""

    async def set_agent_status(self, agent_id: str, status: AgentStatus) -> Agent | None: ...

    async def assign_conversation(self, conversation_id: str, agent_id: str) -> HandAssignment: ...

    async def unassign_conversation(self, conversation_id: str) -> bool | None: ...

    async def close_conversation(self, conversation_id: str) -> bool | None: ...


# The session the guard found for a request (None on the sign-in page before one exists).
SESSION: web.RequestKey[Session | None] = web.RequestKey("console_session", object)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Context:
    current: Callable[[], Config]  # the running config: a reload (SIGHUP) replaces it
    records: Records | None
    controls: Controls
    clock: Clock
    feed: Feed
    sessions: Sessions
    templates: jinja2.Environment

    @property
    def config(self) -> Config:
        return self.current()

    def render(
        self, request: web.Request, name: str, status: int = 200, **values: Any
    ) -> web.Response:
        session = request.get(SESSION)
        fragment = request.headers.get("X-Console-Fragment") == "1"
        template = self.templates.get_template(name)
        values = {"session": session, "now": self.clock.now(), **values}
        if fragment:
            text = "".join(template.blocks["main"](template.new_context(values)))
        else:
            text = template.render(values)
        return web.Response(text=text, status=status, content_type="text/html")

    def refuse(self, request: web.Request, status: int, reason: str) -> web.Response:
        return self.render(request, "error.html", status=status, reason=reason)


def session_of(request: web.Request) -> Session:
    session = request.get(SESSION)
    assert isinstance(session, Session)  # the guard let only signed-in requests through
    return session
