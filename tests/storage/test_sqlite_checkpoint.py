"""WAL checkpoints run beside the writer (`storage.sqlite.checkpoint`): the log must still be
copied into the database and started again, or it would grow with every commit."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from core.models import Inbound
from storage.sqlite import SqliteSettings, SqliteStore, checkpoint
from tests.storage.builders import T0, event

COMMITS = 2_000


def wal_pages(database: Path) -> int:
    wal = database.with_name(database.name + "-wal")
    return wal.stat().st_size // 4096 if wal.exists() else 0


async def test_the_write_ahead_log_starts_again_under_steady_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint, "EVERY", 50)
    monkeypatch.setattr(checkpoint, "LIMIT", 500)
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    try:
        # One at a time, a commit each, with no idle moment for a checkpoint to copy all.
        for n in range(COMMITS):
            await store.record_inbound(event(n), T0)
        pages = wal_pages(store.path)
    finally:
        await store.close()

    # A few pages a commit: without a checkpoint that copies all, the log keeps them all
    # (about 8,900 pages after these 2,000 commits). How far past LIMIT it gets before the
    # catch-up depends on how the checkpoint's own thread is scheduled (up to about 1,800
    # pages seen on a busy two-core machine), so the bound leaves room for that.
    assert pages < 8 * checkpoint.LIMIT
    with closing(sqlite3.connect(store.path)) as conn:
        assert conn.execute("SELECT count(*) FROM inbox").fetchone()[0] == COMMITS


async def test_the_write_ahead_log_stays_bounded_when_each_commit_is_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Few commits, each of many pages (a burst stored as one group, an import, a sweep):
    # counted in commits alone, no checkpoint would run before the log held them all.
    monkeypatch.setattr(checkpoint, "LIMIT", 500)
    monkeypatch.setattr(checkpoint, "GROWTH", 500 * 4096 // 4)  # a quarter of LIMIT, as set
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    sizes: list[int] = []  # the log's file after each group, in pages
    try:
        for group in range(GROUPS):
            events = [big_event(group * GROUP + n) for n in range(GROUP)]
            await asyncio.gather(*(store.record_inbound(e, T0) for e in events))
            sizes.append(wal_pages(store.path))
    finally:
        await store.close()

    # Each group writes about 500 pages: without checkpoints started by the log's growth,
    # the file would hold all 30 groups (about 16,500 pages). It may pass LIMIT by the
    # groups committed while a checkpoint runs, and the file is cut back when the log starts
    # again (`journal_size_limit`); the bound leaves the same room as the test above.
    assert max(sizes) < 8 * checkpoint.LIMIT
    # Cut back, not only reused: the disk a burst took is given back.
    assert any(later < earlier for earlier, later in itertools.pairwise(sizes))
    with closing(sqlite3.connect(store.path)) as conn:
        assert conn.execute("SELECT count(*) FROM inbox").fetchone()[0] == GROUPS * GROUP


GROUPS, GROUP = 30, 250


def big_event(n: int) -> Inbound:
    return event(n).model_copy(update={"text": f"{n} " + "x" * 8_000})
