"""What a turn did to a conversation, as domain events.

A turn collects its events while it runs; they are committed with it, and then read by
whoever reports on them (the log, the metrics, the conversation's history). They say what
happened, never how: each is a frozen model with a `kind` tag, so a stored one means the same
after an upgrade.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class AssignedBy(StrEnum):
    """How a conversation came to its agent."""

    WORKFLOW = "workflow"  # an assign step picked the agent
    QUEUE = "queue"  # an agent with a free slot took it from the team's queue
    HAND = "hand"  # a person chose the agent (API, console)
    REROUTE = "reroute"  # the assignee was away when the customer wrote
    REASSIGN = "reassign"  # an agent passed it on from the desk
    HAND_BACK = "hand_back"  # the assignee went away and it went to a teammate
    TAKE_OVER = "take_over"  # an agent accepted it from the team's channel
    ACCEPT_TIMEOUT = "accept_timeout"  # its agent neither accepted nor answered in time


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime


class ConversationOpened(_Event):
    kind: Literal["opened"] = "opened"


class StepRan(_Event):
    kind: Literal["step_ran"] = "step_ran"
    workflow: str
    step_id: str
    step_type: str


class ConversationAssigned(_Event):
    kind: Literal["assigned"] = "assigned"
    agent_id: str
    team: str | None = None
    by: AssignedBy
    # The assign step's strategy ("round_robin", "least_open") or "agent" for a named agent;
    # None when no strategy chose (by hand, from the queue, taken over).
    strategy: str | None = None
    previous: str | None = None  # the agent it was taken from


class RequestOutcome(StrEnum):
    SUCCESS = "success"  # a 2xx answer, mapped into the run's variables
    FAILURE = "failure"  # an error, a non-2xx status or an answer that did not map
    LOST = "lost"  # no result came back in time (the request may be made again)
    NOT_MADE = "not_made"  # the URL, a header or the body could not be rendered


class RequestCompleted(_Event):
    """An http_request step's result, as an operator may see it: the URL without its query
    (which may carry a key) and never the headers."""

    kind: Literal["request"] = "request"
    step_id: str
    method: str
    url: str  # scheme, host and path only
    status: int | None = None
    outcome: RequestOutcome
    error: str | None = None


class ConversationAccepted(_Event):
    kind: Literal["accepted"] = "accepted"
    agent_id: str


class ConversationUnassigned(_Event):
    kind: Literal["unassigned"] = "unassigned"
    agent_id: str
    by: str


class ConversationQueued(_Event):
    kind: Literal["queued"] = "queued"
    team: str  # "" when it waits for one agent outside any team
    agent: str | None = None  # the one agent it waits for; None: any of the team's


class ConversationClosed(_Event):
    kind: Literal["closed"] = "closed"
    by: str


DomainEvent = Annotated[
    ConversationOpened
    | StepRan
    | ConversationAssigned
    | ConversationAccepted
    | ConversationUnassigned
    | ConversationQueued
    | ConversationClosed
    | RequestCompleted,
    Field(discriminator="kind"),
]
