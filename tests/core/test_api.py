"""The REST API's handling of request bodies: too large, not JSON, or sent in pieces."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import test_utils, web
from pydantic import SecretStr

from core.agents import Agent, AgentStatus
from core.api import BODY_LIMIT, AgentApi
from core.desk_actions import HandAssignment

TOKEN = "t" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Calls:
    def __init__(self) -> None:
        self.statuses: list[tuple[str, AgentStatus]] = []
        self.assigned: list[tuple[str, str]] = []

    async def set_status(self, agent_id: str, status: AgentStatus) -> Agent | None:
        self.statuses.append((agent_id, status))
        return Agent(id=agent_id, name=agent_id, status=status)

    async def assign(self, conversation_id: str, agent_id: str) -> HandAssignment:
        self.assigned.append((conversation_id, agent_id))
        return HandAssignment.ASSIGNED


async def serve(calls: Calls) -> test_utils.TestClient[web.Request, web.Application]:
    api = AgentApi(
        SecretStr(TOKEN),
        calls.set_status,
        assign=calls.assign,
    )
    app = web.Application()
    app.add_routes(api.routes())
    client = test_utils.TestClient(test_utils.TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_a_body_over_the_limit_is_refused_unread() -> None:
    calls = Calls()
    client = await serve(calls)
    try:
        too_big = b'{"status": "away", "pad": "' + b"x" * BODY_LIMIT + b'"}'
        response = await client.put("/api/agents/a1/status", data=too_big, headers=AUTH)
        assert response.status == 413
        assert "error" in await response.json()

        async def chunked() -> AsyncIterator[bytes]:  # no Content-Length to go by
            yield b'{"agent": "a1", "pad": "'
            yield b"x" * BODY_LIMIT
            yield b'"}'

        response = await client.post("/api/conversations/v1/assign", data=chunked(), headers=AUTH)
        assert response.status == 413
        assert calls.statuses == []
        assert calls.assigned == []
    finally:
        await client.close()


async def test_a_body_that_is_not_a_json_object_is_a_400() -> None:
    calls = Calls()
    client = await serve(calls)
    try:
        for body in (b"[]", b'"away"', b"\xff", b""):
            response = await client.put("/api/agents/a1/status", data=body, headers=AUTH)
            assert response.status == 400, body
            response = await client.post("/api/conversations/v1/assign", data=body, headers=AUTH)
            assert response.status == 400, body
        assert calls.statuses == []
        assert calls.assigned == []
    finally:
        await client.close()


async def test_a_body_that_comes_in_pieces_is_read_whole() -> None:
    calls = Calls()
    client = await serve(calls)
    try:

        async def slowly(*pieces: bytes) -> AsyncIterator[bytes]:
            for piece in pieces:
                yield piece
                await asyncio.sleep(0.05)  # each piece reaches the server on its own

        response = await client.put(
            "/api/agents/a1/status", data=slowly(b'{"status":', b' "away"}'), headers=AUTH
        )
        assert response.status == 200
        response = await client.post(
            "/api/conversations/v1/assign", data=slowly(b'{"agent":', b' "a2"}'), headers=AUTH
        )
        assert response.status == 200
        assert calls.statuses == [("a1", AgentStatus.AWAY)]
        assert calls.assigned == [("v1", "a2")]
    finally:
        await client.close()
