"""PostgresStore: the Store on PostgreSQL, shared by any number of frontdesk replicas.

Everything that one SQLite process coordinates in memory is coordinated by the database:
a conversation's turns by an advisory lock on its key (see `transaction`), assignment by row
locks on the team and its agents (see `directory`), and work in flight (inbound events,
timers, outbound leases) by owner and heartbeat (see `replicas`, `work`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import ClassVar, TypeVar

import asyncpg
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from core.agents import Agent, AgentStatus
from core.errors import CHANGED, ConcurrentUpdate, StoreUnavailable, Unstorable
from core.models import (
    Contact,
    Conversation,
    DeskThread,
    Inbound,
    OutboxItem,
    StoredInbound,
    Timer,
)
from core.pacing import SendLimits
from core.ports import TakenBack
from core.retention import Cutoffs, Purged
from storage.postgres import (
    desk_threads,
    directory,
    reads,
    records,
    replicas,
    rows,
    send_windows,
    work,
)
from storage.postgres.leadership import Leaders
from storage.postgres.pool import DRIVER_ERRORS, as_store_error, create_pool
from storage.postgres.reads import Conn
from storage.postgres.records import PostgresRecords
from storage.postgres.rows import aware
from storage.postgres.schema import migrate
from storage.postgres.settings import PostgresSettings
from storage.postgres.transaction import PostgresTransaction, Write

T = TypeVar("T")

SAVE_CURSOR = """
    INSERT INTO cursors (name, value) VALUES ($1, $2)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value
