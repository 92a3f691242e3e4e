"""Copying a SQLite store's database into a PostgreSQL schema (`frontdesk migrate-store`).

The SQLite file is read as it is stored (schema version 13 of the SQLite store), read-only.
Every row goes in with ON CONFLICT DO NOTHING, and a conversation's transcript, history,
outbox, timers and desk threads go in the same transaction as the conversation, only when the
conversation itself was new: so a second run, or a run after one cut short, copies nothing
twice. Leases are not copied (they belonged to the old process); work in flight is pending
again, owned by nobody, for the first replica to take.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from storage.postgres.reads import Conn

SQLITE_SCHEMA = 13  # the SQLite store's schema version this copier reads
CHUNK = 500  # conversations per transaction

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True)
class Table:
    """How one table's rows cross: the columns in both, which of them are times, and the
    order to read them in."""

    name: str
    columns: tuple[str, ...]
    times: frozenset[str] = frozenset()
    order: str = "rowid"
    # Columns written as NULL whatever the source says.
    cleared: frozenset[str] = field(default_factory=frozenset)
    flags: frozenset[str] = field(default_factory=frozenset)  # SQLite's 0/1 as booleans

    def insert(self) -> str:
        marks = ", ".join(f"${n}" for n in range(1, len(self.columns) + 1))
        return (
            f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES ({marks}) "
            "ON CONFLICT DO NOTHING"
        )

    def convert(self, row: sqlite3.Row) -> tuple[Any, ...]:
        values: list[Any] = []
        for column in self.columns:
            value = None if column in self.cleared else row[column]
            if column in self.times:
                value = _time(value)
            elif column in self.flags:
                value = bool(value)
            values.append(value)
        return tuple(values)


def _t(*names: str) -> frozenset[str]:
    return frozenset(names)


# Independent of conversations.
INBOX = Table(
    "inbox",
    ("channel", "event_id", "contact_key", "event", "received_at", "processed_at", "error"),
    _t("received_at", "processed_at"),
    order="id",
)
CONTACTS = Table(
    "contacts",
    ("id", "channel", "external_id", "name", "username", "language", "email", "phone",
     "country", "fields", "tags", "created_at", "unreachable_since", "workflow_fields"),
    _t("created_at", "unreachable_since"),
)  # fmt: skip
WORKFLOWS = Table("workflow_versions", ("hash", "name", "body"))
CURSORS = Table("cursors", ("name", "value"))
AGENTS = Table("agents", ("id", "name", "status", "capacity"))
TEAMS = Table("teams", ("name", "last_picked"))
MEMBERS = Table("team_members", ("team", "position", "agent_id"))
INDEPENDENT = (INBOX, CONTACTS, WORKFLOWS, CURSORS, AGENTS, TEAMS, MEMBERS)

CONVERSATIONS = Table(
    "conversations",
    ("id", "contact_id", "channel", "status", "team", "assignee", "opened_at", "closed_at",
     "assigned_at", "queued_at", "handoff", "run", "seq", "version", "assigned_message",
     "queue_limit", "queued_for"),
    _t("opened_at", "closed_at", "assigned_at", "queued_at"),
)  # fmt: skip
# What belongs to a conversation, read per chunk of conversation ids.
DEPENDENT = (
    Table(
        "transcript",
        ("conversation_id", "direction", "text", "options", "option_id", "message_id", "at",
         "step_id", "attachment", "author", "note"),
        _t("at"),
        order="id",
        flags=_t("note"),
    ),
    Table("history", ("conversation_id", "kind", "at", "event"), _t("at"), order="id"),
    Table(
        "outbox",
        ("message_id", "conversation_id", "lane", "message", "status", "attempts",
         "created_at", "next_attempt_at", "leased_until", "last_error", "sent_at",
         "failed_at"),
        _t("created_at", "next_attempt_at", "leased_until", "sent_at", "failed_at"),
        order="id",
        cleared=_t("leased_until"),
    ),
    Table(
        "timers",
        ("id", "conversation_id", "key", "due_at", "lease", "purpose"),
        _t("due_at"),
        flags=_t("lease"),
    ),
    Table(
        "desk_threads",
        ("desk", "place", "ts", "conversation_id", "handoff_id", "agent_id"),
        order="id",
    ),
)  # fmt: skip


class SourceError(Exception):
    """The SQLite file cannot be read as a frontdesk store."""


def open_source(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise SourceError(f"{path}: no such database file")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise SourceError(f"{path}: not a readable SQLite database ({exc})") from exc
    if version != SQLITE_SCHEMA:
        conn.close()
        raise SourceError(
            f"{path}: SQLite schema version {version}; this copier reads version "
            f"{SQLITE_SCHEMA} (open it once with this frontdesk's `serve` to upgrade it)"
        )
    return conn


async def copy(source: sqlite3.Connection, pool: asyncpg.Pool[asyncpg.Record]) -> dict[str, int]:
    """Copy everything; rows newly copied per table."""
    copied: dict[str, int] = {}
    for table in INDEPENDENT:
        rows = source.execute(
            f"SELECT {', '.join(table.columns)} FROM {table.name} ORDER BY {table.order}"
        ).fetchall()
        async with pool.acquire() as conn, conn.transaction():
            copied[table.name] = await _insert(conn, table, rows)
    for name in (CONVERSATIONS.name, *(t.name for t in DEPENDENT)):
        copied[name] = 0
    conversations = source.execute(
        f"SELECT {', '.join(CONVERSATIONS.columns)} FROM conversations ORDER BY rowid"
    ).fetchall()
    for start in range(0, len(conversations), CHUNK):
        chunk = conversations[start : start + CHUNK]
        async with pool.acquire() as conn, conn.transaction():
            new = await _new_conversations(conn, chunk)
            copied[CONVERSATIONS.name] += len(new)
            if new:
                for table in DEPENDENT:
                    rows = _rows_of(source, table, new)
                    copied[table.name] += await _insert(conn, table, rows)
    return copied


async def _new_conversations(conn: Conn, chunk: Sequence[sqlite3.Row]) -> list[str]:
    new: list[str] = []
    for row in chunk:
        inserted = await conn.fetchval(
            f"{CONVERSATIONS.insert()} RETURNING id", *CONVERSATIONS.convert(row)
        )
        if inserted is not None:
            new.append(str(inserted))
    return new


def _rows_of(source: sqlite3.Connection, table: Table, ids: list[str]) -> list[sqlite3.Row]:
    marks = ", ".join("?" * len(ids))
    return source.execute(
        f"SELECT {', '.join(table.columns)} FROM {table.name} "
        f"WHERE conversation_id IN ({marks}) ORDER BY {table.order}",
        ids,
    ).fetchall()


async def _insert(conn: Conn, table: Table, rows: Sequence[sqlite3.Row]) -> int:
    sql = f"{table.insert()} RETURNING 1"
    count = 0
    for row in rows:
        if await conn.fetchval(sql, *table.convert(row)) is not None:
            count += 1
    return count
