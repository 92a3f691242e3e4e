"""WAL checkpoints, run beside the writer instead of inside its commits.

SQLite checkpoints by itself in the COMMIT that takes the write-ahead log past 1,000 pages,
on the committing connection: that COMMIT then copies the log into the database and fsyncs
both files, which on a shared disk took up to 120 ms (a few ms most times, every few hundred
commits), and every inbound insert queued behind it (a platform waiting for its 200) waited
as long. So the writer turns that off (`PRAGMA wal_autocheckpoint = 0`) and this runs a
PASSIVE checkpoint on a connection of its own, on its own thread, every `EVERY` commits, or
sooner when the log's file has grown by `GROWTH` bytes since the last one started (a few
large commits, such as a burst stored as one group, would otherwise fill it long before
`EVERY`): a passive checkpoint takes no lock a writer needs, so commits go on while it
copies and syncs.

The log starts again from its beginning only at a transaction that begins when everything in
it has been copied, and under steady load some commit always lands while a checkpoint runs.
Idle moments let that happen by themselves; when the log has grown past `LIMIT` pages
without one, the writer is held between two groups for one more checkpoint, which copies
only what came in since the last (`Writer._checkpoint_alone`). A log started again keeps
its file's size unless told otherwise: the writer's `journal_size_limit` (`limit_bytes`)
cuts it back then, so the disk a burst took is given back.
https://www.sqlite.org/wal.html#avoiding_excessively_large_wal_files
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

EVERY = 200  # commits between checkpoints: a few pages each, about SQLite's own 1,000 pages
# Bytes the log's file may grow by before a checkpoint starts: a quarter of LIMIT, so that
# steady small commits still checkpoint by their count (EVERY comes first at a few dozen KiB
# a commit) and a burst of large ones starts one long before the writer has to wait.
GROWTH = 16 * 1024 * 1024
LIMIT = 16_384  # pages (64 MiB) the log may reach before the writer waits for a checkpoint
PAGE = 4096  # SQLite's default page size, which frontdesk's files keep


def limit_bytes() -> int:
    """The size the log's file is cut back to when the log starts again."""
    return LIMIT * PAGE


class Checkpointer:
    def __init__(self, conn: aiosqlite.Connection, wal: Path) -> None:
        self._conn = conn
        self._wal = wal  # the log's file, whose growth counts as well as the commits
        self._commits = 0
        self._size = 0  # the log file's size when the last checkpoint started
        self._running: asyncio.Task[None] | None = None

    def committed(self, exclusive: Callable[[], Awaitable[None]]) -> None:
        """Count one commit of the writer; start a checkpoint every `EVERY` commits, or once
        the log's file has grown by `GROWTH`, unless one is still running. `exclusive` runs
        `run` again while the writer waits."""
        self._commits += 1
        if self._running is not None:
            return
        size = self._wal_size()
        self._size = min(self._size, size)  # the file was cut back when the log started again
        if self._commits >= EVERY or size - self._size >= GROWTH:
            self._commits, self._size = 0, size
            self._running = asyncio.get_running_loop().create_task(
                self._beside(exclusive), name="sqlite-checkpoint"
            )

    def _wal_size(self) -> int:
        try:
            return os.stat(self._wal).st_size
        except OSError:  # not there (yet), or not readable: the commit count still counts
            return 0

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
