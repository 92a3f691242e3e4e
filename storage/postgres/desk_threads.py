"""Where handoff notices were posted on the agents' desk."""

from __future__ import annotations

import asyncpg

from core.models import DeskThread
from storage.postgres.reads import Reader

_THREAD = "desk, place, ts, conversation_id, handoff_id, agent_id"


async def save(db: Reader, thread: DeskThread) -> None:
    """One already stored at the same (desk, place, ts) is kept; a thread of an unknown
    conversation raises asyncpg's ForeignKeyViolationError."""
    await db.execute(
        f"""
        INSERT INTO desk_threads ({_THREAD}) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (desk, place, ts) DO NOTHING
        """,
        thread.desk,
        thread.place,
        thread.ts,
        thread.conversation_id,
        thread.handoff_id,
        thread.agent_id,
    )


async def threads_of(db: Reader, handoff_id: str) -> list[DeskThread]:
    rows = await db.fetch(
        f"SELECT {_THREAD} FROM desk_threads WHERE handoff_id = $1 ORDER BY id", handoff_id
    )
    return [_thread(row) for row in rows]


async def thread_at(db: Reader, desk: str, place: str, ts: str) -> DeskThread | None:
    row = await db.fetchrow(
        f"SELECT {_THREAD} FROM desk_threads WHERE desk = $1 AND place = $2 AND ts = $3",
        desk,
        place,
        ts,
    )
    return None if row is None else _thread(row)


def _thread(row: asyncpg.Record) -> DeskThread:
    return DeskThread(
        desk=row["desk"],
        place=row["place"],
        ts=row["ts"],
        conversation_id=row["conversation_id"],
        handoff_id=row["handoff_id"],
        agent_id=row["agent_id"],
    )
