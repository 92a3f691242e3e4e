"""Contacts, conversations and transcript entries as rows, and back.

asyncpg gives `timestamptz` back as aware datetimes in UTC; a naive time is refused on the way
in, as the SQLite store refuses it, rather than read as some zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import TypeAdapter

from core.models import (
    Attachment,
    Author,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Handoff,
    Option,
    Run,
    TranscriptEntry,
)

OPTIONS = TypeAdapter(list[Option])
FIELDS = TypeAdapter(dict[str, Any])
TAGS = TypeAdapter(list[str])


def aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the store takes timezone-aware times")
    return moment.astimezone(UTC)


def aware_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else aware(moment)


def dump(adapter: TypeAdapter[Any], value: Any) -> str:
    return adapter.dump_json(value).decode()


# contacts ---------------------------------------------------------------------------------

CONTACT_COLUMNS = (
    "id", "channel", "external_id", "name", "username", "language", "email", "phone",
    "country", "fields", "tags", "created_at", "unreachable_since", "workflow_fields",
)  # fmt: skip
CONTACT = ", ".join(CONTACT_COLUMNS)

SAVE_CONTACT = f"""
    INSERT INTO contacts ({CONTACT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
        $12, $13, $14)
    ON CONFLICT (id) DO UPDATE SET
        channel = excluded.channel, external_id = excluded.external_id,
        name = excluded.name, username = excluded.username,
        language = excluded.language, email = excluded.email,
        phone = excluded.phone, country = excluded.country,
        fields = excluded.fields, tags = excluded.tags,
        created_at = excluded.created_at, unreachable_since = excluded.unreachable_since,
        workflow_fields = excluded.workflow_fields
"""

MARK_UNREACHABLE = """
    UPDATE contacts SET unreachable_since = COALESCE(unreachable_since, $1)
    WHERE channel = $2 AND external_id = $3
"""


def contact_row(contact: Contact) -> tuple[Any, ...]:
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
        aware(contact.created_at),
        aware_or_none(contact.unreachable_since),
        dump(TAGS, contact.workflow_fields) if contact.workflow_fields else None,
    )


def contact_from(row: asyncpg.Record, prefix: str = "") -> Contact:
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
        created_at=row[f"{prefix}created_at"],
        unreachable_since=row[f"{prefix}unreachable_since"],
        workflow_fields=TAGS.validate_json(row[f"{prefix}workflow_fields"] or "[]"),
    )


# conversations ----------------------------------------------------------------------------

CONVERSATION_COLUMNS = (
    "id", "contact_id", "channel", "status", "team", "assignee", "opened_at", "closed_at",
    "assigned_at", "queued_at", "handoff", "run", "seq", "version", "assigned_message",
    "queue_limit", "queued_for",
)  # fmt: skip
CONVERSATION = ", ".join(CONVERSATION_COLUMNS)


def aliased(table: str, columns: tuple[str, ...], prefix: str) -> str:
    """`v.id AS v_id, ...`: a joined row whose tables share column names."""
    return ", ".join(f"{table}.{column} AS {prefix}{column}" for column in columns)


INSERT_CONVERSATION = f"""
    INSERT INTO conversations ({CONVERSATION})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
"""

# Optimistic concurrency: the row must still be at the version the caller loaded.
UPDATE_CONVERSATION = """
    UPDATE conversations SET
        contact_id = $2, channel = $3, status = $4, team = $5, assignee = $6,
        opened_at = $7, closed_at = $8, assigned_at = $9, queued_at = $10,
        handoff = $11, run = $12, seq = $13, version = $14, assigned_message = $15,
        queue_limit = $16, queued_for = $17
    WHERE id = $1 AND version = $14 - 1
"""


def conversation_write(conversation: Conversation) -> tuple[str, tuple[Any, ...]]:
    """Version 1 inserts; a later one updates the row stored at version - 1."""
    if conversation.version < 1:
        raise ValueError(
            f"conversation {conversation.id}: increment version before saving "
            f"(got {conversation.version})"
        )
    values = (
        conversation.id,
        conversation.contact_id,
        conversation.channel,
        conversation.status.value,
        conversation.team,
        conversation.assignee,
        aware(conversation.opened_at),
        aware_or_none(conversation.closed_at),
        aware_or_none(conversation.assigned_at),
        aware_or_none(conversation.queued_at),
        _handoff_json(conversation.handoff),
        None if conversation.run is None else conversation.run.model_dump_json(),
        conversation.seq,
        conversation.version,
        conversation.assigned_message,
        conversation.queue_limit,
        conversation.queued_for,
    )
    return (INSERT_CONVERSATION if conversation.version == 1 else UPDATE_CONVERSATION), values


def _handoff_json(handoff: Handoff | None) -> str | None:
    if handoff is None:
        return None
    in_utc = handoff.model_copy(
        update={"at": aware(handoff.at), "accepted_at": aware_or_none(handoff.accepted_at)}
    )
    return in_utc.model_dump_json()


def conversation_from(row: asyncpg.Record, prefix: str = "") -> Conversation:
    handoff, run = row[f"{prefix}handoff"], row[f"{prefix}run"]
    return Conversation(
        id=row[f"{prefix}id"],
        contact_id=row[f"{prefix}contact_id"],
        channel=row[f"{prefix}channel"],
        status=ConversationStatus(row[f"{prefix}status"]),
        team=row[f"{prefix}team"],
        assignee=row[f"{prefix}assignee"],
        opened_at=row[f"{prefix}opened_at"],
        closed_at=row[f"{prefix}closed_at"],
        assigned_at=row[f"{prefix}assigned_at"],
        queued_at=row[f"{prefix}queued_at"],
        handoff=None if handoff is None else Handoff.model_validate_json(handoff),
        run=None if run is None else Run.model_validate_json(run),
        seq=row[f"{prefix}seq"],
        version=row[f"{prefix}version"],
        assigned_message=row[f"{prefix}assigned_message"],
        queue_limit=row[f"{prefix}queue_limit"],
        queued_for=row[f"{prefix}queued_for"],
    )


# transcript -------------------------------------------------------------------------------

ENTRY = (
    "conversation_id, direction, text, options, option_id, message_id, at, step_id, attachment,"
    " author, note"
)

ADD_TRANSCRIPT = (
    f"INSERT INTO transcript ({ENTRY}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)


def transcript_row(entry: TranscriptEntry) -> tuple[Any, ...]:
    return (
        entry.conversation_id,
        entry.direction.value,
        entry.text,
        dump(OPTIONS, entry.options),
        entry.option_id,
        entry.message_id,
        aware(entry.at),
        entry.step_id,
        None if entry.attachment is None else entry.attachment.model_dump_json(),
        None if entry.author is None else entry.author.model_dump_json(),
        entry.note,
    )


def entry_from(row: asyncpg.Record) -> TranscriptEntry:
    attachment, author = row["attachment"], row["author"]
    return TranscriptEntry(
        conversation_id=row["conversation_id"],
        direction=Direction(row["direction"]),
        text=row["text"],
        options=OPTIONS.validate_json(row["options"]),
        option_id=row["option_id"],
        message_id=row["message_id"],
        at=row["at"],
        step_id=row["step_id"],
        attachment=None if attachment is None else Attachment.model_validate_json(attachment),
        author=None if author is None else Author.model_validate_json(author),
        note=row["note"],
    )
