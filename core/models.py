"""The domain: what flows between adapters, the engine and the stores.

Everything here is a pydantic model so that it can cross a layer (and a process, through the
store) without untyped dicts. Models that describe a fact are frozen; the few that the engine
edits while it runs a step (contact, conversation, run) are not.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.agents import Agent
from core.keys import ConversationKey
from core.values import Frozen, Identifier, Text, storable_json


class ConversationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Option(Frozen):
    """One choice offered to the customer: a stable id and the label they see."""

    id: str
    label: str


# What an ask_question step asks for: the kind of answer it reads.
AnswerType = Literal["text", "multiple_choice", "email", "phone", "number", "date"]


class ContactProfile(Frozen):
    """What a channel knows about the sender of an inbound event."""

    external_id: Identifier
    name: Text | None = None
    username: Text | None = None
    language: Text | None = None
    email: Text | None = None
    phone: Text | None = None


class Attachment(Frozen):
    """What a customer sent beside text, described: its kind as the platform names it
    ("photo", "location", "file"...), the platform's file id or a URL to fetch it from, its
    file name, and coordinates for a location or venue."""

    kind: Text
    file_id: Text | None = None
    url: Text | None = None
    name: Text | None = None
    latitude: float | None = None
    longitude: float | None = None


class DeskActionKind(StrEnum):
    ACCEPT = "accept"  # take the conversation (first one wins)
    REASSIGN = "reassign"  # to the team's next available agent
    CLOSE = "close"
    REPLY = "reply"  # a message in the notice's thread: to the customer, or a note
    HAND_BACK = "hand_back"  # the agent goes away: back to the team


class DeskAction(Frozen):
    """What someone did on the agents' desk about one conversation.

    It travels through the inbox like a customer's message, so that it is stored before the
    platform is answered, processed once, and in turn with the conversation's other events:
    `conversation_key` is the conversation's key (stored as `customer_key`). `handoff_id`
    names the notice acted on, so a button on an out-of-date notice does nothing. `actor` is
    the platform's user id and `place` where they acted, to tell them when their action did
    nothing.
    """

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    kind: DeskActionKind
    conversation_id: Text
    conversation_key: ConversationKey = Field(alias="customer_key")
    agent_id: Text | None = None  # None: not one of the configured agents
    actor: Text
    place: Text | None = None
    handoff_id: Text | None = None


class Inbound(Frozen):
    """A normalised event from a channel: a message, the choice of an option, or an agent's
    action on the desk (`action`; the text is then the agent's reply).

    `event_id` is the platform's identity of the event; (channel, event_id) is the
    idempotency key. `raw` keeps the platform payload aside for the transcript and debugging.
    """

    channel: Text
    event_id: Identifier
    contact: ContactProfile
    text: Text | None = None
    option_id: Text | None = None
    attachment: Attachment | None = None
    action: DeskAction | None = None
    raw: dict[str, Any] = Field(default_factory=dict)
    # A phone number the sender shared as their own (Telegram's "share my contact"): it
    # answers a phone question as a typed number would.
    shared_phone: str | None = None

    @field_validator("attachment", mode="before")
    @classmethod
    def _kind_alone(cls, value: Any) -> Any:
        # Events stored by earlier versions name only the attachment's kind.
        return Attachment(kind=value) if isinstance(value, str) else value

    @field_validator("raw")
    @classmethod
    def _raw_storable(cls, raw: dict[str, Any]) -> dict[str, Any]:
        storable_json(raw)
        return raw

    @property
    def conversation_key(self) -> ConversationKey:
        """The key its conversation's events run under, one at a time."""
        if self.action is not None:
            return self.action.conversation_key
        return ConversationKey(self.channel, self.contact.external_id)


class StoredInbound(Frozen):
    """An inbound event as the inbox holds it until the engine has processed it."""

    id: int
    received_at: datetime
    event: Inbound


class ParkedInbound(Frozen):
    """An event set aside because processing it kept failing, with the last error; it waits
    for someone to fix the cause and retry it."""

    id: int
    received_at: datetime
    parked_at: datetime
    error: str
    event: Inbound


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    channel: str
    external_id: str
    name: str | None = None
    username: str | None = None
    language: str | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    created_at: datetime
    # Since when the platform refuses messages to them (they blocked the bot); cleared as
    # soon as they write again.
    unreachable_since: datetime | None = None
    # The profile fields (name, language, email, phone, ...) a workflow saved, by an answer,
    # update_contact or a CRM lookup: a channel's later events do not overwrite them.
    workflow_fields: list[str] = Field(default_factory=list)


class Run(BaseModel):
    """Where a conversation is in a workflow.

    `pc` indexes the compiled program of the exact workflow version (`workflow_hash`) that the
    run started on, so publishing a new version never moves a conversation mid-run.
    """

    model_config = ConfigDict(extra="forbid")

    workflow: str
    workflow_hash: str
    trigger: str
    pc: int = 0
    vars: dict[str, Any] = Field(default_factory=dict)
    jumps: dict[str, int] = Field(default_factory=dict)
    waiting: Waiting | None = None
    last_answer: Any = None


class HttpCall(Frozen):
    """An HTTP request a run has decided to make, made after the decision is committed."""

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    request_id: str
    conversation_id: str
    conversation_key: ConversationKey = Field(alias="key")  # stored in the run as `key`
    method: str
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None  # JSON text
    timeout_seconds: float
    max_response_bytes: int


class HttpResult(Frozen):
    request_id: str
    conversation_id: str
    conversation_key: ConversationKey
    status: int | None = None  # None: no answer (timeout, connection refused)
    body: str | None = None  # the response text, when it fit the size limit
    error: str | None = None


# What a run waits for: the customer's answer, a timer (a wait step), an agent, a response.
WaitingKind = Literal["answer", "timer", "assignment", "http"]


class Waiting(BaseModel):
    """What a paused run waits for: an answer, a timer, an agent, or an HTTP response."""

    model_config = ConfigDict(extra="forbid")

    kind: WaitingKind
    step_id: str
    attempts: int = 0
    timer_id: str | None = None
    options: list[Option] = Field(default_factory=list)
    request: HttpCall | None = None


class Handoff(BaseModel):
    """The conversation's current handoff notice: whom it went to, and who accepted it."""

    model_config = ConfigDict(extra="forbid")

    id: str  # the notice's message id
    agent_id: str
    at: datetime
    answers: dict[str, Any] = Field(default_factory=dict)  # what the workflow had collected
    accepted_by: str | None = None
    accepted_at: datetime | None = None
    # Not accepted nor answered within this many seconds: the team's next online agent gets
    # the conversation (`accept_timer` is the timer armed for it).
    accept_within: int | None = None
    accept_timer: str | None = None


class Conversation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    contact_id: str
    channel: str
    status: ConversationStatus = ConversationStatus.OPEN
    team: str | None = None
    assignee: str | None = None
    opened_at: datetime
    closed_at: datetime | None = None
    assigned_at: datetime | None = None
    queued_at: datetime | None = None  # waiting for an agent of `team` since
    # Queued by a step with `max_open`: only an agent with fewer open conversations takes it.
    queue_limit: int | None = None
    # Queued by an assign step naming one agent: only that agent takes it from the queue.
    queued_for: str | None = None
    handoff: Handoff | None = None
    run: Run | None = None
    seq: int = 0
    version: int = 0
    # The assign step's `assigned_message` (a template): said to the customer whenever an
    # agent takes the conversation, at once or later (from the queue, on a reassignment).
    assigned_message: str | None = None


class Author(Frozen):
    """Who wrote a message the workflow did not: an agent, by id and by the name they had."""

    kind: Literal["agent"] = "agent"
    id: str
    name: str


class TranscriptEntry(Frozen):
    conversation_id: str
    direction: Direction
    text: str | None
    options: list[Option] = Field(default_factory=list)
    option_id: str | None = None
    message_id: str
    at: datetime
    step_id: str | None = None
    attachment: Attachment | None = None
    author: Author | None = None  # an outgoing message someone wrote (None: the workflow)
    # An agent's internal note on the desk's thread (direction OUT): kept for the people who
    # read the conversation, never sent to the customer.
    note: bool = False


class NoticeKind(StrEnum):
    HANDOFF = "handoff"  # assigned to the agent: the notice, with Accept, Reassign and Close
    MESSAGE = "message"  # the customer wrote: into the handoff notice's thread
    OUTCOME = "outcome"  # someone acted on the notice: shown on it, in place
    REFUSED = "refused"  # an action did nothing: told only to whoever tried it
    UNDELIVERED = "undelivered"  # an agent's reply did not reach the customer: into the thread


class NoticeTarget(Frozen):
    """Where on the desk a handoff notice goes: a person (direct message) or a channel."""

    kind: Literal["user", "channel"]
    id: str


class ContactCard(Frozen):
    """The contact as an agent sees them in a notice."""

    name: str | None = None
    username: str | None = None
    channel: str
    channel_type: str
    language: str | None = None
    email: str | None = None
    phone: str | None = None
    tags: list[str] = Field(default_factory=list)


class RecentMessage(Frozen):
    direction: Direction
    text: str
    at: datetime
    author: str | None = None  # the name of whoever wrote an outgoing one (None: the workflow)


class Notice(Frozen):
    """A message for the agents' desk about one conversation (see NoticeKind).

    HANDOFF goes to `targets`; MESSAGE, OUTCOME and UNDELIVERED go to the threads of the
    handoff notice `handoff_id`; REFUSED goes to `actor` only, at `place`.
    """

    kind: NoticeKind
    conversation_id: str
    handoff_id: str
    agent: Agent | None = None  # the assignee, when there is one
    agent_address: str | None = None  # theirs on the desk channel (to mention them)
    team: str | None = None
    targets: list[NoticeTarget] = Field(default_factory=list)
    contact: ContactCard | None = None
    answers: dict[str, Any] = Field(default_factory=dict)
    recent: list[RecentMessage] = Field(default_factory=list)
    reason: str | None = None  # why it was assigned ("by workflow support", "reassigned")
    text: str | None = None  # MESSAGE: the customer's words; others: the line to show
    actor: str | None = None
    place: str | None = None
    # What can still be done from the notice (its buttons): none once it is out of date.
    actions: list[DeskActionKind] = Field(default_factory=list)
    at: datetime


# The end of a conversation's desk lane (see `Outbound.lane`), by which a store tells the two
# kinds of lane apart when it counts what is pending.
DESK_LANE = "#desk"


class Outbound(Frozen):
    """A message for a contact, delivered by the outbox through the conversation's channel;
    or, with `notice`, a message for the agents' desk, delivered through the desk's channel.

    `message_id` is stable across retries and restarts so the receiver can drop a repeat.
    """

    message_id: str
    conversation_id: str
    channel: str
    recipient: str
    text: str
    options: list[Option] = Field(default_factory=list)
    language: str | None = None
    notice: Notice | None = None
    author: Author | None = None  # who wrote it, when not the workflow (an agent's reply)
    # The kind of answer the message asks for, when it asks a question: a channel may offer
    # a way to give it (Telegram's button that shares the customer's phone number).
    answer: AnswerType | None = None

    @property
    def lane(self) -> str:
        """Messages of one lane are delivered strictly in order. The desk has a lane of its
        own, so a slow desk never holds up what the customer is told."""
        return self.conversation_id if self.notice is None else self.conversation_id + DESK_LANE


class OutboxItem(Frozen):
    """An outbound message as the outbox holds it, with its delivery bookkeeping."""

    id: int
    message: Outbound
    attempts: int
    created_at: datetime


TimerPurpose = Literal["run", "accept"]


class Timer(Frozen):
    id: str
    conversation_id: str
    conversation_key: ConversationKey
    due_at: datetime
    # The timer stands for work in flight (an HTTP request under way): the process that
    # takes over from a stopped one makes it due at once (see `Store.take_back`).
    lease: bool = False
    # What the timer is for: "run", the workflow run's wait (a question's, a wait step's, an
    # assignment's, an HTTP request's); "accept", the handoff's accept timeout, which runs
    # whatever the run waits on.
    purpose: TimerPurpose = "run"


class DeskThread(Frozen):
    """A handoff notice as posted on the desk: the conversation's agents talk in its thread.

    `place` is the platform's conversation (a channel or a direct message) and `ts` the notice's
    message there; together they name the thread.
    """

    desk: str  # the desk channel's slug
    place: str
    ts: str
    conversation_id: str
    handoff_id: str
    agent_id: str | None = None


Run.model_rebuild()
Notice.model_rebuild()
