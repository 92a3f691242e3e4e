"""Workflow definitions by content hash, kept for the runs that started on them."""

from __future__ import annotations

import aiosqlite

from storage.sqlite.connection import fetch_one

# A hash names its content, so a known hash is left as it is.
SAVE_VERSION = (
    "INSERT INTO workflow_versions (hash, name, body) VALUES (?, ?, ?) "
    "ON CONFLICT (hash) DO NOTHING"
)


async def load_version(conn: aiosqlite.Connection, workflow_hash: str) -> str | None:
    row = await fetch_one(
        conn, "SELECT body FROM workflow_versions WHERE hash = ?", (workflow_hash,)
    )
    return None if row is None else str(row["body"])
