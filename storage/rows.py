"""Rows as every store maps them: the columns of contacts, conversations, transcript entries,
agents and desk threads, and the model each row stands for (those of the inbox, timers,
outbox and workload too).

Plumbing only, never a rule. The backends differ in how they hold a time (SQLite: integer
microseconds; PostgreSQL: timestamptz), so each mapping takes the backend's `Times`; JSON
columns are written and read by pydantic, so that nested models keep their types. The SQL
stays with each backend (its placeholders and locks differ).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import TypeAdapter

from core.agents import Agent, AgentStatus
from core.keys import ConversationKey
from core.listing import ListedConversation
from core.models import (
    Attachment,
    Author,
    Contact,
    Conversation,
    ConversationStatus,
    DeskThread,
    Direction,
    Handoff,
    Inbound,
    Option,
    Outbound,
    OutboxItem,
    ParkedInbound,
    Run,
    StoredInbound,
    Timer,
    TranscriptEntry,
)
from core.ports import OutboxRecord, Waiting, Workload

OPTIONS = TypeAdapter(list[Option])
FIELDS = TypeAdapter(dict[str, Any])
TAGS = TypeAdapter(list[str])


class Row(Protocol):
    """A fetched row (sqlite3.Row, asyncpg.Record, a dict), read by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True)
class Times:
    """How a backend holds a time: `column` takes a timezone-aware time (and refuses a naive
    one), `moment` gives it back in UTC, equal to what went in."""

    column: Callable[[datetime], Any]
    moment: Callable[[Any], datetime]

    def column_or_none(self, moment: datetime | None) -> Any:
        return None if moment is None else self.column(moment)

    def moment_or_none(self, value: Any) -> datetime | None:
        return None if value is None else self.moment(value)


def in_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the store takes timezone-aware times")
    return moment.astimezone(UTC)


def dump(adapter: TypeAdapter[Any], value: Any) -> str:
    return adapter.dump_json(value).decode()


def columns(names: tuple[str, ...], table: str = "", prefix: str = "") -> str:
    """`id, name, ...`; with a table alias `v.id, ...`; with a prefix `v.id AS v_id, ...`
    (a joined row whose tables share column names)."""
    qualified = [f"{table}.{name}" if table else name for name in names]
    if prefix:
        qualified = [f"{q} AS {prefix}{name}" for q, name in zip(qualified, names, strict=True)]
    return ", ".join(qualified)


# contacts ---------------------------------------------------------------------------------

CONTACT_COLUMNS = (
    "id", "channel", "external_id", "name", "username", "language", "email", "phone",
    "country", "fields", "tags", "created_at", "unreachable_since", "workflow_fields",
)  # fmt: skip


def contact_values(contact: Contact, times: Times) -> tuple[Any, ...]:
    """In `CONTACT_COLUMNS` order."""
    return (
        contact.id,
        contact.channel,
        contact.external_id,
        contact.name,
        contact.username,
        contact.language,
        contact.email,
        contact.phone,
        contact.country,
        dump(FIELDS, contact.fields),
        dump(TAGS, contact.tags),
        times.column(contact.created_at),
        times.column_or_none(contact.unreachable_since),
        dump(TAGS, contact.workflow_fields) if contact.workflow_fields else None,
    )


def contact_from(row: Row, times: Times, prefix: str = "") -> Contact:
    return Contact(
        id=row[f"{prefix}id"],
        channel=row[f"{prefix}channel"],
        external_id=row[f"{prefix}external_id"],
        name=row[f"{prefix}name"],
        username=row[f"{prefix}username"],
        language=row[f"{prefix}language"],
        email=row[f"{prefix}email"],
        phone=row[f"{prefix}phone"],
        country=row[f"{prefix}country"],
        fields=FIELDS.validate_json(row[f"{prefix}fields"]),
        tags=TAGS.validate_json(row[f"{prefix}tags"]),
        created_at=times.moment(row[f"{prefix}created_at"]),
        unreachable_since=times.moment_or_none(row[f"{prefix}unreachable_since"]),
        workflow_fields=TAGS.validate_json(row[f"{prefix}workflow_fields"] or "[]"),
    )


# conversations ----------------------------------------------------------------------------

CONVERSATION_COLUMNS = (
    "id", "contact_id", "channel", "status", "team", "assignee", "opened_at", "closed_at",
    "assigned_at", "queued_at", "queue_limit", "handoff", "run", "seq", "version",
    "assigned_message", "queued_for",
)  # fmt: skip


