"""`frontdesk backup`: a consistent copy of the SQLite store, taken while a server is busy."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import aiohttp

from storage.sqlite.schema import SCHEMA_VERSION
from tests.support.harness import event, post_event, write_config
from tests.support.process import (
    free_port,
    listen_on,
    run_frontdesk,
    serving,
    until_healthy,
)
from tests.support.receiver import Receiver
from tests.support.waiting import until


async def backup(config: Path, target: Path) -> tuple[int, str, str]:
    return await run_frontdesk("backup", "--config", str(config), str(target), limit=30)


async def test_a_backup_taken_while_serving_is_a_whole_database(
    tmp_path: Path, receiver: Receiver, route_by_team: str, http: aiohttp.ClientSession
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    url = listen_on(config, free_port())
    copy = tmp_path / "copy.db"
    async with serving(config, tmp_path / "frontdesk.log"):
        await until_healthy(http, url)
        accepted = 0

        async def traffic() -> None:
            nonlocal accepted
            n = 0
            while True:
                n += 1
                status, _ = await post_event(http, url, event(f"c-{n}", "Hello"))
                assert status == 200
                accepted += 1

        busy = asyncio.create_task(traffic())
        try:
            await until(lambda: accepted >= 20)
            code, out, err = await backup(config, copy)
            assert (code, out, err) == (0, f"backed up the sqlite store to {copy}\n", "")
            during = accepted
        finally:
            busy.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await busy
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        stored = db.execute("SELECT count(*) FROM inbox").fetchone()[0]
        # Every event acknowledged before the copy began is in it; none torn.
        assert 20 <= stored <= during + 1
        orphans = db.execute(
            "SELECT count(*) FROM conversations WHERE contact_id NOT IN (SELECT id FROM contacts)"
        ).fetchone()
        assert orphans == (0,)
    assert not copy.with_name("copy.db.partial").exists()


async def test_a_backup_never_overwrites_and_names_a_missing_database(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    code, _, err = await backup(config, tmp_path / "copy.db")
    assert code == 1
    assert err.startswith(f"frontdesk: backup failed: cannot open SQLite database {tmp_path}")
    assert not (tmp_path / "frontdesk.db").exists()  # not created by the attempt

    sqlite3.connect(tmp_path / "frontdesk.db").close()
    existing = tmp_path / "copy.db"
    existing.write_text("keep me")
    code, _, err = await backup(config, existing)
    assert code == 1
    assert err == f"frontdesk: backup failed: {existing} exists already; back up to a new file\n"
    assert existing.read_text() == "keep me"
