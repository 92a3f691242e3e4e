"""SqliteStore: the default Store, one database file in WAL mode.

One writer connection does every write, one transaction at a time (see `Writer`); a second
connection serves the read-only methods, which WAL lets run beside a write. Inbound events are
stored by group commit (see `inbox`).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import aiosqlite
from pydantic import BaseModel

from core.agents import Agent, AgentStatus
from core.errors import StoreUnavailable
from core.models import (
    Contact,
    Conversation,
    DeskThread,
    Inbound,
    OutboxItem,
    StoredInbound,
    Timer,
)
from core.ports import TakenBack
from core.retention import Cutoffs, Purged
from storage.rows import thread_values
from storage.sqlite import (
    backup,
    conversations,
    desk_threads,
    directory,
    inbox,
    outbox,
    retention,
    timers,
)
from storage.sqlite.checkpoint import Checkpointer
from storage.sqlite.claims import Claims
from storage.sqlite.codec import to_micros
from storage.sqlite.connection import connect, fetch_one
from storage.sqlite.in_thread import QuietChanges
from storage.sqlite.records import SqliteRecords
from storage.sqlite.schema import migrate
from storage.sqlite.settings import SqliteSettings
from storage.sqlite.transaction import SqliteTransaction
from storage.sqlite.writer import Writer

LOAD_CURSOR = "SELECT value FROM cursors WHERE name = ?"
SAVE_CURSOR = """
    INSERT INTO cursors (name, value) VALUES (?, ?)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value
"""
# The readiness probe's write, always undone: it needs SQLite's write lock and a writable
# database, but never reaches the disk.
PROBE = "INSERT INTO cursors (name, value) VALUES ('frontdesk:readiness', '')"


class _Undo(Exception):
    """Raised inside the probe's transaction to roll its write back."""


