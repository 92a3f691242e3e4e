"""Connecting to the server, and what asyncpg's errors mean to the engine."""

from __future__ import annotations

import asyncpg

from core.errors import ConcurrentUpdate, StoreUnavailable, Unstorable
from storage.postgres.settings import PostgresSettings

# Failures that mean "another writer got there first": the engine runs the turn again.
_CONFLICTS = (
    asyncpg.UniqueViolationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)
# InternalClientError: a session the server ended under a statement (an admin shutdown).
DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)
# Failures caused by the values written, which the same write meets every time: text that is
# not valid UTF-8 or holds NUL, a number out of range (SQLSTATE class 22), and constraint
# failures other than conflicts (a bug; retrying cannot help either).
_UNSTORABLE = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    UnicodeEncodeError,
    OverflowError,
)


async def create_pool(settings: PostgresSettings) -> asyncpg.Pool[asyncpg.Record]:
    """A pool whose connections use the settings' schema; StoreUnavailable naming the server
    (never the password) when it cannot connect."""
    try:
        pool: asyncpg.Pool[asyncpg.Record] = await asyncpg.create_pool(
            settings.dsn.get_secret_value(),
            min_size=1,
            max_size=settings.pool_size,
            server_settings={"search_path": settings.schema_name},
            timeout=10,
        )
    except (*DRIVER_ERRORS, TimeoutError) as exc:
        raise StoreUnavailable(
            f"cannot connect to PostgreSQL at {settings.where()}: {_reason(exc)}"
        ) from None
    return pool


async def connect(settings: PostgresSettings) -> asyncpg.Connection[asyncpg.Record]:
    """One connection outside the pool (its session locks live as long as it does)."""
    conn: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(
        settings.dsn.get_secret_value(),
        server_settings={"search_path": settings.schema_name},
        timeout=10,
    )
    return conn


def _reason(exc: BaseException) -> str:
    # asyncpg's messages name the host and user, never the password; the exception's type
    # says what kind of failure it was when the message is empty (a timeout).
    return str(exc) or type(exc).__name__


def as_store_error(exc: BaseException) -> Exception:
    """What a failed write means to its caller: `ConcurrentUpdate` (run it again on fresh
    state), `Unstorable` (the data can never be written) or `StoreUnavailable`."""
    if isinstance(exc, ConcurrentUpdate | StoreUnavailable | Unstorable):
        return exc
    error: Exception
    if isinstance(exc, _CONFLICTS):
        error = ConcurrentUpdate(f"a concurrent writer got there first: {exc}")
    elif isinstance(exc, _UNSTORABLE):
        error = Unstorable(f"the store cannot record it: {exc}")
    else:
        error = StoreUnavailable(f"the write could not be committed: {_reason(exc)}")
    error.__cause__ = exc
    return error
