"""The console's pages: conversations (list and one), queues and agents, workflows drawn,
schedules drawn. Each page's main block is also served alone (a fragment) for live updates."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from aiohttp import web
from markupsafe import Markup

from core.agents import AgentStatus
from core.console.context import Context
from core.console.week import draw_week
from core.graph import draw
from core.listing import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BadQuery,
    ConversationFilter,
    ListQuery,
    ListStatus,
    parse_query,
)
from core.models import ConversationStatus, Direction, TranscriptEntry
from core.ports import Records
from core.records_api import find_record
from core.trail import event_text, trail

# At most this many waiting conversations are counted for the workflow pictures.
COUNT_PAGES = 40


def routes(context: Context) -> list[web.RouteDef]:
    pages = Pages(context)
    return [
        web.get("/conversations", pages.conversations),
        web.get("/conversations/{conversation_id}", pages.conversation),
        web.get("/queues", pages.queues),
        web.get("/workflows", pages.workflows),
        web.get("/schedules", pages.schedules),
    ]


def line_kind(entry: TranscriptEntry) -> str:
    """Who a transcript line is from: the customer, the workflow (bot), an agent, or an agent's
    internal note (never sent to the customer)."""
    if entry.direction == Direction.IN:
        return "customer"
    if entry.note:
        return "note"
    return "bot" if entry.step_id is not None else "agent"


def waited(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    seconds = max(int((now - since).total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"


class Pages:
    def __init__(self, context: Context) -> None:
        self.c = context

    def _records(self, request: web.Request) -> Records | web.Response:
        if self.c.records is None:
            return self.c.refuse(request, 503, "this store cannot list what it holds")
        return self.c.records

    async def conversations(self, request: web.Request) -> web.StreamResponse:
        records = self._records(request)
        if isinstance(records, web.Response):
            return records
        # An empty field of the filter form means "any".
        given = {name: value for name, value in request.query.items() if value}
        try:
            query = parse_query(given)
        except BadQuery as exc:
            return self.c.refuse(request, 400, str(exc))
        found = await records.list_conversations(
            query.model_copy(update={"limit": query.limit + 1})
        )
        page = found[: query.limit]
        following = None
        if len(found) > query.limit:
            following = {**given, "cursor": page[-1].position.encode()}
        config = self.c.config
        return self.c.render(
            request,
            "conversations.html",
            listed=page,
            given=given,
            following=following,
            statuses=[s.value for s in ListStatus],
            teams=sorted(config.teams),
            agents=config.agents,
            channels=sorted(config.channels),
            limits=(DEFAULT_LIMIT, MAX_LIMIT),
        )

    async def conversation(self, request: web.Request) -> web.StreamResponse:
        records = self._records(request)
        if isinstance(records, web.Response):
            return records
        record = await find_record(records, request.match_info["conversation_id"])
        if record is None:
            return self.c.refuse(request, 404, "no such conversation")
        conversation = record.conversation
        return self.c.render(
            request,
            "conversation.html",
            record=record,
            conversation=conversation,
            is_open=conversation.status == ConversationStatus.OPEN,
            lines=[(line_kind(entry), entry) for entry in record.transcript],
            path=trail(record, self.c.config.workflows),
            history=[(event.at, event_text(event)) for event in record.history],
            agents=self.c.config.agents,
        )

    async def queues(self, request: web.Request) -> web.StreamResponse:
        records = self._records(request)
        if isinstance(records, web.Response):
            return records
        now = self.c.clock.now()
        queues = []
        for team in sorted(self.c.config.teams):
            waiting = await records.team_queue(team) or []
            rows = [(listed, waited(listed.conversation.queued_at, now)) for listed in waiting]
            queues.append((team, rows))
        loads = await records.agent_loads()
        # Conversations waiting for one agent alone (`assign agent:` while away), shown under
        # that agent's name whether or not they have a team; agents nobody waits for are left out.
        own = await records.agent_queues()
        own_queues = [
            (
                load.agent,
                [
                    (listed, waited(listed.conversation.queued_at, now))
                    for listed in own[load.agent.id]
                ],
            )
            for load in loads
            if load.agent.id in own
        ]
        return self.c.render(
            request,
            "queues.html",
            queues=queues,
            own_queues=own_queues,
            loads=loads,
            statuses=[s.value for s in AgentStatus],
        )

    async def workflows(self, request: web.Request) -> web.StreamResponse:
        records = self._records(request)
        if isinstance(records, web.Response):
            return records
        counts = await waiting_counts(records)
        drawn = [
            (workflow, Markup(draw(workflow, counts.get(workflow.name, {}))))
            for workflow in self.c.config.workflows
        ]
        return self.c.render(request, "workflows.html", drawn=drawn)

    async def schedules(self, request: web.Request) -> web.StreamResponse:
        now = self.c.clock.now()
        drawn = [
            (name, schedule, schedule.is_open(now), Markup(draw_week(schedule, now)))
            for name, schedule in sorted(self.c.config.schedules.items())
        ]
        return self.c.render(request, "schedules.html", drawn=drawn)


async def waiting_counts(records: Records) -> dict[str, Counter[str]]:
    """Workflow name → step id → open conversations whose run waits at that step."""
    counts: dict[str, Counter[str]] = {}
    query = ListQuery(filter=ConversationFilter(status=ListStatus.WAITING), limit=MAX_LIMIT)
    for _ in range(COUNT_PAGES):
        found = await records.list_conversations(query)
        for listed in found:
            run = listed.conversation.run
            if run is not None and run.waiting is not None:
                counts.setdefault(run.workflow, Counter())[run.waiting.step_id] += 1
        if len(found) < MAX_LIMIT:
            break
        query = query.model_copy(update={"after": found[-1].position})
    return counts
