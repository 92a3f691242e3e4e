"""WAL checkpoints, run beside the writer instead of inside its commits.

SQLite checkpoints by itself in the COMMIT that takes the write-ahead log past 1,000 pages,
on the committing connection: that COMMIT then copies the log into the database and fsyncs
both files, which on a shared disk took up to 120 ms (a few ms most times, every few hundred
commits), and every inbound insert queued behind it (a platform waiting for its 200) waited
as long. So the writer turns that off (`PRAGMA wal_autocheckpoint = 0`) and this runs a
PASSIVE checkpoint on a connection of its own, on its own thread, every `EVERY` commits: a
passive checkpoint takes no lock a writer needs, so commits go on while it copies and syncs.

The log starts again from its beginning only at a transaction that begins when everything in
it has been copied, and under steady load some commit always lands while a checkpoint runs.
Idle moments let that happen by themselves; when the log has grown past `LIMIT` pages
without one, the writer is held between two groups for one more checkpoint, which copies
only what came in since the last (`Writer._checkpoint_alone`).
https://www.sqlite.org/wal.html#avoiding_excessively_large_wal_files
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiosqlite

log = logging.getLogger(__name__)

EVERY = 200  # commits between checkpoints: a few pages each, about SQLite's own 1,000 pages
LIMIT = 16_384  # pages (64 MiB) the log may reach before the writer waits for a checkpoint


class Checkpointer:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._commits = 0
        self._running: asyncio.Task[None] | None = None

    def committed(self, exclusive: Callable[[], Awaitable[None]]) -> None:
        """Count one commit of the writer; start a checkpoint every `EVERY` commits unless
        one is still running. `exclusive` runs `run` again while the writer waits."""
        self._commits += 1
        if self._commits >= EVERY and self._running is None:
            self._commits = 0
            self._running = asyncio.get_running_loop().create_task(
                self._beside(exclusive), name="sqlite-checkpoint"
            )

    async def run(self) -> int:
        """One PASSIVE checkpoint; the pages the log holds. Raises what SQLite raised."""
        rows = await self._conn.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
        return int(next(iter(rows))[1])

    async def _beside(self, exclusive: Callable[[], Awaitable[None]]) -> None:
        try:
            if await self.run() > LIMIT:
                await exclusive()
        except Exception:
            # The log only grows until the next checkpoint, `EVERY` commits on.
            log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            self._running = None

    async def close(self) -> None:
        """Let a running checkpoint end, then close the connection."""
        running = self._running
        if running is not None:
            await asyncio.wait({running})
        await self._conn.close()
