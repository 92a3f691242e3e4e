"""Where handoff notices were posted on the agents' desk, to find a thread's conversation
when an agent writes in it, and a notice's posts when it changes."""

from __future__ import annotations

import aiosqlite

from core.models import DeskThread
from storage.rows import THREAD_COLUMNS, columns, thread_from
from storage.sqlite.connection import fetch_all, fetch_one

_THREAD = columns(THREAD_COLUMNS)

# A platform may report a post twice (a retried call that had gone through): the first stays.
SAVE_THREAD = f"""
    INSERT INTO desk_threads ({_THREAD}) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (desk, place, ts) DO NOTHING
"""


async def threads_of(conn: aiosqlite.Connection, handoff_id: str) -> list[DeskThread]:
    rows = await fetch_all(
        conn,
        f"SELECT {_THREAD} FROM desk_threads WHERE handoff_id = ? ORDER BY id",
        (handoff_id,),
    )
    return [thread_from(row) for row in rows]


async def thread_at(
    conn: aiosqlite.Connection, desk: str, place: str, ts: str
) -> DeskThread | None:
    row = await fetch_one(
        conn,
        f"SELECT {_THREAD} FROM desk_threads WHERE desk = ? AND place = ? AND ts = ?",
        (desk, place, ts),
    )
    return None if row is None else thread_from(row)