def conversation_values(conversation: Conversation, times: Times) -> dict[str, Any]:
    """By column. A conversation is saved with the `version` its writer incremented (version 1
    is inserted, a later one updates the row stored at version - 1)."""
    if conversation.version < 1:
        raise ValueError(
            f"conversation {conversation.id}: increment version before saving "
            f"(got {conversation.version})"
        )
    return {
        "id": conversation.id,
        "contact_id": conversation.contact_id,
        "channel": conversation.channel,
        "status": conversation.status.value,
        "team": conversation.team,
        "assignee": conversation.assignee,
        "opened_at": times.column(conversation.opened_at),
        "closed_at": times.column_or_none(conversation.closed_at),
        "assigned_at": times.column_or_none(conversation.assigned_at),
        "queued_at": times.column_or_none(conversation.queued_at),
        "queue_limit": conversation.queue_limit,
        "handoff": _handoff_json(conversation.handoff),
        "run": None if conversation.run is None else conversation.run.model_dump_json(),
        "seq": conversation.seq,
        "version": conversation.version,
        "assigned_message": conversation.assigned_message,
        "queued_for": conversation.queued_for,
    }


def _handoff_json(handoff: Handoff | None) -> str | None:
    """The handoff as JSON, its times in UTC like every other time a store gives back (a naive
    one is refused, as in a time column)."""
    if handoff is None:
        return None
    accepted_at = None if handoff.accepted_at is None else in_utc(handoff.accepted_at)
    in_utc_times = handoff.model_copy(update={"at": in_utc(handoff.at), "accepted_at": accepted_at})
    return in_utc_times.model_dump_json()


def conversation_from(row: Row, times: Times, prefix: str = "") -> Conversation:
    handoff, run = row[f"{prefix}handoff"], row[f"{prefix}run"]
    return Conversation(
        id=row[f"{prefix}id"],
        contact_id=row[f"{prefix}contact_id"],
        channel=row[f"{prefix}channel"],
        status=ConversationStatus(row[f"{prefix}status"]),
        team=row[f"{prefix}team"],
        assignee=row[f"{prefix}assignee"],
        opened_at=times.moment(row[f"{prefix}opened_at"]),
        closed_at=times.moment_or_none(row[f"{prefix}closed_at"]),
        assigned_at=times.moment_or_none(row[f"{prefix}assigned_at"]),
        queued_at=times.moment_or_none(row[f"{prefix}queued_at"]),
        queue_limit=row[f"{prefix}queue_limit"],
        handoff=None if handoff is None else Handoff.model_validate_json(handoff),
        run=None if run is None else Run.model_validate_json(run),
        seq=row[f"{prefix}seq"],
        version=row[f"{prefix}version"],
        assigned_message=row[f"{prefix}assigned_message"],
        queued_for=row[f"{prefix}queued_for"],
    )


# transcript -------------------------------------------------------------------------------

ENTRY_COLUMNS = (
    "conversation_id", "direction", "text", "options", "option_id", "message_id", "at",
    "step_id", "attachment", "author", "note",
)  # fmt: skip


def entry_values(entry: TranscriptEntry, times: Times) -> tuple[Any, ...]:
    """In `ENTRY_COLUMNS` order."""
    return (
        entry.conversation_id,
        entry.direction.value,
        entry.text,
        dump(OPTIONS, entry.options),
        entry.option_id,
        entry.message_id,
        times.column(entry.at),
        entry.step_id,
        None if entry.attachment is None else entry.attachment.model_dump_json(),
        None if entry.author is None else entry.author.model_dump_json(),
        entry.note,
    )


def entry_from(row: Row, times: Times) -> TranscriptEntry:
    attachment, author = row["attachment"], row["author"]
    return TranscriptEntry(
        conversation_id=row["conversation_id"],
        direction=Direction(row["direction"]),
        text=row["text"],
        options=OPTIONS.validate_json(row["options"]),
        option_id=row["option_id"],
        message_id=row["message_id"],
        at=times.moment(row["at"]),
        step_id=row["step_id"],
        attachment=None if attachment is None else Attachment.model_validate_json(attachment),
        author=None if author is None else Author.model_validate_json(author),
        note=bool(row["note"]),
    )


