"""The small REST API: health, agents setting their status, closing and assigning
conversations (what operators read is in `records_api`).

Every /api/ route needs `Authorization: Bearer <api.token>`; without a configured token the
API answers 403 so that a deployment never runs it open by accident.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from core.agents import Agent, AgentStatus
from core.bodies import error_response, json_object, read_limited
from core.desk_actions import HandAssignment
from core.errors import BadInbound, PayloadTooLarge

BODY_LIMIT = 4096


async def _field(request: web.Request, name: str) -> Any:
    """The field `name` of the JSON object in the body; None when there is no such field or
    the body is not a JSON object. Raises PayloadTooLarge over BODY_LIMIT bytes."""
    try:
        return json_object(await read_limited(request, BODY_LIMIT)).get(name)
    except BadInbound:
        return None


def bearer_refusal(token: SecretStr | None, request: web.Request) -> web.Response | None:
    """The answer to a request without the API's bearer token; None when it has it."""
    if token is None:
        return error_response(403, "the API is disabled: set api.token in the config")
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token.get_secret_value()}"
    # aiohttp keeps header bytes that are not UTF-8 as surrogates: encoded back, not a 500.
    if not hmac.compare_digest(given.encode(errors="surrogateescape"), expected.encode()):
        return error_response(401, "missing or wrong bearer token")
    return None


class AgentApi:
    def __init__(
        self,
        token: SecretStr | None,
        set_status: Callable[[str, AgentStatus], Awaitable[Agent | None]],
        close: Callable[[str], Awaitable[bool | None]] | None = None,
        assign: Callable[[str, str], Awaitable[HandAssignment]] | None = None,
    ) -> None:
        self._assign = assign
        self._token = token
        # Coming online takes the team's queue: the runtime's setter sees to it.
        self._set_status = set_status
        self._close = close

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.health),
            web.put("/api/agents/{agent_id}/status", self.set_status),
            web.post("/api/conversations/{conversation_id}/close", self.close_conversation),
            web.post("/api/conversations/{conversation_id}/assign", self.assign_conversation),
        ]

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    def _refused(self, request: web.Request) -> web.Response | None:
        return bearer_refusal(self._token, request)

    async def set_status(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request)) is not None:
            return refused
        try:
            status = AgentStatus(await _field(request, "status"))
        except PayloadTooLarge as exc:
            return error_response(413, str(exc))
        except ValueError:
            allowed = ", ".join(s.value for s in AgentStatus)
            return error_response(400, f'body must be {{"status": one of {allowed}}}')
        agent = await self._set_status(request.match_info["agent_id"], status)
        if agent is None:
            return error_response(404, "no such agent")
        return web.json_response(agent.model_dump(mode="json"))

    async def close_conversation(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request)) is not None:
            return refused
        if self._close is None:
            return error_response(503, "closing is not available")
        closed = await self._close(request.match_info["conversation_id"])
        if closed is None:
            return error_response(404, "no such conversation")
        if not closed:
            return error_response(409, "the conversation is closed already")
        return web.json_response({"status": "closed"})

    async def assign_conversation(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request)) is not None:
            return refused
        if self._assign is None:
            return error_response(503, "assigning is not available")
        try:
            agent_id = await _field(request, "agent")
        except PayloadTooLarge as exc:
            return error_response(413, str(exc))
        if not isinstance(agent_id, str):
            return error_response(400, 'body must be {"agent": "<agent id>"}')
        outcome = await self._assign(request.match_info["conversation_id"], agent_id)
        if outcome == HandAssignment.NO_CONVERSATION:
            return error_response(404, "no such conversation")
        if outcome == HandAssignment.NO_AGENT:
            return error_response(404, "no such agent")
        if outcome == HandAssignment.CLOSED:
            return error_response(409, "the conversation is closed")
        return web.json_response({"status": "assigned", "assignee": agent_id})
