"""The database schema, as numbered migrations recorded in a `schema_version` table.

The same discipline as the SQLite store: a later change appends a migration, and `migrate`
applies those a schema has not seen yet, each in the same transaction as the version bump.
Replicas starting at once take a transaction-scoped advisory lock first, so one of them
migrates and the others find the work done.

Times are `timestamptz` (microsecond resolution, like Python's datetime). JSON columns are
text written and read by pydantic, as on SQLite. Foreign keys from what a transaction saves to
conversations are DEFERRABLE INITIALLY DEFERRED, checked at COMMIT.
"""

from __future__ import annotations

from core.errors import StoreUnavailable
from storage.postgres.reads import Conn
from storage.postgres.send_windows import SEND_WINDOWS

_DEFERRED = "REFERENCES conversations (id) DEFERRABLE INITIALLY DEFERRED"

_V1 = (
    # `owner` is the replica that accepted the event and processes it (see `replicas`).
    """
    CREATE TABLE IF NOT EXISTS inbox (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        channel TEXT NOT NULL,
        event_id TEXT NOT NULL,
        contact_key TEXT NOT NULL,
        event TEXT NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        processed_at TIMESTAMPTZ,
        error TEXT,
        owner TEXT,
        UNIQUE (channel, event_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS inbox_unprocessed ON inbox (id) WHERE processed_at IS NULL",
    """
    CREATE INDEX IF NOT EXISTS inbox_processed
        ON inbox (received_at) WHERE processed_at IS NOT NULL AND error IS NULL
    """,
    """
    CREATE TABLE IF NOT EXISTS contacts (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        external_id TEXT NOT NULL,
        name TEXT,
        username TEXT,
        language TEXT,
        email TEXT,
        phone TEXT,
        country TEXT,
        fields TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        unreachable_since TIMESTAMPTZ,
        UNIQUE (channel, external_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS contacts_by_external_id ON contacts (external_id)",
    # `row_order` stands in for SQLite's rowid: the order rows were first stored.
    """
    CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY,
        row_order BIGINT GENERATED ALWAYS AS IDENTITY,
        contact_id TEXT NOT NULL REFERENCES contacts (id) DEFERRABLE INITIALLY DEFERRED,
        channel TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        team TEXT,
        assignee TEXT,
        opened_at TIMESTAMPTZ NOT NULL,
        closed_at TIMESTAMPTZ,
        assigned_at TIMESTAMPTZ,
        queued_at TIMESTAMPTZ,
        handoff TEXT,
        run TEXT,
        seq INTEGER NOT NULL,
        version INTEGER NOT NULL
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS conversations_queued
        ON conversations (team, queued_at) WHERE status = 'open' AND assignee IS NULL
    """,
    """
    CREATE UNIQUE INDEX IF NOT EXISTS conversations_open_per_contact
        ON conversations (contact_id) WHERE status = 'open'
    """,
    "CREATE INDEX IF NOT EXISTS conversations_by_contact ON conversations (contact_id, opened_at)",
    """
    CREATE INDEX IF NOT EXISTS conversations_open_by_assignee
        ON conversations (assignee) WHERE status = 'open'
    """,
    "CREATE INDEX IF NOT EXISTS conversations_by_opened ON conversations (opened_at, id)",
    """
    CREATE INDEX IF NOT EXISTS conversations_closed
        ON conversations (closed_at) WHERE status = 'closed'
    """,
    f"""
    CREATE TABLE IF NOT EXISTS transcript (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        conversation_id TEXT NOT NULL {_DEFERRED},
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        text TEXT,
        options TEXT NOT NULL,
        option_id TEXT,
        message_id TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        step_id TEXT,
        attachment TEXT
    )
    """,
    "CREATE INDEX IF NOT EXISTS transcript_by_conversation ON transcript (conversation_id, id)",
    f"""
    CREATE TABLE IF NOT EXISTS history (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        conversation_id TEXT NOT NULL {_DEFERRED},
        kind TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        event TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS history_by_conversation ON history (conversation_id, id)",
    # A lease carries its owner: `owner` with `leased_until` (see `outbox`).
    f"""
    CREATE TABLE IF NOT EXISTS outbox (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL {_DEFERRED},
        lane TEXT NOT NULL,
        message TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        next_attempt_at TIMESTAMPTZ NOT NULL,
        leased_until TIMESTAMPTZ,
        owner TEXT,
        last_error TEXT,
        sent_at TIMESTAMPTZ,
        failed_at TIMESTAMPTZ
    )
    """,
    "CREATE INDEX IF NOT EXISTS outbox_by_conversation ON outbox (conversation_id, id)",
    """
    CREATE INDEX IF NOT EXISTS outbox_pending_by_lane
        ON outbox (lane, id) WHERE status = 'pending'
    """,
    """
    CREATE INDEX IF NOT EXISTS outbox_pending_due
        ON outbox (next_attempt_at) WHERE status = 'pending'
    """,
    "CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent_at) WHERE status = 'sent'",
    "CREATE INDEX IF NOT EXISTS outbox_failed ON outbox (failed_at) WHERE status = 'failed'",
    f"""
    CREATE TABLE IF NOT EXISTS timers (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL {_DEFERRED},
        key TEXT NOT NULL,
        due_at TIMESTAMPTZ NOT NULL,
        owner TEXT
    )
    """,
    "CREATE INDEX IF NOT EXISTS timers_due ON timers (due_at, id)",
    """
    CREATE TABLE IF NOT EXISTS agents (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('online', 'away', 'offline')),
        capacity INTEGER,
        slack_user_id TEXT
    )
    """,
    # `last_picked` is the round-robin cursor; its row is what concurrent picks lock.
    "CREATE TABLE IF NOT EXISTS teams (name TEXT PRIMARY KEY, last_picked TEXT)",
    """
    CREATE TABLE IF NOT EXISTS team_members (
        team TEXT NOT NULL REFERENCES teams (name) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        PRIMARY KEY (team, position),
        UNIQUE (team, agent_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS team_members_by_agent ON team_members (agent_id)",
    """
    CREATE TABLE IF NOT EXISTS workflow_versions (
        hash TEXT PRIMARY KEY, name TEXT NOT NULL, body TEXT NOT NULL
    )
    """,
    "CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """
    CREATE TABLE IF NOT EXISTS desk_threads (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        desk TEXT NOT NULL,
        place TEXT NOT NULL,
        ts TEXT NOT NULL,
        conversation_id TEXT NOT NULL REFERENCES conversations (id),
        handoff_id TEXT NOT NULL,
        agent_id TEXT,
        UNIQUE (desk, place, ts)
    )
    """,
    "CREATE INDEX IF NOT EXISTS desk_threads_by_handoff ON desk_threads (handoff_id, id)",
    # The replicas serving this schema, each with the time (the database's) it last beat.
    """
    CREATE TABLE IF NOT EXISTS replicas (
        id TEXT PRIMARY KEY,
        started_at TIMESTAMPTZ NOT NULL,
        beat_at TIMESTAMPTZ NOT NULL
    )
    """,
)

# What an assign step tells the customer when an agent takes the conversation (as the SQLite
# store's version 5). NULL in rows from before: nothing to say.
_V2 = ("ALTER TABLE conversations ADD COLUMN IF NOT EXISTS assigned_message TEXT",)

# As the SQLite store's versions 6 and 7: who wrote an outgoing message the workflow did not
# (JSON), timers that stand for work in flight (`lease`, taken back from a dead owner), and
# outbox rows set `uncertain` (in flight when their owner died, on a channel set not to send
# such a message again).
_V3 = (
    "ALTER TABLE transcript ADD COLUMN IF NOT EXISTS author TEXT",
    "ALTER TABLE timers ADD COLUMN IF NOT EXISTS lease BOOLEAN NOT NULL DEFAULT false",
    """
    UPDATE timers SET lease = true WHERE id IN (
        SELECT run::jsonb #>> '{waiting,timer_id}' FROM conversations
        WHERE run IS NOT NULL AND run::jsonb #>> '{waiting,kind}' = 'http'
    )
    """,
    "ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_status_check",
    """
    ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
        CHECK (status IN ('pending', 'sent', 'failed', 'uncertain'))
    """,
)

# As the SQLite store's versions 8 and 9: the profile fields a workflow saved (a JSON list;
# NULL: none), and the `max_open` a queued conversation keeps for whoever takes it.
_V4 = (
    "ALTER TABLE contacts ADD COLUMN IF NOT EXISTS workflow_fields TEXT",
    "ALTER TABLE conversations ADD COLUMN IF NOT EXISTS queue_limit INTEGER",
)

# As the SQLite store's version 10: what a timer is for, "run" (the run's wait) or "accept"
# (a handoff's accept timeout).
_V5 = ("ALTER TABLE timers ADD COLUMN IF NOT EXISTS purpose TEXT NOT NULL DEFAULT 'run'",)

# As the SQLite store's version 11: an agent's internal note, kept in the transcript and never
# sent; false in rows from before.
_V6 = ("ALTER TABLE transcript ADD COLUMN IF NOT EXISTS note BOOLEAN NOT NULL DEFAULT false",)

# As the SQLite store's version 12: the one agent a queued conversation waits for; NULL: any
# agent of its team.
_V7 = (
    "ALTER TABLE conversations ADD COLUMN IF NOT EXISTS queued_for TEXT",
    """
    CREATE INDEX IF NOT EXISTS conversations_queued_for
        ON conversations (queued_for, queued_at)
        WHERE status = 'open' AND assignee IS NULL AND queued_for IS NOT NULL
    """,
)

# As the SQLite store's version 13: agents' desk addresses are the config's, not the store's.
_V8 = ("ALTER TABLE agents DROP COLUMN IF EXISTS slack_user_id",)

# The send windows every replica shares (see `send_windows`); PostgreSQL only, as SQLite has
# one process whose window is in its memory. Written to be run again harmlessly.
_V9 = SEND_WINDOWS

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9)
SCHEMA_VERSION = len(MIGRATIONS)


async def migrate(conn: Conn, schema: str) -> None:
    """Bring `schema` up to `SCHEMA_VERSION`; refuse one written by a newer frontdesk."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.schema_version (version INTEGER NOT NULL)"
        )
        found = await conn.fetchval(f"SELECT max(version) FROM {schema}.schema_version")
        current = int(found or 0)
        if current > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"the PostgreSQL schema {schema} has version {current}, newer than the "
                f"{SCHEMA_VERSION} this frontdesk knows; upgrade frontdesk or use another schema"
            )
        for number in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                await conn.execute(statement)
            await conn.execute(f"INSERT INTO {schema}.schema_version VALUES ({number})")
