"""Where handoff notices were posted on the agents' desk."""

from __future__ import annotations

from core.models import DeskThread
from storage.postgres.reads import Reader
from storage.rows import THREAD_COLUMNS, columns, thread_from, thread_values

_THREAD = columns(THREAD_COLUMNS)


async def save(db: Reader, thread: DeskThread) -> None:
    """One already stored at the same (desk, place, ts) is kept; a thread of an unknown
    conversation raises asyncpg's ForeignKeyViolationError."""
    await db.execute(
        f"""
        INSERT INTO desk_threads ({_THREAD}) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (desk, place, ts) DO NOTHING
        """,
        *thread_values(thread),
    )


async def threads_of(db: Reader, handoff_id: str) -> list[DeskThread]:
    rows = await db.fetch(
        f"SELECT {_THREAD} FROM desk_threads WHERE handoff_id = $1 ORDER BY id", handoff_id
    )
    return [thread_from(row) for row in rows]


async def thread_at(db: Reader, desk: str, place: str, ts: str) -> DeskThread | None:
    row = await db.fetchrow(
        f"SELECT {_THREAD} FROM desk_threads WHERE desk = $1 AND place = $2 AND ts = $3",
        desk,
        place,
        ts,
    )
    return None if row is None else thread_from(row)
