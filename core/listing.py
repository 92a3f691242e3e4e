"""Which conversations an operator asks to see, and what a store gives back.

The meaning of a filter lives here, once (`ConversationFilter.matches`); a store answers the
same question in its own query language, and the store contract tests hold it to this one.
Listings are newest first by (opened_at, id) and paged by an opaque cursor naming the last
conversation shown, so pages never skip or repeat one, even among equal times.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, assert_never

from pydantic import BaseModel, ConfigDict, Field

from core.agents import Agent
from core.errors import FrontdeskError
from core.history import HistoryEvent
from core.models import Contact, Conversation, ConversationStatus, TranscriptEntry

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class ListStatus(StrEnum):
    """What `status=` selects.

    - open: the conversation is open (whatever its run or assignee);
    - waiting: open, and its workflow run is paused on a step until something comes: the
      customer's answer, a timer (a wait step, a question's timeout), an agent (an assign
      step with a timeout) or an HTTP response;
    - queued: open, nobody assigned, and waiting in its team's queue (`queued_at` set);
    - closed: the conversation is closed.
    """

    OPEN = "open"
    WAITING = "waiting"
    QUEUED = "queued"
    CLOSED = "closed"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Position(_Frozen):
    """Where a listing stands: the last conversation shown, by its sort key."""

    opened_at: datetime
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.opened_at.astimezone(UTC).isoformat(), self.id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Position:
        """Raises ValueError for anything `encode` did not make."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            opened_at, conversation_id = json.loads(raw)
            moment = datetime.fromisoformat(opened_at)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ValueError("not a cursor this server gave") from exc
        if moment.tzinfo is None or not isinstance(conversation_id, str):
            raise ValueError("not a cursor this server gave")
        return cls(opened_at=moment, id=conversation_id)


class ConversationFilter(_Frozen):
    """Every field given must hold; `contact` is the contact's id on their channel (the
    webhook's `contact.id`, a Telegram chat id); `since` (inclusive) and `until` (exclusive)
    bound `opened_at`."""

    status: ListStatus | None = None
    team: str | None = None
    assignee: str | None = None
    channel: str | None = None
    contact: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, conversation: Conversation, contact: Contact) -> bool:
        checks = (
            self.status is None or has_status(conversation, self.status),
            self.team is None or conversation.team == self.team,
            self.assignee is None or conversation.assignee == self.assignee,
            self.channel is None or conversation.channel == self.channel,
            self.contact is None or contact.external_id == self.contact,
            self.since is None or conversation.opened_at >= self.since,
            self.until is None or conversation.opened_at < self.until,
        )
        return all(checks)


def has_status(conversation: Conversation, status: ListStatus) -> bool:
    is_open = conversation.status == ConversationStatus.OPEN
    match status:
        case ListStatus.OPEN:
            return is_open
        case ListStatus.WAITING:
            run = conversation.run
            return is_open and run is not None and run.waiting is not None
        case ListStatus.QUEUED:
            return is_open and conversation.assignee is None and conversation.queued_at is not None
        case ListStatus.CLOSED:
            return not is_open
        case _:
            assert_never(status)


class ListQuery(_Frozen):
    filter: ConversationFilter = Field(default_factory=ConversationFilter)
    after: Position | None = None  # list what comes after this one
    limit: int = Field(default=DEFAULT_LIMIT, ge=1)


class BadQuery(FrontdeskError):
    """A query parameter that cannot be understood: a 400 naming it."""

    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {reason}")


_TEXT_PARAMETERS = ("team", "assignee", "channel", "contact")
PARAMETERS = ("status", *_TEXT_PARAMETERS, "since", "until", "cursor", "limit")


def parse_query(params: Mapping[str, str]) -> ListQuery:
    """The listing asked for by URL query parameters (see `PARAMETERS`); BadQuery otherwise.
    An unknown parameter is refused too: a misspelt filter would otherwise list everything."""
    for name in params:
        if name not in PARAMETERS:
            raise BadQuery(name, f"unknown parameter; use {', '.join(PARAMETERS)}")
    found: dict[str, Any] = {}
    for name in _TEXT_PARAMETERS:
        if (value := params.get(name)) is not None:
            if not value:
                raise BadQuery(name, "must not be empty")
            found[name] = value
    if (status := params.get("status")) is not None:
        try:
            found["status"] = ListStatus(status)
        except ValueError:
            allowed = ", ".join(s.value for s in ListStatus)
            raise BadQuery("status", f"{status!r} is not one of {allowed}") from None
    for name in ("since", "until"):
        if (value := params.get(name)) is not None:
            found[name] = parse_time(name, value)
    if found.get("since") and found.get("until") and found["since"] >= found["until"]:
        raise BadQuery("until", "must be later than since")
    return ListQuery(
        filter=ConversationFilter(**found),
        after=_cursor(params.get("cursor")),
        limit=_limit(params.get("limit")),
    )


def parse_time(name: str, value: str) -> datetime:
    """ISO-8601; a time without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadQuery(name, f"{value!r} is not an ISO-8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _cursor(value: str | None) -> Position | None:
    if value is None:
        return None
    try:
        return Position.decode(value)
    except ValueError as exc:
        raise BadQuery("cursor", str(exc)) from None


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise BadQuery("limit", f"{value!r} is not a whole number from 1 to {MAX_LIMIT}")
    return int(value)


class ListedConversation(_Frozen):
    conversation: Conversation
    contact: Contact

    @property
    def position(self) -> Position:
        return Position(opened_at=self.conversation.opened_at, id=self.conversation.id)


class ConversationRecord(_Frozen):
    """One conversation as an operator reads it: `timer_due` is when the timer its run waits
    with (if any) is due."""

    conversation: Conversation
    contact: Contact
    transcript: list[TranscriptEntry]
    history: list[HistoryEvent]
    timer_due: datetime | None = None


class AgentLoad(_Frozen):
    agent: Agent
    teams: list[str]
    open_conversations: int
