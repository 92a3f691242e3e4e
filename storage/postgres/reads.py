"""Reading contacts, conversations and transcripts, on a pooled connection or inside a
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import asyncpg

from core.models import Contact, Conversation, TranscriptEntry
from storage.postgres.rows import CONTACT, CONVERSATION, ENTRY, TIMES
from storage.rows import (
    CONTACT_COLUMNS,
    CONVERSATION_COLUMNS,
    Row,
    columns,
    contact_from,
    conversation_from,
    entry_from,
)

# A connection of the pool (in a transaction), or the pool itself (one statement, autocommit).
Conn: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
)
Reader: TypeAlias = "Conn | asyncpg.Pool[asyncpg.Record]"


async def contact_at(db: Reader, channel: str, external_id: str) -> Contact | None:
    row = await db.fetchrow(
        f"SELECT {CONTACT} FROM contacts WHERE channel = $1 AND external_id = $2",
        channel,
        external_id,
    )
    return None if row is None else _contact(row)


async def load_contact(db: Reader, contact_id: str) -> Contact | None:
    row = await db.fetchrow(f"SELECT {CONTACT} FROM contacts WHERE id = $1", contact_id)
    return None if row is None else _contact(row)


async def load_conversation(db: Reader, conversation_id: str) -> Conversation | None:
    row = await db.fetchrow(
        f"SELECT {CONVERSATION} FROM conversations WHERE id = $1", conversation_id
    )
    return None if row is None else _conversation(row)


_CONTACT_AND_OPEN = f"""
    SELECT {columns(CONTACT_COLUMNS, "c", "c_")}, {columns(CONVERSATION_COLUMNS, "v", "v_")}
    FROM contacts AS c
    LEFT JOIN conversations AS v ON v.contact_id = c.id AND v.status = 'open'
    WHERE c.channel = $1 AND c.external_id = $2
"""


async def load_contact_and_open_conversation(
    db: Reader, channel: str, external_id: str
) -> tuple[Contact | None, Conversation | None]:
    row = await db.fetchrow(_CONTACT_AND_OPEN, channel, external_id)
    if row is None:
        return None, None
    contact = _contact(row, "c_")
    if row["v_id"] is None:
        return contact, None
    return contact, _conversation(row, "v_")


async def open_conversation(db: Reader, channel: str, external_id: str) -> Conversation | None:
    row = await db.fetchrow(
        f"""
        SELECT {CONVERSATION} FROM conversations
        WHERE status = 'open'
          AND contact_id = (SELECT id FROM contacts WHERE channel = $1 AND external_id = $2)
        """,
        channel,
        external_id,
    )
    return None if row is None else _conversation(row)


async def conversations_of(db: Reader, channel: str, external_id: str) -> list[Conversation]:
    rows = await db.fetch(
        f"""
        SELECT {CONVERSATION} FROM conversations
        WHERE contact_id = (SELECT id FROM contacts WHERE channel = $1 AND external_id = $2)
        ORDER BY opened_at, row_order
        """,
        channel,
        external_id,
    )
    return [_conversation(row) for row in rows]


async def queued(
    db: Reader, teams: Sequence[str], limit: int, agent_id: str | None
) -> list[Conversation]:
    rows = await db.fetch(
        f"""
        SELECT {CONVERSATION} FROM conversations
        WHERE status = 'open' AND assignee IS NULL AND queued_at IS NOT NULL
          AND ((queued_for IS NULL AND team = ANY($1::text[])) OR queued_for = $3)
        ORDER BY queued_at, row_order LIMIT $2
        """,
        list(teams),
        limit,
        agent_id,
    )
    return [_conversation(row) for row in rows]


async def open_assigned(db: Reader, agent_id: str) -> list[Conversation]:
    rows = await db.fetch(
        f"""
        SELECT {CONVERSATION} FROM conversations
        WHERE status = 'open' AND assignee = $1 ORDER BY opened_at, row_order
        """,
        agent_id,
    )
    return [_conversation(row) for row in rows]


async def count_open_assigned(db: Reader, agent_id: str) -> int:
    found = await db.fetchval(
        "SELECT count(*) FROM conversations WHERE status = 'open' AND assignee = $1", agent_id
    )
    return int(found or 0)


async def transcript(db: Reader, conversation_id: str) -> list[TranscriptEntry]:
    rows = await db.fetch(
        f"SELECT {ENTRY} FROM transcript WHERE conversation_id = $1 ORDER BY id", conversation_id
    )
    return [entry_from(row, TIMES) for row in rows]


async def recent_transcript(db: Reader, conversation_id: str, limit: int) -> list[TranscriptEntry]:
    if limit <= 0:
        return []
    rows = await db.fetch(
        f"""
        SELECT {ENTRY} FROM (
            SELECT id, {ENTRY} FROM transcript WHERE conversation_id = $1
            ORDER BY id DESC LIMIT $2
        ) AS recent ORDER BY id
        """,
        conversation_id,
        limit,
    )
    return [entry_from(row, TIMES) for row in rows]


def _contact(row: Row, prefix: str = "") -> Contact:
    return contact_from(row, TIMES, prefix)


def _conversation(row: Row, prefix: str = "") -> Conversation:
    return conversation_from(row, TIMES, prefix)
