"""A PostgreSQL schema of its own for a test, on the server the machine provides.

The server is named by FRONTDESK_TEST_DATABASE_URL (default: the local server, user postgres,
database `test`). A test that needs it is skipped, saying why, only when no server answers;
CI checks that one answers before running the suite, so it never skips there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from pydantic import SecretStr

from storage.postgres import PostgresSettings

DATABASE_URL = os.environ.get(
    "FRONTDESK_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


async def _connect() -> asyncpg.Connection[asyncpg.Record]:
    try:
        conn: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(DATABASE_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.skip(f"NO POSTGRESQL SERVER ANSWERS at {DATABASE_URL}: {exc!r}")
    return conn


@asynccontextmanager
async def scratch_schema(**options: float) -> AsyncIterator[PostgresSettings]:
    """Settings of a store on a new, empty schema, dropped (with everything in it) on exit."""
    await (await _connect()).close()  # skips, saying why, when no server answers
    name = f"t_{uuid.uuid4().hex[:16]}"
    settings = PostgresSettings(dsn=SecretStr(DATABASE_URL), schema_name=name, **options)
    try:
        yield settings
    finally:
        conn = await _connect()
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await conn.close()
