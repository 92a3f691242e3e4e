"""The database schema, as numbered migrations recorded in `PRAGMA user_version`.

A later change appends a migration; `migrate` applies the ones a database has not seen yet,
each in the same transaction as the version bump. Statements say IF NOT EXISTS so that a
half-known state (an old build that created tables but crashed) is still repaired.

Times are integer microseconds since the epoch, UTC (see `codec`). Foreign keys from what a
transaction saves to conversations are DEFERRABLE INITIALLY DEFERRED: they are checked at
COMMIT, so a transaction may save a conversation's transcript, outbox and timers in any order.
"""

from __future__ import annotations

from core.errors import StoreUnavailable
from storage.sqlite.connection import fetch_one
from storage.sqlite.writer import Writer

_V1 = (
    # The inbox. AUTOINCREMENT so that an id is never handed out twice, even after old rows
    # are pruned: readers page through it with `id > after_id`.
    """
    CREATE TABLE IF NOT EXISTS inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,
        event_id TEXT NOT NULL,
        contact_key TEXT NOT NULL,
        event TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        processed_at INTEGER,
        error TEXT,  -- set when processing kept failing and the event was set aside
        UNIQUE (channel, event_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS inbox_unprocessed ON inbox (id) WHERE processed_at IS NULL",
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
        created_at INTEGER NOT NULL,
        unreachable_since INTEGER,
        UNIQUE (channel, external_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts (id) DEFERRABLE INITIALLY DEFERRED,
        channel TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        team TEXT,
        assignee TEXT,
        opened_at INTEGER NOT NULL,
        closed_at INTEGER,
        assigned_at INTEGER,
        queued_at INTEGER,
        run TEXT,
        seq INTEGER NOT NULL,
        version INTEGER NOT NULL
    )
    """,
    # A team's queue: its open, unassigned conversations in the order they started waiting.
    """
    CREATE INDEX IF NOT EXISTS conversations_queued
        ON conversations (team, queued_at) WHERE status = 'open' AND assignee IS NULL
    """,
    # At most one open conversation per contact, enforced by the database itself.
    """
    CREATE UNIQUE INDEX IF NOT EXISTS conversations_open_per_contact
        ON conversations (contact_id) WHERE status = 'open'
    """,
    """
    CREATE INDEX IF NOT EXISTS conversations_by_contact
        ON conversations (contact_id, opened_at)
    """,
    # Capacity checks count an agent's open conversations on every assignment.
    """
    CREATE INDEX IF NOT EXISTS conversations_open_by_assignee
        ON conversations (assignee) WHERE status = 'open'
    """,
    """
    CREATE TABLE IF NOT EXISTS transcript (
        id INTEGER PRIMARY KEY,
        conversation_id TEXT NOT NULL
            REFERENCES conversations (id) DEFERRABLE INITIALLY DEFERRED,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        text TEXT,
        options TEXT NOT NULL,
        option_id TEXT,
        message_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        step_id TEXT
    )
    """,
    "CREATE INDEX IF NOT EXISTS transcript_by_conversation ON transcript (conversation_id, id)",
    """
    CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL
            REFERENCES conversations (id) DEFERRABLE INITIALLY DEFERRED,
        message TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        leased_until INTEGER,
        last_error TEXT,
        sent_at INTEGER,
        failed_at INTEGER
    )
    """,
    "CREATE INDEX IF NOT EXISTS outbox_by_conversation ON outbox (conversation_id, id)",
    # The head of each conversation's queue (its oldest pending message), found per
    # conversation without stepping over the messages already sent.
    """
    CREATE INDEX IF NOT EXISTS outbox_pending_by_conversation
        ON outbox (conversation_id, id) WHERE status = 'pending'
    """,
    """
    CREATE INDEX IF NOT EXISTS outbox_pending_due
        ON outbox (next_attempt_at) WHERE status = 'pending'
    """,
    # Messages in flight (leased), for the earliest lease to run out.
    """
    CREATE INDEX IF NOT EXISTS outbox_pending_leased
        ON outbox (leased_until) WHERE status = 'pending' AND leased_until IS NOT NULL
    """,
    """
    CREATE TABLE IF NOT EXISTS timers (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL
            REFERENCES conversations (id) DEFERRABLE INITIALLY DEFERRED,
        key TEXT NOT NULL,
        due_at INTEGER NOT NULL
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
    # `last_picked` is the round-robin cursor: the agent id picked last for the team. It is
    # an id, not a position, so that it survives members being added or reordered.
    """
    CREATE TABLE IF NOT EXISTS teams (
        name TEXT PRIMARY KEY,
        last_picked TEXT
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS team_members (
        team TEXT NOT NULL REFERENCES teams (name) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        PRIMARY KEY (team, position),
        UNIQUE (team, agent_id)
    )
    """,
    # Deleting an agent cascades to its memberships; without this index that is a full scan.
    "CREATE INDEX IF NOT EXISTS team_members_by_agent ON team_members (agent_id)",
    """
    CREATE TABLE IF NOT EXISTS workflow_versions (
        hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        body TEXT NOT NULL
    )
    """,
    # Named positions that workers resume from, such as a Telegram poller's update offset.
    """
    CREATE TABLE IF NOT EXISTS cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
)

# The agents' desk. ALTER TABLE has no IF NOT EXISTS; the migration's single transaction
# (with its version bump) is what keeps it from running twice.
_V2 = (
    "ALTER TABLE conversations ADD COLUMN handoff TEXT",
    # The outbox delivers in order per lane rather than per conversation: a conversation's
    # messages for the desk have a lane of their own (see `Outbound.lane`), so a slow desk
    # never holds up what the customer is told. Rows from before were all customer messages.
    "ALTER TABLE outbox ADD COLUMN lane TEXT",
    "UPDATE outbox SET lane = conversation_id WHERE lane IS NULL",
    """
    CREATE INDEX IF NOT EXISTS outbox_pending_by_lane
        ON outbox (lane, id) WHERE status = 'pending'
    """,
    # Superseded by the index above; `outbox_by_conversation` still serves the listings.
    "DROP INDEX IF EXISTS outbox_pending_by_conversation",
    # Where each handoff notice was posted. Insertion order is the id's: a new rowid is
    # always above every stored one. The foreign key is checked at once, not at COMMIT: a
    # thread is saved on its own (after its notice went out, so after its conversation was
    # committed), and a bad one must fail alone, not the group commit it shares.
    """
    CREATE TABLE IF NOT EXISTS desk_threads (
        id INTEGER PRIMARY KEY,
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
)

# What operators read: a conversation's history, attachments in the transcript, and the
# indexes that let listings filter and page (newest first by opened_at, id) without a scan.
_V3 = (
    # The domain events about a conversation's assignment and life, as JSON (see
    # core/history.py). Checked at COMMIT like the transcript, which is saved beside it.
    """
    CREATE TABLE IF NOT EXISTS history (
        id INTEGER PRIMARY KEY,
        conversation_id TEXT NOT NULL
            REFERENCES conversations (id) DEFERRABLE INITIALLY DEFERRED,
        kind TEXT NOT NULL,
        at INTEGER NOT NULL,
        event TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS history_by_conversation ON history (conversation_id, id)",
    # NULL in rows from before: the entry had no attachment, or only its kind was known.
    "ALTER TABLE transcript ADD COLUMN attachment TEXT",
    "CREATE INDEX IF NOT EXISTS conversations_by_opened ON conversations (opened_at, id)",
    """
    CREATE INDEX IF NOT EXISTS conversations_by_status
        ON conversations (status, opened_at, id)
    """,
    "CREATE INDEX IF NOT EXISTS conversations_by_team ON conversations (team, opened_at, id)",
    """
    CREATE INDEX IF NOT EXISTS conversations_by_assignee
        ON conversations (assignee, opened_at, id)
    """,
    """
    CREATE INDEX IF NOT EXISTS conversations_by_channel
        ON conversations (channel, opened_at, id)
    """,
    # Whether a run waits is in its JSON; the listing's query repeats this exact expression
    # (see records.WAITING), which is what lets SQLite use the partial index.
    """
    CREATE INDEX IF NOT EXISTS conversations_waiting ON conversations (opened_at, id)
        WHERE status = 'open' AND json_extract(run, '$.waiting') IS NOT NULL
    """,
    """
    CREATE INDEX IF NOT EXISTS conversations_queued_by_opened ON conversations (opened_at, id)
        WHERE status = 'open' AND assignee IS NULL AND queued_at IS NOT NULL
    """,
    # A contact named by their id on the channel alone, without the channel.
    "CREATE INDEX IF NOT EXISTS contacts_by_external_id ON contacts (external_id)",
)

# Retention: the sweep finds what is old enough to delete without reading every row.
_V4 = (
    """
    CREATE INDEX IF NOT EXISTS inbox_processed
        ON inbox (received_at) WHERE processed_at IS NOT NULL AND error IS NULL
    """,
    "CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent_at) WHERE status = 'sent'",
    "CREATE INDEX IF NOT EXISTS outbox_failed ON outbox (failed_at) WHERE status = 'failed'",
    """
    CREATE INDEX IF NOT EXISTS conversations_closed
        ON conversations (closed_at) WHERE status = 'closed'
    """,
)

# What an assign step tells the customer when an agent takes the conversation, which may be
# long after the step ran (from the team's queue). NULL in rows from before: nothing to say.
_V5 = ("ALTER TABLE conversations ADD COLUMN assigned_message TEXT",)

# Who wrote an outgoing message that the workflow did not (an agent's reply), as JSON.
# NULL in rows from before: the workflow's words, or a reply whose writer was not kept.
_V6 = ("ALTER TABLE transcript ADD COLUMN author TEXT",)

# Taking back what a stopped process held. A timer may be a lease (it stands for an HTTP
# request under way; the runs waiting for one are found in their stored JSON). An outbox row
# may be `uncertain`: it was in flight when the process stopped, on a channel set not to send
# such a message again. SQLite cannot change a CHECK constraint in place, so the outbox is
# rebuilt the way https://www.sqlite.org/lang_altertable.html#otheralter describes; its
# AUTOINCREMENT position is carried over, so no id is ever handed out twice.
_V7 = (
    "ALTER TABLE timers ADD COLUMN lease INTEGER NOT NULL DEFAULT 0",
    """
    UPDATE timers SET lease = 1 WHERE id IN (
        SELECT json_extract(run, '$.waiting.timer_id') FROM conversations
        WHERE run IS NOT NULL AND json_extract(run, '$.waiting.kind') = 'http'
    )
    """,
    """
    CREATE TABLE outbox_rebuilt (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL
            REFERENCES conversations (id) DEFERRABLE INITIALLY DEFERRED,
        lane TEXT,
        message TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'uncertain')),
        attempts INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        leased_until INTEGER,
        last_error TEXT,
        sent_at INTEGER,
        failed_at INTEGER
    )
    """,
    """
    INSERT INTO outbox_rebuilt
        (id, message_id, conversation_id, lane, message, status, attempts, created_at,
         next_attempt_at, leased_until, last_error, sent_at, failed_at)
    SELECT id, message_id, conversation_id, lane, message, status, attempts, created_at,
         next_attempt_at, leased_until, last_error, sent_at, failed_at
    FROM outbox
    """,
    "DELETE FROM sqlite_sequence WHERE name = 'outbox_rebuilt'",
    """
    INSERT INTO sqlite_sequence (name, seq)
    SELECT 'outbox_rebuilt', seq FROM sqlite_sequence WHERE name = 'outbox'
    """,
    "DROP TABLE outbox",
    "ALTER TABLE outbox_rebuilt RENAME TO outbox",
    "CREATE INDEX outbox_by_conversation ON outbox (conversation_id, id)",
    "CREATE INDEX outbox_pending_due ON outbox (next_attempt_at) WHERE status = 'pending'",
    """
    CREATE INDEX outbox_pending_leased
        ON outbox (leased_until) WHERE status = 'pending' AND leased_until IS NOT NULL
    """,
    "CREATE INDEX outbox_pending_by_lane ON outbox (lane, id) WHERE status = 'pending'",
    "CREATE INDEX outbox_sent ON outbox (sent_at) WHERE status = 'sent'",
    "CREATE INDEX outbox_failed ON outbox (failed_at) WHERE status = 'failed'",
)

# Which of a contact's profile fields a workflow saved (a JSON list of names; NULL: none),
# so that a channel's later events leave them as the workflow set them.
_V8 = ("ALTER TABLE contacts ADD COLUMN workflow_fields TEXT",)

# A queued conversation keeps the `max_open` of the step that queued it, so that an agent
# taking the queue (after a restart too) takes it only below that limit. NULL: no limit, as
# for every conversation queued before.
_V9 = ("ALTER TABLE conversations ADD COLUMN queue_limit INTEGER",)

# What a timer is for: "run" (the run's wait) or "accept" (a handoff's accept timeout).
_V10 = ("ALTER TABLE timers ADD COLUMN purpose TEXT NOT NULL DEFAULT 'run'",)

# An agent's internal note on the desk's thread is kept in the transcript (never sent); 0 in
# rows from before: notes were not kept then.
_V11 = ("ALTER TABLE transcript ADD COLUMN note INTEGER NOT NULL DEFAULT 0",)

# The one agent a queued conversation waits for (an assign step naming them); NULL: any agent
# of its team, as for every conversation queued before.
_V12 = (
    "ALTER TABLE conversations ADD COLUMN queued_for TEXT",
    """
    CREATE INDEX conversations_queued_for
        ON conversations (queued_for, queued_at)
        WHERE status = 'open' AND assignee IS NULL AND queued_for IS NOT NULL
    """,
)

# Where notices reach an agent on a desk channel is the config's business (its agents'
# `desk` addresses), not the store's: the column a Slack user id was kept in goes.
_V13 = ("ALTER TABLE agents DROP COLUMN slack_user_id",)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _V1,
    _V2,
    _V3,
    _V4,
    _V5,
    _V6,
    _V7,
    _V8,
    _V9,
    _V10,
    _V11,
    _V12,
    _V13,
)
SCHEMA_VERSION = len(MIGRATIONS)


async def migrate(writer: Writer) -> None:
    """Bring the database up to `SCHEMA_VERSION`; refuse one written by a newer frontdesk."""
    async with writer.transaction() as conn:
        # Read inside the write transaction, so two processes starting at once do not both
        # apply the same migration.
        row = await fetch_one(conn, "PRAGMA user_version")
        current = int(row[0]) if row is not None else 0
        if current > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"the database has schema version {current}, newer than the {SCHEMA_VERSION} "
                "this frontdesk knows; upgrade frontdesk or use another database file"
            )
        for number in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                await conn.execute(statement)
            # PRAGMA takes no bound parameters; `number` is our own integer.
            await conn.execute(f"PRAGMA user_version = {number}")
