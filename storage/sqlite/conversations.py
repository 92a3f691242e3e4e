"""Contacts, conversations and their transcripts (their rows mapped in `storage.rows`)."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite

from core.models import Contact, Conversation, TranscriptEntry
from storage.rows import (
    CONTACT_COLUMNS,
    CONVERSATION_COLUMNS,
    ENTRY_COLUMNS,
    Row,
    columns,
    contact_from,
    contact_values,
    conversation_from,
    conversation_values,
    entry_from,
    entry_values,
)
from storage.sqlite.codec import TIMES
from storage.sqlite.connection import fetch_all, fetch_one

# contacts ---------------------------------------------------------------------------------

_CONTACT = columns(CONTACT_COLUMNS)


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
    return contact_values(contact, TIMES)


def _contact(row: Row, prefix: str = "") -> Contact:
    return contact_from(row, TIMES, prefix)


# conversations ----------------------------------------------------------------------------

_CONVERSATION = columns(CONVERSATION_COLUMNS)


async def load_conversation(
    conn: aiosqlite.Connection, conversation_id: str
) -> Conversation | None:
    row = await fetch_one(
        conn, f"SELECT {_CONVERSATION} FROM conversations WHERE id = ?", (conversation_id,)
    )
    return None if row is None else _conversation(row)


# The two tables share column names (id, channel), so the joined row's are prefixed.
_CONTACT_AND_OPEN_CONVERSATION = f"""
    SELECT {columns(CONTACT_COLUMNS, "c", "c_")}, {columns(CONVERSATION_COLUMNS, "v", "v_")}
    FROM contacts AS c
    LEFT JOIN conversations AS v ON v.contact_id = c.id AND v.status = 'open'
    WHERE c.channel = ? AND c.external_id = ?
"""


def contact_and_open_conversation(
    channel: str, external_id: str, conn: sqlite3.Connection
) -> tuple[Contact | None, Conversation | None]:
    """Both in one query, on the connection's thread (`Writer.read`): the engine needs them
    for every event, and each call to the thread costs the event loop a wake-up."""
    row = conn.execute(_CONTACT_AND_OPEN_CONVERSATION, (channel, external_id)).fetchone()
    return _contact_and_conversation(row)


def _contact_and_conversation(
    row: sqlite3.Row | None,
) -> tuple[Contact | None, Conversation | None]:
    if row is None:
        return None, None
    contact = _contact(row, "c_")
    if row["v_id"] is None:
        return contact, None
    return contact, _conversation(row, "v_")


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


# The columns some index of the table names (in its key or its WHERE), `run` left out: every
# turn changes it. SQLite rewrites the entry of every index whose column an UPDATE sets, even
# to the value it had, so an update sets only those of them that changed since the row was
# read (`update_statement`): a turn that moves the run on touches one index of the thirteen,
# one that closes the conversation eight.
INDEXED = (
    "contact_id", "channel", "status", "team", "assignee",
    "opened_at", "closed_at", "queued_at", "queued_for",
)  # fmt: skip
_UNINDEXED = ("assigned_at", "queue_limit", "handoff", "run", "seq", "version", "assigned_message")
Indexed = tuple[object, ...]


def indexed(conversation: Conversation) -> Indexed:
    """What the conversation holds in the `INDEXED` columns."""
    return tuple(getattr(conversation, column) for column in INDEXED)


@functools.cache
def update_statement(changed: tuple[str, ...]) -> str:
    """Optimistic concurrency: the row must still be at the version the caller loaded."""
    assigned = ", ".join(f"{column} = :{column}" for column in (*changed, *_UNINDEXED))
    return f"UPDATE conversations SET {assigned} WHERE id = :id AND version = :version - 1"


def conversation_write(
    conversation: Conversation, read: Indexed | None = None
) -> tuple[str, dict[str, Any]]:
    """The statement saving a conversation whose `version` the caller has incremented:
    version 1 inserts, a later one updates the row stored at version - 1; of the `INDEXED`
    columns, only those that differ from `read` (as the caller read the row), or all of them
    without it."""
    values = conversation_values(conversation, TIMES)
    if conversation.version == 1:
        return INSERT_CONVERSATION, values
    changed: tuple[str, ...] = INDEXED
    if read is not None:
        pairs = zip(INDEXED, read, indexed(conversation), strict=True)
        changed = tuple(column for column, before, after in pairs if before != after)
    return update_statement(changed), values


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


def _conversation(row: Row, prefix: str = "") -> Conversation:
    return conversation_from(row, TIMES, prefix)


# transcript -------------------------------------------------------------------------------


_ENTRY = columns(ENTRY_COLUMNS)

ADD_TRANSCRIPT = f"INSERT INTO transcript ({_ENTRY}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def transcript_row(entry: TranscriptEntry) -> tuple[Any, ...]:
    return entry_values(entry, TIMES)


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


def _entry(row: Row) -> TranscriptEntry:
    return entry_from(row, TIMES)
