"""The REST API's read side: conversations listed and shown, team and agent queues, agents'
loads.

Under the same bearer token as the rest of /api/ (see `api.bearer_refusal`). Every answer
is a document of `views`, which the CLI prints too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from aiohttp import web
from pydantic import SecretStr

from core.addresses import DeskAddresses
from core.api import bearer_refusal
from core.bodies import error_response
from core.listing import BadQuery, ConversationRecord, ListQuery, parse_query
from core.ports import Clock, Records
from core.views import JSON, agent, detail, queued, summary

# A shortened id is looked up when it has at least this many characters (ids have 32).
MIN_PREFIX = 6


async def conversations_page(records: Records, query: ListQuery) -> JSON:
    """A page of the listing, with the cursor of the next page (None on the last)."""
    # One more than asked: whether there is a next page, without counting.
    found = await records.list_conversations(query.model_copy(update={"limit": query.limit + 1}))
    page = found[: query.limit]
    more = len(found) > query.limit
    return {
        "conversations": [summary(listed) for listed in page],
        "next": page[-1].position.encode() if more else None,
    }


async def find_record(records: Records, conversation_id: str) -> ConversationRecord | None:
    """The conversation with this id, or else the only one whose id starts with it."""
    record = await records.conversation_record(conversation_id)
    if record is None and len(conversation_id) >= MIN_PREFIX:
        starting = await records.conversation_ids(conversation_id, 2)
        if len(starting) == 1:
            record = await records.conversation_record(starting[0])
    return record


async def queue_of(
    records: Records, owner: Literal["team", "agent"], name: str, clock: Clock
) -> JSON | None:
    """What waits for the team or the agent `name`, oldest first; None if there is none."""
    lookup = records.team_queue if owner == "team" else records.agent_queue
    waiting = await lookup(name)
    if waiting is None:
        return None
    now = clock.now()
    return {owner: name, "conversations": [queued(listed, now) for listed in waiting]}


async def agent_queues_of(records: Records, clock: Clock) -> list[JSON]:
    """What waits for each agent alone, oldest first, for the agents somebody waits for."""
    now = clock.now()
    return [
        {"agent": agent_id, "conversations": [queued(listed, now) for listed in waiting]}
        for agent_id, waiting in (await records.agent_queues()).items()
    ]


class RecordsApi:
    def __init__(
        self,
        records: Records | None,
        token: SecretStr | None,
        clock: Clock,
        addresses: Callable[[], DeskAddresses] = DeskAddresses,
    ) -> None:
        self._records = records
        self._token = token
        self._clock = clock
        self._addresses = addresses  # the agents' on the desk channels, as the config says now

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/conversations", self.list_conversations),
            web.get("/api/conversations/{conversation_id}", self.show_conversation),
            web.get("/api/teams/{team}/queue", self.team_queue),
            web.get("/api/agents", self.list_agents),
            web.get("/api/agents/queues", self.agent_queues),
            web.get("/api/agents/{agent}/queue", self.agent_queue),
        ]

    def _allowed(self, request: web.Request) -> Records | web.Response:
        if (refused := bearer_refusal(self._token, request)) is not None:
            return refused
        if self._records is None:
            return error_response(503, "this store cannot list what it holds")
        return self._records

    async def list_conversations(self, request: web.Request) -> web.Response:
        records = self._allowed(request)
        if isinstance(records, web.Response):
            return records
        repeated = [name for name in set(request.query) if len(request.query.getall(name)) > 1]
        if repeated:
            return error_response(400, f"{repeated[0]}: give it once")
        try:
            query = parse_query(request.query)
        except BadQuery as exc:
            return error_response(400, str(exc))
        return web.json_response(await conversations_page(records, query))

    async def show_conversation(self, request: web.Request) -> web.Response:
        records = self._allowed(request)
        if isinstance(records, web.Response):
            return records
        record = await find_record(records, request.match_info["conversation_id"])
        if record is None:
            return error_response(404, "no such conversation")
        return web.json_response(detail(record))

    async def team_queue(self, request: web.Request) -> web.Response:
        return await self._queue(request, "team", request.match_info["team"])

    async def agent_queue(self, request: web.Request) -> web.Response:
        return await self._queue(request, "agent", request.match_info["agent"])

    async def agent_queues(self, request: web.Request) -> web.Response:
        records = self._allowed(request)
        if isinstance(records, web.Response):
            return records
        return web.json_response(await agent_queues_of(records, self._clock))

    async def _queue(
        self, request: web.Request, owner: Literal["team", "agent"], name: str
    ) -> web.Response:
        records = self._allowed(request)
        if isinstance(records, web.Response):
            return records
        found = await queue_of(records, owner, name, self._clock)
        if found is None:
            return error_response(404, f"no {owner} {name!r}")
        return web.json_response(found)

    async def list_agents(self, request: web.Request) -> web.Response:
        records = self._allowed(request)
        if isinstance(records, web.Response):
            return records
        addresses = self._addresses()
        loads = await records.agent_loads()
        return web.json_response([agent(load, addresses) for load in loads])
