"""Which replica does a job only one may do at a time (polling one Telegram bot).

Leadership is a session-level advisory lock (`pg_try_advisory_lock`) held on a connection of
its own: while the leader's connection lives it keeps the lock, and when the leader dies the
server ends its session and frees the lock, so another replica's next ask takes it over.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from storage.postgres.pool import DRIVER_ERRORS, connect
from storage.postgres.settings import PostgresSettings

log = logging.getLogger("frontdesk.store.postgres")


class Leaders:
    def __init__(self, settings: PostgresSettings) -> None:
        self._settings = settings
        self._conn: asyncpg.Connection[asyncpg.Record] | None = None
        self._held: set[str] = set()
        self._lock = asyncio.Lock()

    async def lead(self, job: str) -> bool:
        """Whether this replica leads `job` now, taking the lead when nobody holds it."""
        async with self._lock:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._held.clear()
                    self._conn = await connect(self._settings)
                if job in self._held:
                    await self._conn.fetchval("SELECT 1")  # the connection (and lock) lives
                    return True
                # Advisory locks span the database: the schema keeps deployments apart.
                key = f"{self._settings.schema_name}:{job}"
                if await self._conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key):
                    self._held.add(job)
                    return True
                return False
            except (*DRIVER_ERRORS, TimeoutError) as exc:
                log.warning("cannot tell who leads %s: %r", job, exc)
                self._abandon()
                return False

    def server_pid(self) -> int | None:
        """The server process of the leading connection (for operators: pg_stat_activity)."""
        return None if self._conn is None else self._conn.get_server_pid()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=5)
            except (*DRIVER_ERRORS, TimeoutError):
                conn.terminate()

    def _abandon(self) -> None:
        """Drop a connection that failed: whatever it held is lost with it."""
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None:
            conn.terminate()
