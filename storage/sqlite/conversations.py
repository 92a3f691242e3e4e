"""Contacts, conversations and their transcripts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import aiosqlite

from core.models import (
    Attachment,
    Author,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Handoff,
    Run,
    TranscriptEntry,
)
from storage.sqlite.codec import (
    FIELDS,
    OPTIONS,
    TAGS,
    dump_json,
    from_micros,
    from_micros_or_none,
    to_micros,
    to_micros_or_none,
)
from storage.sqlite.connection import fetch_all, fetch_one

# contacts ---------------------------------------------------------------------------------

_CONTACT = (
    "id, channel, external_id, name, username, language, email, phone, country, "
    "fields, tags, created_at, unreachable_since, workflow_fields"
)


async def contact_at(conn: aiosqlite.Connection, channel: str, external_id: str) -> Contact | None:
    row = await fetch_one(
        conn,
        f"SELECT {_CONTACT} FROM contacts WHERE channel = ? AND external_id = ?",
        (channel, external_id),
    )
    return None if row is None else _contact(row)


async def load_contact(conn: aiosqlite.Connection, contact_id: str) -> Contact | None:
    row = await fetch_one(conn, f"SELECT {_CONTACT} FROM contacts WHERE id = ?", (contact_id,))
    return None if row is None else _contact(row)


SAVE_CONTACT = f"""
    INSERT INTO contacts ({_CONTACT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
        channel = excluded.channel, external_id = excluded.external_id,
        name = excluded.name, username = excluded.username,
        language = excluded.language, email = excluded.email,
        phone = excluded.phone, country = excluded.country,
        fields = excluded.fields, tags = excluded.tags,
        created_at = excluded.created_at, unreachable_since = excluded.unreachable_since,
        workflow_fields = excluded.workflow_fields
"""

# The platform refuses messages to this contact; the first time it said so is kept.
MARK_UNREACHABLE = """
    UPDATE contacts SET unreachable_since = COALESCE(unreachable_since, ?)
    WHERE channel = ? AND external_id = ?
"""


def contact_row(contact: Contact) -> tuple[Any, ...]:
    """Parameters of SAVE_CONTACT: upsert by id. Another id already holding the same
    (channel, external_id) fails the commit as a conflict: a concurrent writer created this
    person first."""
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
        dump_json(FIELDS, contact.fields),
        dump_json(TAGS, contact.tags),
        to_micros(contact.created_at),
        to_micros_or_none(contact.unreachable_since),
        dump_json(TAGS, contact.workflow_fields) if contact.workflow_fields else None,
    )


def _contact(row: sqlite3.Row | Mapping[str, Any]) -> Contact:
    return Contact(
        id=row["id"],
        channel=row["channel"],
        external_id=row["external_id"],
        name=row["name"],
        username=row["username"],
        language=row["language"],
        email=row["email"],
        phone=row["phone"],
        country=row["country"],
        fields=FIELDS.validate_json(row["fields"]),
        tags=TAGS.validate_json(row["tags"]),
        created_at=from_micros(row["created_at"]),
        unreachable_since=from_micros_or_none(row["unreachable_since"]),
        workflow_fields=TAGS.validate_json(row["workflow_fields"] or "[]"),
    )


# conversations ----------------------------------------------------------------------------

_CONVERSATION = (
    "id, contact_id, channel, status, team, assignee, opened_at, closed_at, assigned_at, "
    "queued_at, queue_limit, handoff, run, seq, version, assigned_message, queued_for"
)


async def load_conversation(
    conn: aiosqlite.Connection, conversation_id: str
) -> Conversation | None:
    row = await fetch_one(
        conn, f"SELECT {_CONVERSATION} FROM conversations WHERE id = ?", (conversation_id,)
    )
    return None if row is None else _conversation(row)


# The two tables share column names (id, channel), so the joined row is split by position.
_CONTACT_COLUMNS = tuple(column.strip() for column in _CONTACT.split(","))
_CONVERSATION_COLUMNS = tuple(column.strip() for column in _CONVERSATION.split(","))
_CONTACT_AND_OPEN_CONVERSATION = f"""
    SELECT {", ".join(f"c.{column}" for column in _CONTACT_COLUMNS)},
        {", ".join(f"v.{column}" for column in _CONVERSATION_COLUMNS)}
    FROM contacts AS c
    LEFT JOIN conversations AS v ON v.contact_id = c.id AND v.status = 'open'
    WHERE c.channel = ? AND c.external_id = ?
"""


async def load_contact_and_open_conversation(
    conn: aiosqlite.Connection, channel: str, external_id: str
) -> tuple[Contact | None, Conversation | None]:
    """Both in one query: the engine needs them for every event, and each query is a round
    trip to the connection's thread."""
    row = await fetch_one(conn, _CONTACT_AND_OPEN_CONVERSATION, (channel, external_id))
    if row is None:
        return None, None
    values = tuple(row)
    split = len(_CONTACT_COLUMNS)
    contact = _contact(dict(zip(_CONTACT_COLUMNS, values[:split], strict=True)))
    if values[split] is None:
        return contact, None
    return contact, _conversation(dict(zip(_CONVERSATION_COLUMNS, values[split:], strict=True)))


async def open_conversation(
    conn: aiosqlite.Connection, channel: str, external_id: str
) -> Conversation | None:
    """One indexed lookup: a contact has at most one open conversation."""
    row = await fetch_one(
        conn,
        f"""
        SELECT {_CONVERSATION} FROM conversations
        WHERE status = 'open'
          AND contact_id = (SELECT id FROM contacts WHERE channel = ? AND external_id = ?)
        """,
        (channel, external_id),
    )
    return None if row is None else _conversation(row)


async def conversations_of(
    conn: aiosqlite.Connection, channel: str, external_id: str
) -> list[Conversation]:
    """Every conversation of the contact, oldest first."""
    rows = await fetch_all(
        conn,
        f"""
        SELECT {_CONVERSATION} FROM conversations
        WHERE contact_id = (SELECT id FROM contacts WHERE channel = ? AND external_id = ?)
        ORDER BY opened_at, rowid
        """,
        (channel, external_id),
    )
    return [_conversation(row) for row in rows]


INSERT_CONVERSATION = (
    f"INSERT INTO conversations ({_CONVERSATION}) VALUES "
    "(:id, :contact_id, :channel, :status, :team, :assignee, :opened_at, "
    ":closed_at, :assigned_at, :queued_at, :queue_limit, :handoff, :run, :seq, :version, "
    ":assigned_message, :queued_for)"
)

# Optimistic concurrency: the row must still be at the version the caller loaded.
UPDATE_CONVERSATION = """
    UPDATE conversations SET
        contact_id = :contact_id, channel = :channel, status = :status,
        team = :team, assignee = :assignee, opened_at = :opened_at,
        closed_at = :closed_at, assigned_at = :assigned_at, queued_at = :queued_at,
        queue_limit = :queue_limit, handoff = :handoff, run = :run, seq = :seq,
        version = :version, assigned_message = :assigned_message, queued_for = :queued_for
    WHERE id = :id AND version = :version - 1
"""


def conversation_write(conversation: Conversation) -> tuple[str, dict[str, Any]]:
    """The statement saving a conversation whose `version` the caller has incremented:
    version 1 inserts, a later one updates the row stored at version - 1."""
    if conversation.version < 1:
        raise ValueError(
            f"conversation {conversation.id}: increment version before saving "
            f"(got {conversation.version})"
        )
    values = {
        "id": conversation.id,
        "contact_id": conversation.contact_id,
        "channel": conversation.channel,
        "status": conversation.status.value,
        "team": conversation.team,
        "assignee": conversation.assignee,
        "opened_at": to_micros(conversation.opened_at),
        "closed_at": to_micros_or_none(conversation.closed_at),
        "assigned_at": to_micros_or_none(conversation.assigned_at),
        "queued_at": to_micros_or_none(conversation.queued_at),
        "queue_limit": conversation.queue_limit,
        "handoff": _handoff_json(conversation.handoff),
        "run": None if conversation.run is None else conversation.run.model_dump_json(),
        "seq": conversation.seq,
        "version": conversation.version,
        "assigned_message": conversation.assigned_message,
        "queued_for": conversation.queued_for,
    }
    return (INSERT_CONVERSATION if conversation.version == 1 else UPDATE_CONVERSATION), values


async def queued(
    conn: aiosqlite.Connection, teams: Sequence[str], limit: int, agent_id: str | None
) -> list[Conversation]:
    """Open, unassigned conversations waiting for any of `teams` and no one agent, or for
    `agent_id` alone, longest waiting first."""
    rows = await fetch_all(
        conn,
        f"""
        SELECT {_CONVERSATION} FROM conversations
        WHERE status = 'open' AND assignee IS NULL AND queued_at IS NOT NULL
          AND ((queued_for IS NULL AND team IN (SELECT value FROM json_each(?)))
               OR queued_for = ?)
        ORDER BY queued_at, rowid LIMIT ?
        """,
        (json.dumps(list(teams)), agent_id, limit),
    )
    return [_conversation(row) for row in rows]


async def open_assigned(conn: aiosqlite.Connection, agent_id: str) -> list[Conversation]:
    """The agent's open conversations, oldest first."""
    rows = await fetch_all(
        conn,
        f"""
        SELECT {_CONVERSATION} FROM conversations
        WHERE status = 'open' AND assignee = ?
        ORDER BY opened_at, rowid
        """,
        (agent_id,),
    )
    return [_conversation(row) for row in rows]


async def count_open_assigned(conn: aiosqlite.Connection, agent_id: str) -> int:
    row = await fetch_one(
        conn,
        "SELECT COUNT(*) FROM conversations WHERE status = 'open' AND assignee = ?",
        (agent_id,),
    )
    return 0 if row is None else int(row[0])


def _handoff_json(handoff: Handoff | None) -> str | None:
    """The handoff as JSON, its times in UTC like every other time the store gives back (a
    naive one is refused, as in a time column)."""
    if handoff is None:
        return None
    in_utc = handoff.model_copy(
        update={
            "at": from_micros(to_micros(handoff.at)),
            "accepted_at": from_micros_or_none(to_micros_or_none(handoff.accepted_at)),
        }
    )
    return in_utc.model_dump_json()


def _conversation(row: sqlite3.Row | Mapping[str, Any]) -> Conversation:
    return Conversation(
        id=row["id"],
        contact_id=row["contact_id"],
        channel=row["channel"],
        status=ConversationStatus(row["status"]),
        team=row["team"],
        assignee=row["assignee"],
        opened_at=from_micros(row["opened_at"]),
        closed_at=from_micros_or_none(row["closed_at"]),
        assigned_at=from_micros_or_none(row["assigned_at"]),
        queued_at=from_micros_or_none(row["queued_at"]),
        queue_limit=row["queue_limit"],
        handoff=None if row["handoff"] is None else Handoff.model_validate_json(row["handoff"]),
        run=None if row["run"] is None else Run.model_validate_json(row["run"]),
        seq=row["seq"],
        version=row["version"],
        assigned_message=row["assigned_message"],
        queued_for=row["queued_for"],
    )


# transcript -------------------------------------------------------------------------------


_ENTRY = (
    "conversation_id, direction, text, options, option_id, message_id, at, step_id, attachment,"
    " author, note"
)

ADD_TRANSCRIPT = f"INSERT INTO transcript ({_ENTRY}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def transcript_row(entry: TranscriptEntry) -> tuple[Any, ...]:
    return (
        entry.conversation_id,
        entry.direction.value,
        entry.text,
        dump_json(OPTIONS, entry.options),
        entry.option_id,
        entry.message_id,
        to_micros(entry.at),
        entry.step_id,
        None if entry.attachment is None else entry.attachment.model_dump_json(),
        None if entry.author is None else entry.author.model_dump_json(),
        int(entry.note),
    )


async def transcript(conn: aiosqlite.Connection, conversation_id: str) -> list[TranscriptEntry]:
    """The conversation's entries in the order they were added."""
    rows = await fetch_all(
        conn,
        f"SELECT {_ENTRY} FROM transcript WHERE conversation_id = ? ORDER BY id",
        (conversation_id,),
    )
    return [_entry(row) for row in rows]


async def recent_transcript(
    conn: aiosqlite.Connection, conversation_id: str, limit: int
) -> list[TranscriptEntry]:
    """The conversation's last `limit` entries, in the order they were added."""
    if limit <= 0:
        # SQLite reads a negative LIMIT as no limit at all.
        return []
    rows = await fetch_all(
        conn,
        f"""
        SELECT {_ENTRY} FROM (
            SELECT id, {_ENTRY} FROM transcript WHERE conversation_id = ?
            ORDER BY id DESC LIMIT ?
        ) ORDER BY id
        """,
        (conversation_id, limit),
    )
    return [_entry(row) for row in rows]


def _entry(row: sqlite3.Row) -> TranscriptEntry:
    return TranscriptEntry(
        conversation_id=row["conversation_id"],
        direction=Direction(row["direction"]),
        text=row["text"],
        options=OPTIONS.validate_json(row["options"]),
        option_id=row["option_id"],
        message_id=row["message_id"],
        at=from_micros(row["at"]),
        step_id=row["step_id"],
        attachment=(
            None if row["attachment"] is None else Attachment.model_validate_json(row["attachment"])
        ),
        author=None if row["author"] is None else Author.model_validate_json(row["author"]),
        note=bool(row["note"]),
    )


# For other modules that read these rows (see `records`).
CONTACT_COLUMNS = _CONTACT_COLUMNS
CONVERSATION_COLUMNS = _CONVERSATION_COLUMNS
contact_from_row = _contact
conversation_from_row = _conversation
