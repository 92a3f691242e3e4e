"""Who owns work in flight: each replica's heartbeat row, and the test of a dead owner.

A replica registers under an id of its own when its store opens and beats every
`heartbeat_seconds` (the database's clock, so replicas' clocks need not agree). An inbox event,
a timer or an outbox lease carries the id of the replica working on it. Another replica takes
it over only when that owner is gone: its row deleted by a clean stop, or not beaten for
`owner_timeout_seconds` (a crash, a lost machine). So a replica that starts never takes the
work of those still alive, unlike the single SQLite process, which takes back everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

import asyncpg

from storage.postgres.pool import DRIVER_ERRORS, connect
from storage.postgres.settings import PostgresSettings

log = logging.getLogger("frontdesk.store.postgres")

BEAT = """
    INSERT INTO replicas (id, started_at, beat_at) VALUES ($1, now(), now())
    ON CONFLICT (id) DO UPDATE SET beat_at = now()
"""


def gone(column: str, me: str, timeout: str) -> str:
    """SQL true when the owner in `column` is another replica that is no longer alive;
    `me` and `timeout` are the placeholders of this replica's id and the timeout (seconds)."""
    return f"""({column} IS NOT NULL AND {column} <> {me} AND NOT EXISTS (
        SELECT 1 FROM replicas AS r
        WHERE r.id = {column} AND r.beat_at > now() - make_interval(secs => {timeout})))"""


def new_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Heartbeat:
    """This replica's row, beaten in a task of its own until `stop`, on a connection of its
    own: a pool busy with turns must not delay a beat until the others think this replica
    dead."""

    def __init__(self, settings: PostgresSettings, replica: str) -> None:
        self._settings = settings
        self.replica = replica
        self._conn: asyncpg.Connection[asyncpg.Record] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._beat()
        self._task = asyncio.create_task(self._run(), name="postgres-heartbeat")

    async def _beat(self) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect(self._settings)
        await self._conn.execute(BEAT, self.replica)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat_seconds)
            try:
                await self._beat()
            except (*DRIVER_ERRORS, TimeoutError) as exc:
                # Missed beats are what let the others take over if this lasts.
                log.warning("heartbeat of replica %s failed: %r", self.replica, exc)
                await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    async def stop(self) -> None:
        """Stop beating and leave: what this replica still owns is free for the others now."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            if self._conn is not None and not self._conn.is_closed():
                await self._conn.execute("DELETE FROM replicas WHERE id = $1", self.replica)
                await self._conn.close(timeout=5)
        except (*DRIVER_ERRORS, TimeoutError) as exc:
            log.warning("replica %s could not sign off: %r", self.replica, exc)
        finally:
            await self._drop()
