"""The SQLite store's side of operations: refusing a file that is not a database at open,
and the readiness check noticing the database file removed or replaced under it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.errors import StoreUnavailable
from storage.sqlite import SqliteSettings, SqliteStore


async def test_a_file_that_is_not_a_database_is_refused_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "frontdesk.db").write_bytes(b"these are not the pages of a database" * 100)
    store = SqliteStore(SqliteSettings(), tmp_path)
    with pytest.raises(StoreUnavailable, match=r"frontdesk\.db: file is not a database"):
        await store.open()


async def test_writable_until_the_file_is_removed_or_replaced(tmp_path: Path) -> None:
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    try:
        await store.check_writable()
        assert await store.load_cursor("frontdesk:readiness") is None  # the probe left nothing

        (tmp_path / "frontdesk.db").rename(tmp_path / "elsewhere.db")
        with pytest.raises(StoreUnavailable, match="has been removed"):
            await store.check_writable()

        shutil.copy(tmp_path / "elsewhere.db", tmp_path / "frontdesk.db")  # a restore over it
        with pytest.raises(StoreUnavailable, match="has been replaced"):
            await store.check_writable()
    finally:
        await store.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through a read-only folder")
async def test_a_folder_turned_read_only_is_reported(tmp_path: Path) -> None:
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    set_mode(tmp_path, 0o555)
    try:
        with pytest.raises(StoreUnavailable, match="is not writable"):
            await store.check_writable()
    finally:
        set_mode(tmp_path, 0o755)
        await store.close()


def set_mode(path: Path, mode: int) -> None:
    path.chmod(mode)
