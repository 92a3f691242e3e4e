"""The inbox: inbound events stored once each, and group commit for storing them.

Every platform delivery waits for `record_inbound` before it is acknowledged, so that call
must be durable and cheap under load. Callers arriving while a commit is in progress wait in
a queue; the next commit takes all of them (up to `MAX_BATCH`) in one transaction, so a burst
of N events costs a few fsyncs instead of N.

An event stored alone (one customer at a time) also has its sender's contact and open
conversation read in the same call to the thread: the turn that follows starts with that
read (`Transaction.load_contact_and_open_conversation`) and is handed it without a call of
its own, if the writer has changed no row since (`Writer.changes`; see `fresh`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import aiosqlite
from pydantic_core import PydanticSerializationError

from core.errors import StoreUnavailable, Unstorable
from core.models import Contact, Conversation, Inbound, ParkedInbound, StoredInbound
from storage.rows import parked_inbound_from, stored_inbound_from
from storage.sqlite import conversations
from storage.sqlite.codec import TIMES, to_micros
from storage.sqlite.connection import fetch_all, fetch_one, store_error
from storage.sqlite.in_thread import QuietChanges
from storage.sqlite.writer import Writer

log = logging.getLogger(__name__)

MAX_BATCH = 256  # bounds how long one group commit holds the writer


Lookup = tuple[str, str]  # a sender's (channel, external id)
Found = tuple[Contact | None, Conversation | None]


@dataclass(frozen=True)
class _Waiting:
    row: tuple[str, str, str, str, int]
    result: asyncio.Future[int | None]
    lookup: Lookup | None  # the sender whose turn will follow (not for a desk action)


class InboxWriter:
    """Group commit for `record_inbound`: one writer task drains the queue of callers."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._queue: list[_Waiting] = []
        self._flusher: asyncio.Task[None] | None = None
        # Read with the last event stored alone: its sender, what was found, and the
        # writer's changes then.
        self._fresh: tuple[Lookup, Found, int] | None = None

    def fresh(self, lookup: Lookup) -> Found | None:
        """What was read of `lookup`'s contact and open conversation as its event was stored,
        if no row has been written since; handed out once."""
        fresh, self._fresh = self._fresh, None
        if fresh is None or fresh[0] != lookup or fresh[2] != self._writer.changes:
            return None
        return fresh[1]

    async def record(self, event: Inbound, at: datetime) -> int | None:
        try:
            body = event.model_dump_json()
        except PydanticSerializationError as exc:  # a value JSON cannot hold
            raise Unstorable(f"the event cannot be stored: {exc}") from exc
        row = (event.channel, event.event_id, str(event.conversation_key), body, to_micros(at))
        lookup = (event.channel, event.contact.external_id) if event.action is None else None
        waiting = _Waiting(row, asyncio.get_running_loop().create_future(), lookup)
        self._queue.append(waiting)
        if self._flusher is None:
            # A task of its own, not the first caller's coroutine: a caller that is cancelled
            # (its HTTP request dropped) must not strand the others queued behind it.
            self._flusher = asyncio.create_task(self._flush(), name="sqlite-inbox-commit")
        return await waiting.result

    async def drain(self) -> None:
        """Wait until every queued event is committed (or has failed); used on close."""
        if self._flusher is not None:
            # wait() rather than await: a flusher cancelled by loop shutdown is not our error.
            await asyncio.wait({self._flusher})

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch = self._queue[:MAX_BATCH]
                del self._queue[:MAX_BATCH]
                await self._commit(batch)
        finally:
            self._flusher = None
            # Only non-empty when this task was cancelled: nobody will commit these now.
            stranded, self._queue = self._queue, []
            for waiting in stranded:
                _fail(waiting, StoreUnavailable("the store closed before the event was stored"))

    async def _commit(self, batch: list[_Waiting]) -> None:
        # Callers that gave up are left out; the platform delivers their event again.
        live = [waiting for waiting in batch if not waiting.result.done()]
        if not live:
            return
        lookup = live[0].lookup if len(live) == 1 else None
        try:
            rows = [waiting.row for waiting in live]
            if lookup is None:
                ids = await self._writer.unit(partial(_insert_all, rows))
            else:
                ids = await self._insert_alone(rows, lookup)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                for waiting in live:
                    _fail(waiting, StoreUnavailable("the inbound event was not stored"))
                raise
            error = store_error(exc)
            if not isinstance(error, StoreUnavailable) and len(live) > 1:
                # One event the store can never take must not fail those sharing its commit.
                for waiting in live:
                    await self._commit([waiting])
                return
            log.warning("could not store %d inbound events: %r", len(live), exc)
            for waiting in live:
                _fail(waiting, error)
            return
        for waiting, inbox_id in zip(live, ids, strict=True):
            if not waiting.result.done():
                waiting.result.set_result(inbox_id)

    async def _insert_alone(
        self, rows: list[tuple[str, str, str, str, int]], lookup: Lookup
    ) -> list[int | None]:
        writer = self._writer
        ids, found, changes = await writer.unit(
            partial(_insert_and_look, rows, lookup, writer.quiet)
        )
        # Committed; and if nobody has written since the read, it is what the file holds.
        self._fresh = (lookup, found, changes) if changes == writer.changes else None
        return ids