"""
PROBE = "INSERT INTO cursors (name, value) VALUES ('frontdesk:readiness', '')"


class PostgresStore(PostgresRecords):
    """The Store port on PostgreSQL (entry point `frontdesk.stores: postgres`), with the
    Records port (see `records`), the Leadership port, the SendWindows port
    (`core.shared_pacing`) and the Takeover port (`core.takeover`)."""

    settings_model: ClassVar[type[BaseModel]] = PostgresSettings

    def __init__(self, settings: PostgresSettings, base_dir: Path) -> None:
        self._settings = settings
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._heartbeat: replicas.Heartbeat | None = None
        self._leaders = Leaders(settings)
        self.replica = replicas.new_id()
        # The channels whose messages in flight are not sent again after their sender died
        # (`after_crash: skip`), as the runtime said at `take_back`.
        self._uncertain_channels: frozenset[str] = frozenset()

    async def open(self) -> None:
        """Connect, bring the schema up to date and join the replicas."""
        if self._pool is not None:
            raise RuntimeError(f"the store on {self._settings.where()} is already open")
        pool = await create_pool(self._settings)
        try:
            async with pool.acquire() as conn:
                await migrate(conn, self._settings.schema_name)
            heartbeat = replicas.Heartbeat(self._settings, self.replica)
            await heartbeat.start()
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, DRIVER_ERRORS):
                raise StoreUnavailable(
                    f"cannot open PostgreSQL at {self._settings.where()}: {exc}"
                ) from exc
            raise
        self._pool, self._heartbeat = pool, heartbeat

    async def close(self) -> None:
        pool, heartbeat = self._pool, self._heartbeat
        self._pool, self._heartbeat = None, None
        await self._leaders.close()
        try:
            if heartbeat is not None:
                await heartbeat.stop()
        finally:
            if pool is not None:
                await pool.close()

    async def check_writable(self) -> None:
        pool = self._db()
        try:
            async with pool.acquire() as conn:
                tx = conn.transaction()
                await tx.start()
                try:
                    await conn.execute(PROBE)
                finally:
                    await tx.rollback()
        except DRIVER_ERRORS as exc:
            raise StoreUnavailable(
                f"PostgreSQL at {self._settings.where()} is not writable: {exc}"
            ) from exc

    async def purge(self, cutoffs: Cutoffs) -> Purged:
        return await self._run(records.purge(self._db(), cutoffs))

    # leadership ---------------------------------------------------------------------------

    async def lead(self, job: str) -> bool:
        """Whether this replica is the one doing `job` (see `leadership`)."""
        return await self._leaders.lead(job)

    def leader_pid(self) -> int | None:
        """The server pid of the connection holding this replica's leads, if it has one."""
        return self._leaders.server_pid()

    # send windows (core.shared_pacing.SendWindows) ----------------------------------------

    async def reserve_send(
        self,
        bot: str,
        chat: str | None,
        limits: SendLimits,
        now: datetime,
        holder: str | None,
        lease: timedelta,
    ) -> float:
        return await send_windows.reserve(self._db(), bot, chat, limits, now, holder, lease)

    async def release_send(
        self, bot: str, chat: str | None, limits: SendLimits, now: datetime, holder: str
    ) -> None:
        await send_windows.release(self._db(), bot, chat, limits, now, holder)

    async def pause_sends(self, bot: str, until: datetime) -> None:
        await send_windows.pause(self._db(), bot, until)

    # inbox --------------------------------------------------------------------------------

    async def record_inbound(self, event: Inbound, at: datetime) -> int | None:
        """The new inbox id, or None when (channel, event_id) is stored already; durable when
        it returns. `Unstorable` for an event the database can never take."""
        try:
            body = event.model_dump_json()
        except PydanticSerializationError as exc:  # a value JSON cannot hold
            raise Unstorable(f"the event cannot be stored: {exc}") from exc
        try:
            found: int | None = await self._db().fetchval(
                work.RECORD,
                event.channel,
                event.event_id,
                str(event.conversation_key),
                body,
                aware(at),
                self.replica,
            )
        except DRIVER_ERRORS as exc:
            raise as_store_error(exc) from exc
        return found

    async def pending_inbound(self, limit: int, after_id: int = 0) -> list[StoredInbound]:
        """This replica's unprocessed events, with those of replicas that have died."""
        return await work.claim_pending(
            self._db(), self.replica, self._settings.owner_timeout_seconds, limit, after_id
        )

    async def inbound_processed(self, inbound_id: int) -> bool:
        return await work.processed(self._db(), inbound_id)

    @property
    def takeover_seconds(self) -> float:
        """How often to look for a dead replica's events: as often as replicas beat."""
        return self._settings.heartbeat_seconds

    async def orphaned_inbound(self, limit: int) -> list[StoredInbound]:
        """Unprocessed events of replicas that are gone (see `replicas`), now this one's."""
        return await work.claim_orphaned(
            self._db(), self.replica, self._settings.owner_timeout_seconds, limit
        )

    async def orphaned_outbound(self) -> list[OutboxItem]:
        """Messages in flight when their replica died, on an `after_crash: skip` channel (as
        the runtime said at `take_back`): now uncertain, never sent again."""
        if not self._uncertain_channels:
            return []
        return await work.forsake(
            self._db(),
            self.replica,
            self._settings.owner_timeout_seconds,
            self._uncertain_channels,
        )

    async def set_inbound_aside(self, inbound_id: int, at: datetime, error: str) -> None:
        await self._db().execute(work.SET_ASIDE, aware(at), error, inbound_id)

    async def unpark_inbound(self, inbound_id: int) -> StoredInbound | None:
        return await self._run(work.unpark(self._db(), self.replica, inbound_id))

    # cursors ------------------------------------------------------------------------------

    async def load_cursor(self, name: str) -> str | None:
        found: str | None = await self._db().fetchval(
            "SELECT value FROM cursors WHERE name = $1", name
        )
        return found

    async def save_cursor(self, name: str, value: str) -> None:
        await self._run(self._db().execute(SAVE_CURSOR, name, value))

    def transaction(self) -> AbstractAsyncContextManager[PostgresTransaction]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[PostgresTransaction]:
        pool = self._db()
        try:
            async with pool.acquire() as conn:
                control = conn.transaction()
                await control.start()
                tx = PostgresTransaction(conn, self.replica)
                try:
                    yield tx
                    await _flush(conn, tx.writes)
                except BaseException:
                    if not conn.is_closed():
                        try:
                            await control.rollback()
                        except DRIVER_ERRORS:
                            conn.terminate()  # the pool replaces it
                    raise
                finally:
                    tx.end()
                await control.commit()
        except DRIVER_ERRORS as exc:
            raise as_store_error(exc) from exc

    # outbox -------------------------------------------------------------------------------

    async def claim_due_outbound(
        self, now: datetime, limit: int, lease_seconds: float
    ) -> list[OutboxItem]:
        """Due heads of lanes, with the leases of replicas that died meanwhile, but for those
        on an `after_crash: skip` channel: `orphaned_outbound` sets them uncertain."""
        return await work.claim_outbound(
            self._db(),
            self.replica,
            self._settings.owner_timeout_seconds,
            now,
            limit,
            lease_seconds,
            self._uncertain_channels,
        )

    async def mark_sent(self, item_id: int, at: datetime) -> None:
        await self._db().execute(work.MARK_SENT, aware(at), item_id)

    async def mark_retry(self, item_id: int, next_attempt_at: datetime, error: str) -> None:
        await self._db().execute(work.MARK_RETRY, aware(next_attempt_at), error, item_id)

    async def mark_deferred(self, item_id: int, next_attempt_at: datetime) -> None:
        await self._db().execute(work.MARK_DEFERRED, aware(next_attempt_at), item_id)

    async def mark_failed(self, item_id: int, at: datetime, error: str) -> None:
        await self._db().execute(work.MARK_FAILED, aware(at), error, item_id)

    async def mark_unreachable(self, channel: str, external_id: str, at: datetime) -> None:
        await self._db().execute(rows.MARK_UNREACHABLE, aware(at), channel, external_id)

    async def next_outbound_due(self) -> datetime | None:
        return await work.next_outbound_due(self._db())

    # work a stopped replica held ----------------------------------------------------------

    async def take_back(self, now: datetime, uncertain_channels: Collection[str]) -> TakenBack:
        """Only the leases of replicas that have stopped (signed off, or silent past the owner
        timeout): the work of live replicas stays theirs. `uncertain_channels` hold for the
        replicas that die later too (see `orphaned_outbound`)."""
        self._uncertain_channels = frozenset(uncertain_channels)
        async with self._db().acquire() as conn, conn.transaction():
            return await work.take_back(
                conn,
                self.replica,
                self._settings.owner_timeout_seconds,
                now,
                uncertain_channels,
            )

    # timers -------------------------------------------------------------------------------

    async def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        """Due timers that are this replica's to fire (see `work.claim_timers`)."""
        return await work.claim_timers(
            self._db(), self.replica, self._settings.owner_timeout_seconds, now, limit
        )

    async def next_timer_due(self) -> datetime | None:
        return await work.next_timer_due(
            self._db(), self.replica, self._settings.owner_timeout_seconds
        )

    # agents and teams ---------------------------------------------------------------------

    async def sync_directory(self, agents: Sequence[Agent], teams: dict[str, list[str]]) -> None:
        async with self._db().acquire() as conn, conn.transaction():
            # Replicas starting at once sync one after the other.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('frontdesk:directory'))")
            await directory.sync(conn, agents, teams)

    async def set_agent_status(self, agent_id: str, status: AgentStatus) -> Agent | None:
        return await directory.set_status(self._db(), agent_id, status)

    async def teams_of(self, agent_id: str) -> list[str]:
        return await directory.teams_of(self._db(), agent_id)

    async def queued_conversations(
        self, teams: Sequence[str], limit: int, *, agent_id: str | None = None
    ) -> list[Conversation]:
        return await reads.queued(self._db(), teams, limit, agent_id)

    async def list_agents(self) -> list[Agent]:
        return await directory.list_all(self._db())

    async def open_assigned(self, agent_id: str) -> list[Conversation]:
        return await reads.open_assigned(self._db(), agent_id)

    # the desk -----------------------------------------------------------------------------

    async def save_thread(self, thread: DeskThread) -> None:
        await desk_threads.save(self._db(), thread)

    async def threads_of(self, handoff_id: str) -> list[DeskThread]:
        return await desk_threads.threads_of(self._db(), handoff_id)

    async def thread_at(self, desk: str, place: str, ts: str) -> DeskThread | None:
        return await desk_threads.thread_at(self._db(), desk, place, ts)

    # reading what a turn's key or a host bot's routing needs ------------------------------

    async def load_conversation(self, conversation_id: str) -> Conversation | None:
        return await reads.load_conversation(self._db(), conversation_id)

    async def load_contact(self, contact_id: str) -> Contact | None:
        return await reads.load_contact(self._db(), contact_id)

    async def open_conversation(self, channel: str, external_id: str) -> Conversation | None:
        return await reads.open_conversation(self._db(), channel, external_id)

    # connections --------------------------------------------------------------------------

    def _db(self) -> asyncpg.Pool[asyncpg.Record]:
        if self._pool is None:
            raise StoreUnavailable("the PostgreSQL store is not open")
        return self._pool

    async def _run(self, work: Awaitable[T]) -> T:
        """A write a caller waits on to be durable: any driver failure is StoreUnavailable."""
        try:
            return await work
        except DRIVER_ERRORS as exc:
            raise StoreUnavailable(
                f"PostgreSQL at {self._settings.where()} did not store it: {exc}"
            ) from exc


async def _flush(conn: Conn, writes: list[Write]) -> None:
    """Run the queued writes in order: runs of one statement as one `executemany`, and each
    exact write alone, checked to have changed exactly one row."""
    for (sql, exact), run in groupby(writes, key=lambda write: (write.sql, write.exact)):
        batch = list(run)
        if not exact:
            await conn.executemany(sql, [write.args for write in batch])
            continue
        for write in batch:
            status = await conn.execute(sql, *write.args)
            if not status.endswith(" 1"):
                raise ConcurrentUpdate(CHANGED)
