"""Several `frontdesk serve` processes on one store, behind a round-robin sender: for the
replica tests and the replica benchmark."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from storage.postgres import PostgresSettings
from tests.support.harness import post_event, write_config
from tests.support.postgres import DATABASE_URL
from tests.support.process import free_port, listen_on, serving, until_healthy

WORKFLOW = """
name: desk
trigger: conversation_opened
steps:
  - {id: hello, type: send_message, text: "Welcome"}
  - {id: give, type: assign, team: desk, strategy: round_robin}
  - {id: told, type: send_message, text: "You have {{ agent.id }}"}
"""
SQLITE_STORE = "store: {type: sqlite, path: frontdesk.db}"


def desk(agents: Sequence[str], capacity: int) -> str:
    """A directory of online agents with one capacity, all in the team `desk`."""
    members = [
        f"  {a}: {{name: {a.upper()}, status: online, capacity: {capacity}}}" for a in agents
    ]
    return "\n".join(["agents:", *members, "teams:", f"  desk: {{agents: [{', '.join(agents)}]}}"])


def desk_config(
    folder: Path, callback_url: str, directory: str, postgres: PostgresSettings | None
) -> Path:
    """The desk workflow's config, on SQLite, or on PostgreSQL through the environment's
    FRONTDESK_DATABASE_URL (see `ENV`) when `postgres` is given."""
    config = write_config(folder, callback_url, {"desk": WORKFLOW}, directory)
    if postgres is not None:
        store = (
            "store: {type: postgres, dsn: '${FRONTDESK_DATABASE_URL}', "
            f"schema: {postgres.schema_name}, heartbeat_seconds: {postgres.heartbeat_seconds}, "
            f"owner_timeout_seconds: {postgres.owner_timeout_seconds}}}"
        )
        config.write_text(config.read_text().replace(SQLITE_STORE, store))
    return config


ENV = {"FRONTDESK_DATABASE_URL": DATABASE_URL}


class RoundRobin:
    """The load balancer: each request to the next replica; one that does not answer (killed)
    is passed over and the same event goes to the next, as a platform would send it again."""

    def __init__(self, session: aiohttp.ClientSession, urls: Sequence[str]) -> None:
        self._session = session
        self._next = itertools.cycle(urls)

    async def post(self, body: dict[str, Any]) -> None:
        for _ in range(20):
            url = next(self._next)
            try:
                status, _ = await post_event(self._session, url, body)
            except aiohttp.ClientError:
                continue
            if status == 200:
                return
        raise AssertionError(f"no replica accepted {body['event_id']}")


@dataclass
class Cluster:
    urls: list[str]
    processes: list[asyncio.subprocess.Process]
    balancer: RoundRobin
    logs: list[Path]


@asynccontextmanager
async def cluster(
    config: Path, count: int, session: aiohttp.ClientSession, *options: str
) -> AsyncIterator[Cluster]:
    """`count` serve processes of `config` (each on a port of its own), healthy; stopped on
    exit."""
    async with AsyncExitStack() as stack:
        urls, processes, logs = [], [], []
        for n in range(count):
            replica = _copy(config, f"replica{n}.yaml")
            urls.append(listen_on(replica, free_port()))
            logs.append(config.with_name(f"replica{n}.log"))
            processes.append(
                await stack.enter_async_context(serving(replica, logs[-1], *options, env=ENV))
            )
        for url in urls:
            await until_healthy(session, url)
        yield Cluster(urls, processes, RoundRobin(session, urls), logs)


def _copy(config: Path, name: str) -> Path:
    copied = config.with_name(name)
    copied.write_text(config.read_text())
    return copied