class SqliteStore(SqliteRecords):
    """The Store port on SQLite (entry point `frontdesk.stores: sqlite`), and the Records
    port that operators read through (see `records`).

    Times go in timezone-aware and come out in UTC, equal to what went in. Ids of inbox rows
    grow in commit order (there is one writer), so paging with `after_id` never skips a row.
    """

    settings_model: ClassVar[type[BaseModel]] = SqliteSettings

    def __init__(self, settings: SqliteSettings, base_dir: Path) -> None:
        self._settings = settings
        self.path = settings.database_file(base_dir)
        self._writer: Writer | None = None
        self._claims: Claims | None = None
        self._reader: aiosqlite.Connection | None = None
        # Reads the inbox's pending events (a backlog read back, the sweep's): thousands of
        # events' pages, kept out of the reader's page cache, where a turn's lookups of
        # contacts and conversations would have to find their pages again.
        self._backlog_reader: aiosqlite.Connection | None = None
        self._inbox: inbox.InboxWriter | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of the file opened

    async def open(self) -> None:
        """Connect, switch to WAL and bring the schema up to date (idempotent)."""
        if self._writer is not None:
            raise RuntimeError(f"the store on {self.path} is already open")
        try:
            conn = await connect(self.path, self._settings, writer=True)
        except sqlite3.Error as exc:  # such as a file that is not a database
            raise StoreUnavailable(f"cannot open SQLite database {self.path}: {exc}") from exc
        try:
            wal = self.path.with_name(self.path.name + "-wal")
            checkpointer = Checkpointer(await connect(self.path, self._settings, writer=False), wal)
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreUnavailable(f"cannot open SQLite database {self.path}: {exc}") from exc
            raise
        writer = Writer(conn, QuietChanges({outbox.MARK_SENT: outbox.sent_alone}), checkpointer)
        try:
            await migrate(writer)
            reader = await connect(self.path, self._settings, writer=False)
            try:
                backlog_reader = await connect(self.path, self._settings, writer=False)
            except BaseException:
                await reader.close()
                raise
        except BaseException as exc:
            await writer.close()
            if isinstance(exc, sqlite3.Error):  # such as a database that is read-only
                raise StoreUnavailable(f"cannot open SQLite database {self.path}: {exc}") from exc
            raise
        self._writer, self._reader, self._backlog_reader = writer, reader, backlog_reader
        self._claims = Claims(writer)
        self._inbox = inbox.InboxWriter(writer)
        found = os.stat(self.path)
        self._file = (found.st_dev, found.st_ino)

    async def close(self) -> None:
        """Let queued inbound events commit, then close the connections (the writer closes
        the checkpointer's)."""
        pending_inbox, writer, reader = self._inbox, self._writer, self._reader
        backlog_reader, self._backlog_reader = self._backlog_reader, None
        self._inbox, self._writer, self._reader = None, None, None
        if self._claims is not None:
            self._claims.forget()
        self._claims = None
        try:
            if pending_inbox is not None:
                await pending_inbox.drain()
        finally:
            try:
                if writer is not None:
                    await writer.close()
            finally:
                try:
                    if reader is not None:
                        await reader.close()
                finally:
                    if backlog_reader is not None:
                        await backlog_reader.close()

    async def check_writable(self) -> None:
        """Raise StoreUnavailable when the database file is gone or replaced (the store
        would go on writing to a file nobody will open again), when its folder is not
        writable (a restart could not open it), or when a write cannot take SQLite's write
        lock (another process holds it, the database is read-only). A full disk shows only
        at a commit, and is reported by the writes that fail."""
        writer = self._writer_or_fail()
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            raise StoreUnavailable(f"the database file {self.path} has been removed") from None
        if (found.st_dev, found.st_ino) != self._file:
            raise StoreUnavailable(f"the database file {self.path} has been replaced")
        if not os.access(self.path.parent, os.W_OK):
            raise StoreUnavailable(f"the folder of {self.path} is not writable")
        try:
            async with writer.transaction() as conn:
                await conn.execute(PROBE)
                raise _Undo
        except _Undo:
            pass
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite database {self.path} is not writable: {exc}") from exc

    async def purge(self, cutoffs: Cutoffs) -> Purged:
        return await retention.purge(self._writer_or_fail(), cutoffs)

    async def backup(self, target: Path) -> None:
        """A consistent copy by SQLite's online backup API, safe while serving."""
        await asyncio.to_thread(backup.copy, self.path, target)

    # inbox --------------------------------------------------------------------------------

    async def record_inbound(self, event: Inbound, at: datetime) -> int | None:
        """The new inbox id, or None when (channel, event_id) is stored already.

        Durable when it returns (to the level `synchronous` promises). Concurrent calls share
        one commit. Any failure to store raises `StoreUnavailable`.
        """
        if self._inbox is None:
            raise StoreUnavailable("the SQLite store is not open")
        return await self._inbox.record(event, at)

    async def pending_inbound(self, limit: int, after_id: int = 0) -> list[StoredInbound]:
        return await inbox.pending(self._read(backlog=True), limit, after_id)

    async def inbound_processed(self, inbound_id: int) -> bool:
        return await inbox.processed(self._read(), inbound_id)

    async def set_inbound_aside(self, inbound_id: int, at: datetime, error: str) -> None:
        await self._writer_or_fail().later(inbox.SET_ASIDE, (to_micros(at), error, inbound_id))

    async def unpark_inbound(self, inbound_id: int) -> StoredInbound | None:
        async with self._write() as conn:
            return await inbox.unpark(conn, inbound_id)

    # cursors ------------------------------------------------------------------------------

    async def load_cursor(self, name: str) -> str | None:
        row = await fetch_one(self._read(), LOAD_CURSOR, (name,))
        return str(row[0]) if row is not None else None

    async def save_cursor(self, name: str, value: str) -> None:
        """Committed when it returns (it shares a group commit with other writes)."""
        async with self._write() as conn:
            await conn.execute(SAVE_CURSOR, (name, value))

    def transaction(self) -> AbstractAsyncContextManager[SqliteTransaction]:
        """A write transaction: committed when the block exits, rolled back (and the error
        re-raised) when it raises. Their writes run one at a time; their reads, until they
        hold the writer (see `SqliteTransaction`), do not."""
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[SqliteTransaction]:
        writer = self._writer_or_fail()
        inbox_writer = self._inbox
        assert inbox_writer is not None  # open with the writer
        async with writer.buffered() as member:
            tx = SqliteTransaction(member, self._read(), inbox_writer.fresh)
            try:
                yield tx
            finally:
                tx.end()

    # outbox -------------------------------------------------------------------------------

    async def claim_due_outbound(
        self, now: datetime, limit: int, lease_seconds: float
    ) -> list[OutboxItem]:
        """Due heads of lanes (see `outbox`), oldest first, leased for `lease_seconds`. Most
        claims cost no call to the thread (see `claims`): those a turn's commit made ahead
        are handed out, and while the writer has changed no row since a short claim but
        quiet ones, nothing else has become due but what that claim counted."""
        return await self._claims_or_fail().claim(now, limit, lease_seconds)

    async def mark_sent(self, item_id: int, at: datetime) -> None:
        """Committed before any more engine work joins the group: the shorter the time from
        the platform's answer to this commit, the fewer messages a crash has sent again."""
        self._claims_or_fail().marked(item_id)
        await self._writer_or_fail().later(outbox.MARK_SENT, (to_micros(at), item_id), urgent=True)

    async def mark_retry(self, item_id: int, next_attempt_at: datetime, error: str) -> None:
        """Still pending, due again at `next_attempt_at`; its lane waits for it."""
        self._claims_or_fail().marked(item_id)
        await self._writer_or_fail().later(
            outbox.MARK_RETRY, (to_micros(next_attempt_at), error, item_id)
        )

    async def mark_deferred(self, item_id: int, next_attempt_at: datetime) -> None:
        """Still pending, due again at `next_attempt_at`; not counted as an attempt."""
        self._claims_or_fail().marked(item_id)
        await self._writer_or_fail().later(
            outbox.MARK_DEFERRED, (to_micros(next_attempt_at), item_id)
        )

    async def mark_failed(self, item_id: int, at: datetime, error: str) -> None:
        """Given up; the lane's next message may go."""
        self._claims_or_fail().marked(item_id)
        await self._writer_or_fail().later(outbox.MARK_FAILED, (to_micros(at), error, item_id))

    async def mark_unreachable(self, channel: str, external_id: str, at: datetime) -> None:
        await self._writer_or_fail().later(
            conversations.MARK_UNREACHABLE, (to_micros(at), channel, external_id)
        )

    async def next_outbound_due(self) -> datetime | None:
        """When a claim could next return something (None: nothing pending). The answer a
        short claim found stands while the writer has changed no row since but quiet ones."""
        known, due = self._claims_or_fail().next_due()
        if known:
            return due
        return await outbox.next_due(self._read())

    # work a stopped process held ---------------------------------------------------------

    async def take_back(self, now: datetime, uncertain_channels: Collection[str]) -> TakenBack:
        """Every lease: the process that opened this file is its only user (see `Store`)."""
        self._claims_or_fail().taken_back(uncertain_channels)
        async with self._write() as conn:
            resent, uncertain = await outbox.take_back(conn, uncertain_channels)
            cursor = await conn.execute(timers.TAKE_BACK, {"now": to_micros(now)})
            return TakenBack(resent=resent, uncertain=uncertain, requests=cursor.rowcount)

    # timers -------------------------------------------------------------------------------

    async def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        return await timers.due(self._read(), now, limit)

    async def next_timer_due(self) -> datetime | None:
        return await timers.next_due(self._read())

    # agents and teams ---------------------------------------------------------------------

    async def sync_directory(self, agents: Sequence[Agent], teams: dict[str, list[str]]) -> None:
        """Upsert the listed agents (a stored agent keeps its status), delete the others,
        and set each team's members in list order, which round robin follows. A team that
        stays keeps its round-robin cursor. Raises ValueError for a team naming an unknown
        agent or an agent listed twice."""
        async with self._write() as conn:
            await directory.sync(conn, agents, teams)

    async def set_agent_status(self, agent_id: str, status: AgentStatus) -> Agent | None:
        async with self._write() as conn:
            return await directory.set_status(conn, agent_id, status)

    async def teams_of(self, agent_id: str) -> list[str]:
        return await directory.teams_of(self._read(), agent_id)

    async def queued_conversations(
        self, teams: Sequence[str], limit: int, *, agent_id: str | None = None
    ) -> list[Conversation]:
        """Open, unassigned conversations waiting for these teams or this agent, longest
        waiting first."""
        return await conversations.queued(self._read(), teams, limit, agent_id)

    async def list_agents(self) -> list[Agent]:
        """Every agent, by id."""
        return await directory.list_all(self._read())

    async def open_assigned(self, agent_id: str) -> list[Conversation]:
        """The agent's open conversations, oldest first."""
        return await conversations.open_assigned(self._read(), agent_id)

    # the desk -----------------------------------------------------------------------------

    async def save_thread(self, thread: DeskThread) -> None:
        """Committed when it returns; one stored at the same (desk, place, ts) is kept. A
        thread of an unknown conversation raises `sqlite3.IntegrityError`."""
        async with self._write() as conn:
            await conn.execute(desk_threads.SAVE_THREAD, thread_values(thread))

    async def threads_of(self, handoff_id: str) -> list[DeskThread]:
        """The posts of the handoff notice, in the order they were saved."""
        return await desk_threads.threads_of(self._read(), handoff_id)

    async def thread_at(self, desk: str, place: str, ts: str) -> DeskThread | None:
        return await desk_threads.thread_at(self._read(), desk, place, ts)

    # reading what a turn's key or a host bot's routing needs ------------------------------

    async def load_conversation(self, conversation_id: str) -> Conversation | None:
        return await conversations.load_conversation(self._read(), conversation_id)

    async def load_contact(self, contact_id: str) -> Contact | None:
        return await conversations.load_contact(self._read(), contact_id)

    async def open_conversation(self, channel: str, external_id: str) -> Conversation | None:
        return await conversations.open_conversation(self._read(), channel, external_id)

    # connections --------------------------------------------------------------------------

    def _claims_or_fail(self) -> Claims:
        if self._claims is None:
            raise StoreUnavailable("the SQLite store is not open")
        return self._claims

    def _writer_or_fail(self) -> Writer:
        if self._writer is None:
            raise StoreUnavailable("the SQLite store is not open")
        return self._writer

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._writer_or_fail().transaction()

    def _read(self, backlog: bool = False) -> aiosqlite.Connection:
        """The reader, or with `backlog` the connection that reads the pending events."""
        conn = self._backlog_reader if backlog else self._reader
        if conn is None:
            raise StoreUnavailable("the SQLite store is not open")
        return conn
