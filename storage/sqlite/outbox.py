"""The outbox: messages waiting to be delivered, one conversation's strictly in order.

A row is `pending` until it is `sent` or `failed`. Only the head of a conversation's queue
(its oldest pending row) may be claimed, so a message that keeps failing holds back the later
messages of its own conversation and of no other. A claim leases the row until
`leased_until`; an unfinished lease expires so a crashed worker's messages are picked up again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from core.models import Outbound, OutboxItem
from core.ports import OutboxRecord
from storage.sqlite.codec import (
    from_micros,
    from_micros_or_none,
    seconds_to_micros,
    to_micros,
)
from storage.sqlite.connection import fetch_all, fetch_one

# The row is the head of its conversation's queue.
_IS_HEAD = """
    o.id = (SELECT MIN(h.id) FROM outbox AS h
            WHERE h.conversation_id = o.conversation_id AND h.status = 'pending')
"""


async def enqueue(conn: aiosqlite.Connection, messages: Sequence[Outbound], at: datetime) -> None:
    """Due at `at`; a message id that is already in the outbox is ignored."""
    due = to_micros(at)
    await conn.executemany(
        """
        INSERT INTO outbox
            (message_id, conversation_id, message, status, attempts, created_at, next_attempt_at)
        VALUES (?, ?, ?, 'pending', 0, ?, ?)
        ON CONFLICT (message_id) DO NOTHING
        """,
        [
            (message.message_id, message.conversation_id, message.model_dump_json(), due, due)
            for message in messages
        ],
    )


async def claim_due(
    conn: aiosqlite.Connection, now: datetime, limit: int, lease_seconds: float
) -> list[OutboxItem]:
    """Lease up to `limit` due heads (so at most one row per conversation), oldest first."""
    if limit <= 0:
        return []
    at = to_micros(now)
    rows = await fetch_all(
        conn,
        f"""
        UPDATE outbox SET leased_until = :until
        WHERE id IN (
            SELECT o.id FROM outbox AS o
            WHERE o.status = 'pending' AND o.next_attempt_at <= :now
              AND (o.leased_until IS NULL OR o.leased_until <= :now)
              AND {_IS_HEAD}
            ORDER BY o.id LIMIT :limit
        )
        RETURNING id, message, attempts, created_at
        """,
        {"until": at + seconds_to_micros(lease_seconds), "now": at, "limit": limit},
    )
    # RETURNING gives rows in no promised order.
    rows.sort(key=lambda row: int(row["id"]))
    return [
        OutboxItem(
            id=row["id"],
            message=Outbound.model_validate_json(row["message"]),
            attempts=row["attempts"],
            created_at=from_micros(row["created_at"]),
        )
        for row in rows
    ]


async def mark_sent(conn: aiosqlite.Connection, item_id: int, at: datetime) -> None:
    await conn.execute(
        """
        UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,
            leased_until = NULL
        WHERE id = ?
        """,
        (to_micros(at), item_id),
    )


async def mark_retry(
    conn: aiosqlite.Connection, item_id: int, next_attempt_at: datetime, error: str
) -> None:
    # Only a pending row: a row another worker has settled meanwhile stays settled.
    await conn.execute(
        """
        UPDATE outbox SET next_attempt_at = ?, last_error = ?, attempts = attempts + 1,
            leased_until = NULL
        WHERE id = ? AND status = 'pending'
        """,
        (to_micros(next_attempt_at), error, item_id),
    )


async def mark_failed(conn: aiosqlite.Connection, item_id: int, at: datetime, error: str) -> None:
    """Give up on the row; the next message of its conversation becomes the head."""
    await conn.execute(
        """
        UPDATE outbox SET status = 'failed', failed_at = ?, last_error = ?,
            attempts = attempts + 1, leased_until = NULL
        WHERE id = ? AND status = 'pending'
        """,
        (to_micros(at), error, item_id),
    )


async def next_due(conn: aiosqlite.Connection) -> datetime | None:
    """When a head next becomes claimable: its next attempt, or its lease's end if later.

    Rows behind a head are left out: they wait for the head, not for a time, and counting
    them would have the delivery loop wake up to find nothing to claim.
    """
    row = await fetch_one(
        conn,
        f"""
        SELECT MIN(MAX(o.next_attempt_at, COALESCE(o.leased_until, o.next_attempt_at)))
        FROM outbox AS o
        WHERE o.status = 'pending' AND {_IS_HEAD}
        """,
    )
    return None if row is None else from_micros_or_none(row[0])


async def records(conn: aiosqlite.Connection, conversation_id: str) -> list[OutboxRecord]:
    rows = await fetch_all(
        conn,
        """
        SELECT message_id, status, attempts, last_error, sent_at FROM outbox
        WHERE conversation_id = ? ORDER BY id
        """,
        (conversation_id,),
    )
    return [_record(row) for row in rows]


def _record(row: sqlite3.Row) -> OutboxRecord:
    return OutboxRecord(
        message_id=row["message_id"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_at=from_micros_or_none(row["sent_at"]),
    )