def _insert_and_look(
    rows: list[tuple[str, str, str, str, int]],
    lookup: Lookup,
    quiet: QuietChanges,
    conn: sqlite3.Connection,
) -> tuple[list[int | None], Found, int]:
    ids = _insert_all(rows, conn)
    found = conversations.contact_and_open_conversation(*lookup, conn)
    return ids, found, quiet.changes(conn)


def _fail(waiting: _Waiting, error: Exception) -> None:
    if not waiting.result.done():
        waiting.result.set_exception(error)


# Rows per INSERT: 5 parameters each stays far below SQLite's oldest variable limit (999).
_ROWS_PER_INSERT = 150


def _insert_all(
    rows: list[tuple[str, str, str, str, int]], conn: sqlite3.Connection
) -> list[int | None]:
    """Insert many events with one statement per chunk; each row's new id, or None for an
    event already stored (or repeated earlier in the same batch). Runs on the connection's
    thread (`Writer.unit`)."""
    ids: dict[tuple[str, str], int] = {}
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        values = ", ".join(["(?, ?, ?, ?, ?)"] * len(chunk))
        inserted = conn.execute(
            "INSERT INTO inbox (channel, event_id, contact_key, event, received_at) "
            f"VALUES {values} ON CONFLICT (channel, event_id) DO NOTHING "
            "RETURNING id, channel, event_id",
            [value for row in chunk for value in row],
        ).fetchall()
        for row in inserted:
            ids[(row["channel"], row["event_id"])] = int(row["id"])
    answers: list[int | None] = []
    for channel, event_id, *_ in rows:
        # The first caller with a key gets its id; a repeat in the same batch is a duplicate.
        answers.append(ids.pop((channel, event_id), None))
    return answers


async def pending(conn: aiosqlite.Connection, limit: int, after_id: int) -> list[StoredInbound]:
    rows = await fetch_all(
        conn,
        """
        SELECT id, received_at, event FROM inbox
        WHERE processed_at IS NULL AND id > ?
        ORDER BY id LIMIT ?
        """,
        (after_id, limit),
    )
    return [stored_inbound_from(row, TIMES) for row in rows]


async def processed(conn: aiosqlite.Connection, inbound_id: int) -> bool:
    """Processed or set aside; an event no longer stored was too (retention deletes only
    those)."""
    row = await fetch_one(conn, "SELECT processed_at FROM inbox WHERE id = ?", (inbound_id,))
    return row is None or row[0] is not None


async def load(conn: aiosqlite.Connection, inbound_id: int) -> StoredInbound | None:
    row = await fetch_one(
        conn, "SELECT id, received_at, event FROM inbox WHERE id = ?", (inbound_id,)
    )
    return None if row is None else stored_inbound_from(row, TIMES)


# Exact (one row must change): a second turn for an event processed already (handed over
# again by a read made before the first turn committed) fails at its commit instead of
# running twice; the engine then finds it processed (`processed`) and leaves it.
MARK_PROCESSED = "UPDATE inbox SET processed_at = ? WHERE id = ? AND processed_at IS NULL"

# Set aside: no longer retried, kept with the reason for someone to look at.
SET_ASIDE = """
    UPDATE inbox SET processed_at = ?, error = ? WHERE id = ? AND processed_at IS NULL
"""


async def parked(conn: aiosqlite.Connection, limit: int) -> list[ParkedInbound]:
    # A scan of the inbox: this serves a person looking, not the event path.
    rows = await fetch_all(
        conn,
        """
        SELECT id, received_at, processed_at, error, event FROM inbox
        WHERE error IS NOT NULL AND processed_at IS NOT NULL
        ORDER BY processed_at DESC, id DESC LIMIT ?
        """,
        (limit,),
    )
    return [parked_inbound_from(row, TIMES) for row in rows]


async def unpark(conn: aiosqlite.Connection, inbound_id: int) -> StoredInbound | None:
    row = await fetch_one(
        conn,
        """
        UPDATE inbox SET processed_at = NULL, error = NULL
        WHERE id = ? AND error IS NOT NULL AND processed_at IS NOT NULL
        RETURNING id, received_at, event
        """,
        (inbound_id,),
    )
    return None if row is None else stored_inbound_from(row, TIMES)


async def error_of(conn: aiosqlite.Connection, inbound_id: int) -> str | None:
    row = await fetch_one(conn, "SELECT error FROM inbox WHERE id = ?", (inbound_id,))
    return None if row is None else row["error"]