# agents and the desk ----------------------------------------------------------------------

AGENT_COLUMNS = ("id", "name", "status", "capacity")


def agent_values(agent: Agent) -> tuple[Any, ...]:
    """In `AGENT_COLUMNS` order."""
    return (agent.id, agent.name, agent.status.value, agent.capacity)


def agent_from(row: Row) -> Agent:
    return Agent(
        id=row["id"],
        name=row["name"],
        status=AgentStatus(row["status"]),
        capacity=row["capacity"],
    )


THREAD_COLUMNS = ("desk", "place", "ts", "conversation_id", "handoff_id", "agent_id")


def thread_values(thread: DeskThread) -> tuple[str, str, str, str, str, str | None]:
    """In `THREAD_COLUMNS` order."""
    return (
        thread.desk,
        thread.place,
        thread.ts,
        thread.conversation_id,
        thread.handoff_id,
        thread.agent_id,
    )


def thread_from(row: Row) -> DeskThread:
    return DeskThread(
        desk=row["desk"],
        place=row["place"],
        ts=row["ts"],
        conversation_id=row["conversation_id"],
        handoff_id=row["handoff_id"],
        agent_id=row["agent_id"],
    )


# inbox, timers, outbox and the workload ---------------------------------------------------


def stored_inbound_from(row: Row, times: Times) -> StoredInbound:
    """From `id, received_at, event`."""
    return StoredInbound(
        id=row["id"],
        received_at=times.moment(row["received_at"]),
        event=Inbound.model_validate_json(row["event"]),
    )


def parked_inbound_from(row: Row, times: Times) -> ParkedInbound:
    """From `id, received_at, processed_at, error, event`: set aside when it was processed."""
    return ParkedInbound(
        id=row["id"],
        received_at=times.moment(row["received_at"]),
        parked_at=times.moment(row["processed_at"]),
        error=row["error"],
        event=Inbound.model_validate_json(row["event"]),
    )


def timer_from(row: Row, times: Times) -> Timer:
    """From `id, conversation_id, key, due_at, lease, purpose`."""
    return Timer(
        id=row["id"],
        conversation_id=row["conversation_id"],
        conversation_key=ConversationKey.parse(row["key"]),
        due_at=times.moment(row["due_at"]),
        lease=bool(row["lease"]),
        purpose=row["purpose"],
    )


def outbox_item_from(row: Row, times: Times) -> OutboxItem:
    """From `id, message, attempts, created_at`."""
    return OutboxItem(
        id=row["id"],
        message=Outbound.model_validate_json(row["message"]),
        attempts=row["attempts"],
        created_at=times.moment(row["created_at"]),
    )


def outbox_record_from(row: Row, times: Times) -> OutboxRecord:
    """From `message_id, status, attempts, last_error, sent_at`."""
    return OutboxRecord(
        message_id=row["message_id"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_at=times.moment_or_none(row["sent_at"]),
    )


def workload_from(rows: Iterable[Row], times: Times) -> Workload:
    """From rows of `part, name, kind, n, oldest`, a part being one of `queue` (a team's
    queue), `agent_queue` (what waits for one agent alone), `open` (a channel's open
    conversations), `agents` (of a status) or `outbox` (a channel's pending messages of a
    lane kind)."""
    found = Workload(
        queues={},
        agent_queues={},
        open_conversations={},
        agents=dict.fromkeys(AgentStatus, 0),
        outbox={},
    )
    for row in rows:
        part, name, count = row["part"], str(row["name"]), int(row["n"])
        waiting = Waiting(count=count, oldest=times.moment_or_none(row["oldest"]))
        if part == "queue":
            found.queues[name] = waiting
        elif part == "agent_queue":
            found.agent_queues[name] = waiting
        elif part == "open":
            found.open_conversations[name] = count
        elif part == "agents":
            found.agents[AgentStatus(name)] = count
        else:
            found.outbox[(name, str(row["kind"]))] = waiting
    return found


def by_agent_waited_for(
    listed: Iterable[ListedConversation],
) -> dict[str, list[ListedConversation]]:
    """Conversations that wait for one named agent, by that agent, each list in the order
    given (`Records.agent_queues`)."""
    found: dict[str, list[ListedConversation]] = {}
    for item in listed:
        agent = item.conversation.queued_for
        assert agent is not None  # the stores select only those
        found.setdefault(agent, []).append(item)
    return found
