"""Opening connections to the database file, and small helpers for running statements."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from core.errors import ConcurrentUpdate, StoreUnavailable, Unstorable
from storage.sqlite import checkpoint
from storage.sqlite.settings import SqliteSettings

Params = Iterable[Any]
T = TypeVar("T")

# The constraint failures that mean "another writer got there first", as opposed to a
# NOT NULL, CHECK or foreign key failure, which are bugs and must not be retried.
_CONFLICTS = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})

# Failures caused by the values written, which the same write meets every time: text Python
# cannot encode as UTF-8 (UnicodeEncodeError is a ValueError), an integer beyond SQLite's 64
# bits, a value of a type sqlite3 cannot bind, and constraint failures other than conflicts.
# https://docs.python.org/3/library/sqlite3.html#exceptions
_UNSTORABLE = (
    ValueError,
    OverflowError,
    TypeError,
    sqlite3.DataError,
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
)


async def connect(path: Path, settings: SqliteSettings, *, writer: bool) -> aiosqlite.Connection:
    """A connection with the store's pragmas; the writer also switches the file to WAL.

    `isolation_level=None` stops Python's sqlite3 from opening transactions on its own: the
    store says BEGIN IMMEDIATE / COMMIT / ROLLBACK itself. sqlite3's `timeout` is SQLite's
    busy timeout, so a second process holding the write lock is waited for, not failed.
    """
    try:
        # Open the file once with plain sqlite3 first. When aiosqlite (0.22) fails to connect,
        # its worker thread reports to the event loop afterwards, unawaited, and errors if the
        # loop has closed by then; failing here instead gives a clean error.
        await asyncio.to_thread(_probe, path)
        conn = await aiosqlite.connect(
            path, isolation_level=None, timeout=settings.busy_timeout_ms / 1000
        )
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot open SQLite database {path}: {exc}") from exc
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA foreign_keys = ON")
        if writer:
            await conn.execute(f"PRAGMA synchronous = {settings.synchronous.upper()}")
            # Checkpoints run beside the writer, on a connection of their own (`checkpoint`),
            # and a log started again gives its file's room back past `limit_bytes`.
            await conn.execute("PRAGMA wal_autocheckpoint = 0")
            await conn.execute(f"PRAGMA journal_size_limit = {checkpoint.limit_bytes()}")
            mode = await fetch_one(conn, "PRAGMA journal_mode = WAL")
            if mode is None or str(mode[0]).lower() != "wal":
                raise StoreUnavailable(
                    f"SQLite database {path} cannot use WAL journaling (got {mode and mode[0]!r})"
                )
        else:
            # The reader is for reads only; make a slip into writing fail loudly.
            await conn.execute("PRAGMA query_only = ON")
    except BaseException:
        await conn.close()
        raise
    return conn


def _probe(path: Path) -> None:
    sqlite3.connect(path).close()


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> list[sqlite3.Row]:
    return list(await conn.execute_fetchall(sql, params))


async def fetch_one(
    conn: aiosqlite.Connection, sql: str, params: Params = ()
) -> sqlite3.Row | None:
    rows = await fetch_all(conn, sql, params)
    return rows[0] if rows else None


async def on_worker(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work` on the connection's own thread as one call: several statements for the
    price of one hand-off from the event loop to the thread and back (each costs tens of
    microseconds of the loop's time, and a wake-up). aiosqlite runs every method this way
    but (0.22) offers no public call for a function of ours, hence its `_execute`."""

    def run() -> T:
        return work(conn._conn)

    return cast(T, await conn._execute(run))  # type: ignore[no-untyped-call]


def is_conflict(exc: sqlite3.IntegrityError) -> bool:
    """Whether a failed insert or update collided with a row another writer stored."""
    return getattr(exc, "sqlite_errorname", "") in _CONFLICTS


def store_error(exc: BaseException) -> Exception:
    """What a failed write means to its caller: `ConcurrentUpdate` (run it again on fresh
    state), `Unstorable` (the data can never be written) or `StoreUnavailable` (the database
    could not take it now: a lock held too long, a full disk, an I/O error)."""
    if isinstance(exc, ConcurrentUpdate | StoreUnavailable | Unstorable):
        return exc
    error: Exception
    if isinstance(exc, sqlite3.IntegrityError) and is_conflict(exc):
        error = ConcurrentUpdate(f"a concurrent writer got there first: {exc}")
    elif isinstance(exc, _UNSTORABLE):
        error = Unstorable(f"the store cannot record it: {exc}")
    else:
        error = StoreUnavailable(f"the write could not be committed: {exc!r}")
    error.__cause__ = exc
    return error
