"""The backends that the store contract suite runs on.

A backend registers a setup under its name with `@backend(name)`. The setup receives the
test's `tmp_path` and yields a maker: a function that returns a new, unopened Store (with its
read side, `Records`) on the same data each time it is called, so that a test can close one
store and open another on what it left behind. A backend that needs a server (PostgreSQL)
skips in its setup when none is configured, and drops what it created when the setup exits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol

import pytest

from core.ports import Records, Store
from storage.postgres import PostgresStore
from storage.sqlite import SqliteSettings, SqliteStore
from tests.support.postgres import scratch_schema


class Backend(Store, Records, Protocol):
    """A store with its read side, as every backend here has: the contract checks what a
    store did by reading it back."""


StoreMaker = Callable[[], Backend]
BackendSetup = Callable[[Path], AbstractAsyncContextManager[StoreMaker]]

BACKENDS: dict[str, BackendSetup] = {}


def backend(name: str) -> Callable[[BackendSetup], BackendSetup]:
    def register(setup: BackendSetup) -> BackendSetup:
        BACKENDS[name] = setup
        return setup

    return register


@backend("sqlite")
@asynccontextmanager
async def sqlite_backend(tmp_path: Path) -> AsyncIterator[StoreMaker]:
    def make() -> Backend:
        return SqliteStore(SqliteSettings(path="frontdesk.db"), tmp_path)

    yield make


@backend("postgres")
@asynccontextmanager
async def postgres_backend(tmp_path: Path) -> AsyncIterator[StoreMaker]:
    async with scratch_schema() as settings:

        def make() -> Backend:
            return PostgresStore(settings, tmp_path)

        yield make


@pytest.fixture(params=sorted(BACKENDS))
async def store_maker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreMaker]:
    setup = BACKENDS[request.param]
    async with setup(tmp_path) as make:
        yield make


@pytest.fixture
async def store(store_maker: StoreMaker) -> AsyncIterator[Backend]:
    opened = store_maker()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
