"""Durable timers: question timeouts, waits, assignment timeouts."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from core.models import Timer
from storage.rows import timer_from
from storage.sqlite.codec import TIMES, from_micros_or_none, to_micros
from storage.sqlite.connection import fetch_all, fetch_one

# Scheduling an id that exists again replaces it (moves its time).
SCHEDULE = """
    INSERT INTO timers (id, conversation_id, key, due_at, lease, purpose)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
        conversation_id = excluded.conversation_id, key = excluded.key, due_at = excluded.due_at,
        lease = excluded.lease, purpose = excluded.purpose
"""

# Work in flight that a lease timer stands for is redone at once by the process taking over.
TAKE_BACK = "UPDATE timers SET due_at = MIN(due_at, :now) WHERE lease = 1"

DELETE = "DELETE FROM timers WHERE id = ?"


def timer_row(timer: Timer) -> tuple[str, str, str, int, int, str]:
    due_at = to_micros(timer.due_at)
    key = str(timer.conversation_key)
    return (timer.id, timer.conversation_id, key, due_at, int(timer.lease), timer.purpose)


async def due(conn: aiosqlite.Connection, now: datetime, limit: int) -> list[Timer]:
    """Timers due at `now`, earliest first. They stay stored until the engine deletes them."""
    rows = await fetch_all(
        conn,
        """
        SELECT id, conversation_id, key, due_at, lease, purpose FROM timers
        WHERE due_at <= ? ORDER BY due_at, id LIMIT ?
        """,
        (to_micros(now), limit),
    )
    return [timer_from(row, TIMES) for row in rows]


async def next_due(conn: aiosqlite.Connection) -> datetime | None:
    row = await fetch_one(conn, "SELECT MIN(due_at) FROM timers")
    return None if row is None else from_micros_or_none(row[0])
