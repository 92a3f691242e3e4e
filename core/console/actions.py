"""The console's forms: assign, unassign and close a conversation, set an agent's status.

They go through the runtime's own setters, in the conversation's turn order, like the REST
API and the desk's buttons; an assignment made here reaches the customer and the agent the
same way. The guard has checked the session and the CSRF token before any of these runs.
"""

from __future__ import annotations

from typing import assert_never

from aiohttp import web

from core.agents import AgentStatus
from core.console.context import Context
from core.desk_actions import HandAssignment

PREFIX = "/console"


def routes(context: Context) -> list[web.RouteDef]:
    actions = Actions(context)
    return [
        web.post("/conversations/{conversation_id}/assign", actions.assign),
        web.post("/conversations/{conversation_id}/unassign", actions.unassign),
        web.post("/conversations/{conversation_id}/close", actions.close),
        web.post("/agents/{agent_id}/status", actions.set_status),
    ]


async def _field(request: web.Request, name: str) -> str | None:
    value = (await request.post()).get(name)
    return value if isinstance(value, str) and value else None


class Actions:
    def __init__(self, context: Context) -> None:
        self.c = context

    def _back_to(self, conversation_id: str) -> web.HTTPSeeOther:
        return web.HTTPSeeOther(f"{PREFIX}/conversations/{conversation_id}")

    async def assign(self, request: web.Request) -> web.StreamResponse:
        conversation_id = request.match_info["conversation_id"]
        agent_id = await _field(request, "agent")
        if agent_id is None:
            return self.c.refuse(request, 400, "choose an agent")
        outcome = await self.c.controls.assign_conversation(conversation_id, agent_id)
        match outcome:
            case HandAssignment.ASSIGNED:
                raise self._back_to(conversation_id)
            case HandAssignment.NO_CONVERSATION:
                return self.c.refuse(request, 404, "no such conversation")
            case HandAssignment.NO_AGENT:
                return self.c.refuse(request, 400, f"no agent {agent_id!r}")
            case HandAssignment.CLOSED:
                return self.c.refuse(request, 409, "the conversation is closed")
            case _:
                assert_never(outcome)

    async def unassign(self, request: web.Request) -> web.StreamResponse:
        conversation_id = request.match_info["conversation_id"]
        done = await self.c.controls.unassign_conversation(conversation_id)
        if done is None:
            return self.c.refuse(request, 404, "no such conversation")
        if not done:
            return self.c.refuse(request, 409, "the conversation is closed or has nobody assigned")
        raise self._back_to(conversation_id)

    async def close(self, request: web.Request) -> web.StreamResponse:
        conversation_id = request.match_info["conversation_id"]
        closed = await self.c.controls.close_conversation(conversation_id)
        if closed is None:
            return self.c.refuse(request, 404, "no such conversation")
        if not closed:
            return self.c.refuse(request, 409, "the conversation is closed already")
        raise self._back_to(conversation_id)

    async def set_status(self, request: web.Request) -> web.StreamResponse:
        given = await _field(request, "status")
        try:
            status = AgentStatus(given or "")
        except ValueError:
            allowed = ", ".join(s.value for s in AgentStatus)
            return self.c.refuse(request, 400, f"status must be one of {allowed}")
        agent = await self.c.controls.set_agent_status(request.match_info["agent_id"], status)
        if agent is None:
            return self.c.refuse(request, 404, "no such agent")
        raise web.HTTPSeeOther(f"{PREFIX}/queues")
