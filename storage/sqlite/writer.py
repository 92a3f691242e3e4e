"""The one connection that writes, handed to one transaction at a time."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiosqlite

log = logging.getLogger(__name__)


class Writer:
    """The writer connection and the lock that makes each write transaction own it.

    aiosqlite runs a connection's statements on one thread in the order they are queued, but
    two coroutines could still queue statements of two transactions in between each other;
    the lock keeps one transaction on the connection from BEGIN to COMMIT or ROLLBACK.

    `BEGIN IMMEDIATE` takes SQLite's write lock up front, so a transaction never fails half
    way with SQLITE_BUSY when it first writes; another process is waited for (busy timeout).
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Committed when the block exits, rolled back (and re-raised) when it raises."""
        async with self._lock:
            try:
                # BEGIN is inside the try: a task cancelled while waiting for it has still
                # queued it, and must undo it like any other statement it queued.
                await self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                await self._conn.execute("COMMIT")
            except BaseException:
                # Even when this task is being cancelled, the ROLLBACK is queued on the
                # connection's thread before the lock is released, so the next transaction's
                # BEGIN always runs after it.
                await _rollback(self._conn)
                raise

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for ONE statement outside any explicit transaction.

        SQLite makes a single statement atomic on its own (autocommit), so a one-statement
        write needs no BEGIN and COMMIT: one round trip to the connection's thread, not three.
        """
        async with self._lock:
            yield self._conn

    async def close(self) -> None:
        """Wait for the running transaction, then close the connection."""
        async with self._lock:
            try:
                # SQLite's advice for long-lived connections: refresh planner statistics.
                await self._conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                log.warning("PRAGMA optimize failed while closing", exc_info=True)
            await self._conn.close()


async def _rollback(conn: aiosqlite.Connection) -> None:
    try:
        await conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        # SQLite rolls back by itself after some errors (an I/O error, a full disk); then
        # there is nothing left to roll back. Anything else leaves the connection unusable.
        if "no transaction is active" not in str(exc):
            log.exception("rollback failed; the SQLite writer connection may be stuck")
