"""The path a conversation took through its workflow, told from what is stored.

Steps run are not stored one by one (see `history`); the path is derived from the
transcript, whose workflow messages carry the id of the step that said them, and from the
history (assignments, queueing, closing). A step's place in the workflow (which branch case,
which failure or timeout list it sits in) says which way the run went to reach it. Steps that
say nothing (a branch test, an update) show only through where the steps after them sit;
HTTP requests are in the history with their outcome (`RequestCompleted`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, assert_never

from core.events import (
    ConversationAccepted,
    ConversationAssigned,
    ConversationClosed,
    ConversationOpened,
    ConversationQueued,
    ConversationUnassigned,
    RequestCompleted,
)
from core.graph import nested_lists
from core.history import HistoryEvent
from core.listing import ConversationRecord
from core.models import Direction, TranscriptEntry
from core.step_types import Step
from core.workflow import Workflow

StopKind = Literal["step", "answer", "agent", "note", "request", "event"]


@dataclass(frozen=True)
class Stop:
    at: datetime
    kind: StopKind
    text: str
    place: str = ""  # where the step sits: "has_email > if contact.email not_exists"


def places(workflow: Workflow) -> dict[str, str]:
    """Every step id of `workflow` → the ways taken from the top level to reach it."""
    found: dict[str, str] = {}

    def visit(steps: list[Step], way: str) -> None:
        for step in steps:
            found[step.id] = way
            for label, inner in nested_lists(step):
                visit(inner, f"{way} > {step.id}: {label}" if way else f"{step.id}: {label}")

    visit(workflow.steps, "")
    return found


def event_text(event: HistoryEvent) -> str:
    match event:
        case ConversationOpened():
            return "opened"
        case ConversationAssigned():
            how = ", ".join(p for p in (event.team, event.by.value, event.strategy) if p)
            was = f", from {event.previous}" if event.previous else ""
            return f"assigned to {event.agent_id} ({how}{was})"
        case ConversationAccepted():
            return f"accepted by {event.agent_id}"
        case ConversationUnassigned():
            return f"unassigned from {event.agent_id} ({event.by})"
        case ConversationQueued(agent=str(agent)):
            return f"queued for agent {agent}"
        case ConversationQueued():
            return f"queued for team {event.team}"
        case ConversationClosed():
            return f"closed ({event.by})"
        case RequestCompleted():
            status = f"HTTP {event.status}" if event.status is not None else "no status"
            why = f": {event.error}" if event.error and event.error != status else ""
            return (
                f"{event.step_id}: {event.method} {event.url} → {event.outcome.value}"
                f" ({status}{why})"
            )
        case _:
            assert_never(event)


def _entry_stop(entry: TranscriptEntry, where: dict[str, str]) -> Stop:
    if entry.direction == Direction.IN:
        said = entry.text if entry.text is not None else ""
        if entry.attachment is not None:
            said = f"{said} [{entry.attachment.kind}]".strip()
        chose = f" → option {entry.option_id}" if entry.option_id else ""
        return Stop(entry.at, "answer", f'customer: "{said}"{chose}')
    if entry.note:
        by = entry.author.name if entry.author is not None else "someone on the desk"
        return Stop(entry.at, "note", f'note by {by}: "{entry.text or ""}"')
    if entry.step_id is None:
        return Stop(entry.at, "agent", f'agent: "{entry.text or ""}"')
    said = " ".join((entry.text or "").split())
    said = said if len(said) <= 60 else said[:59] + "…"
    return Stop(entry.at, "step", f'{entry.step_id}: "{said}"', where.get(entry.step_id, ""))


def _event_stop(event: HistoryEvent, where: dict[str, str]) -> Stop:
    if isinstance(event, RequestCompleted):
        return Stop(event.at, "request", event_text(event), where.get(event.step_id, ""))
    return Stop(event.at, "event", event_text(event))


def _time(stop: Stop) -> datetime:
    return stop.at


def _request_place(stops: list[Stop], request: Stop) -> int:
    """Where a request goes among the stops: after those of earlier times, and after what the
    customer said at its time (which led to it) and the requests before it; so before what
    the workflow said next at its time (the request's result chose that). A step that spoke
    before the request in the very same turn is shown after it."""
    place = 0
    for n, stop in enumerate(stops):
        if stop.at > request.at:
            break
        if stop.at < request.at or stop.kind in ("answer", "request") or stop.text == "opened":
            place = n + 1
    return place


def trail(record: ConversationRecord, workflows: Iterable[Workflow]) -> list[Stop]:
    """The conversation's path, in time order; `workflows`: those it may have run (the one
    its run names is preferred when two share a step id)."""
    where: dict[str, str] = {}
    run = record.conversation.run
    for workflow in sorted(workflows, key=lambda w: run is not None and w.name == run.workflow):
        where.update(places(workflow))
    said = [_entry_stop(entry, where) for entry in record.transcript]
    happened = [_event_stop(event, where) for event in record.history]
    # Both are in the order they were stored; what one turn said and did shares its time, and
    # its messages come first (the opening excepted).
    stops = list(heapq.merge(said, (s for s in happened if s.kind != "request"), key=_time))
    stops.sort(key=lambda stop: stop.text != "opened")
    for request in (s for s in happened if s.kind == "request"):
        stops.insert(_request_place(stops, request), request)
    if run is not None and run.waiting is not None:
        step = run.waiting.step_id
        stops.append(
            Stop(
                stops[-1].at if stops else record.conversation.opened_at,
                "event",
                f"waiting at {step} for {run.waiting.kind}",
                where.get(step, ""),
            )
        )
    return stops


def lines(stops: Iterable[Stop]) -> list[str]:
    """The path as text lines, for the terminal."""
    return [f"{stop.text}" + (f"  [{stop.place}]" if stop.place else "") for stop in stops]
