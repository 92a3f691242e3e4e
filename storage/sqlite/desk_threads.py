"""Where handoff notices were posted on the agents' desk, to find a thread's conversation
when an agent writes in it, and a notice's posts when it changes."""

from __future__ import annotations

import sqlite3

import aiosqlite

from core.models import DeskThread
from storage.sqlite.connection import fetch_all, fetch_one

_THREAD = "desk, place, ts, conversation_id, handoff_id, agent_id"

# A platform may report a post twice (a retried call that had gone through): the first stays.
SAVE_THREAD = f"""
    INSERT INTO desk_threads ({_THREAD}) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (desk, place, ts) DO NOTHING
"""


def thread_row(thread: DeskThread) -> tuple[str, str, str, str, str, str | None]:
    return (
        thread.desk,
        thread.place,
        thread.ts,
        thread.conversation_id,
        thread.handoff_id,
        thread.agent_id,
    )


async def threads_of(conn: aiosqlite.Connection, handoff_id: str) -> list[DeskThread]:
    rows = await fetch_all(
        conn,
        f"SELECT {_THREAD} FROM desk_threads WHERE handoff_id = ? ORDER BY id",
        (handoff_id,),
    )
    return [_thread(row) for row in rows]


async def thread_at(
    conn: aiosqlite.Connection, desk: str, place: str, ts: str
) -> DeskThread | None:
    row = await fetch_one(
        conn,
        f"SELECT {_THREAD} FROM desk_threads WHERE desk = ? AND place = ? AND ts = ?",
        (desk, place, ts),
    )
    return None if row is None else _thread(row)


def _thread(row: sqlite3.Row) -> DeskThread:
    return DeskThread(
        desk=row["desk"],
        place=row["place"],
        ts=row["ts"],
        conversation_id=row["conversation_id"],
        handoff_id=row["handoff_id"],
        agent_id=row["agent_id"],
    )
