"""Work shared between replicas: inbound events, timers and outbound messages.

Each is claimed with `FOR UPDATE SKIP LOCKED`, so that replicas claiming at once take
different rows without waiting for each other, and carries its owner (see `replicas`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from core.models import Outbound, OutboxItem, ParkedInbound, StoredInbound, Timer
from core.ports import OutboxRecord, TakenBack
from storage.postgres.reads import Conn, Reader
from storage.postgres.replicas import gone
from storage.postgres.rows import TIMES, aware
from storage.rows import (
    outbox_item_from,
    outbox_record_from,
    parked_inbound_from,
    stored_inbound_from,
    timer_from,
)

# inbox ------------------------------------------------------------------------------------

RECORD = """
    INSERT INTO inbox (channel, event_id, contact_key, event, received_at, owner)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (channel, event_id) DO NOTHING RETURNING id
"""

# An event is this replica's to process if it accepted it, or if its owner is gone: then it
# becomes this replica's in the same statement, so that two survivors never both take it.
_CLAIM_PENDING = f"""
    UPDATE inbox SET owner = $1 WHERE id IN (
        SELECT id FROM inbox
        WHERE processed_at IS NULL AND id > $2
          AND (owner IS NULL OR owner = $1 OR {gone("owner", "$1", "$4")})
        ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED
    )
    RETURNING id, received_at, event
"""


async def claim_pending(
    db: Reader, replica: str, owner_timeout: float, limit: int, after_id: int
) -> list[StoredInbound]:
    rows = await db.fetch(_CLAIM_PENDING, replica, after_id, limit, owner_timeout)
    return sorted((stored_inbound_from(row, TIMES) for row in rows), key=lambda item: item.id)


# Only events whose owner is gone (never this replica's own, already in its hands): asked on
# the heartbeat's cadence, so a dead replica's events move within seconds of its last beat.
_CLAIM_ORPHANED = f"""
    UPDATE inbox SET owner = $1 WHERE id IN (
        SELECT id FROM inbox
        WHERE processed_at IS NULL AND (owner IS NULL OR {gone("owner", "$1", "$3")})
        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
    )
    RETURNING id, received_at, event
"""


async def claim_orphaned(
    db: Reader, replica: str, owner_timeout: float, limit: int
) -> list[StoredInbound]:
    rows = await db.fetch(_CLAIM_ORPHANED, replica, limit, owner_timeout)
    return sorted((stored_inbound_from(row, TIMES) for row in rows), key=lambda item: item.id)


async def processed(db: Reader, inbound_id: int) -> bool:
    """Processed or set aside; an event no longer stored was too (retention deletes only
    those)."""
    row = await db.fetchrow("SELECT processed_at FROM inbox WHERE id = $1", inbound_id)
    return row is None or row["processed_at"] is not None


async def load(db: Reader, inbound_id: int) -> StoredInbound | None:
    row = await db.fetchrow("SELECT id, received_at, event FROM inbox WHERE id = $1", inbound_id)
    return None if row is None else stored_inbound_from(row, TIMES)


# Exact (one row must change): an event another replica has processed meanwhile (it took
# over from an owner thought dead) fails the second turn instead of running it twice.
MARK_PROCESSED = "UPDATE inbox SET processed_at = $1 WHERE id = $2 AND processed_at IS NULL"
SET_ASIDE = "UPDATE inbox SET processed_at = $1, error = $2 WHERE id = $3 AND processed_at IS NULL"


async def parked(db: Reader, limit: int) -> list[ParkedInbound]:
    rows = await db.fetch(
        """
        SELECT id, received_at, processed_at, error, event FROM inbox
        WHERE error IS NOT NULL AND processed_at IS NOT NULL
        ORDER BY processed_at DESC, id DESC LIMIT $1
        """,
        limit,
    )
    return [parked_inbound_from(row, TIMES) for row in rows]


async def unpark(db: Reader, replica: str, inbound_id: int) -> StoredInbound | None:
    """Pending again, and this replica's to process (the one an operator asked)."""
    row = await db.fetchrow(
        """
        UPDATE inbox SET processed_at = NULL, error = NULL, owner = $2
        WHERE id = $1 AND error IS NOT NULL AND processed_at IS NOT NULL
        RETURNING id, received_at, event
        """,
        inbound_id,
        replica,
    )
    return None if row is None else stored_inbound_from(row, TIMES)


# timers -----------------------------------------------------------------------------------

# A timer belongs to the replica whose turn scheduled it: a lease timer stands for the HTTP
# request that replica is making, and is taken back (due at once) only when it dies.
SCHEDULE = """
    INSERT INTO timers (id, conversation_id, key, due_at, lease, owner, purpose)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (id) DO UPDATE SET
        conversation_id = excluded.conversation_id, key = excluded.key,
        due_at = excluded.due_at, lease = excluded.lease, owner = excluded.owner,
        purpose = excluded.purpose
"""
DELETE_TIMER = "DELETE FROM timers WHERE id = $1"


def timer_row(timer: Timer, replica: str) -> tuple[str, str, str, datetime, bool, str, str]:
    return (
        timer.id,
        timer.conversation_id,
        str(timer.conversation_key),
        aware(timer.due_at),
        timer.lease,
        replica,
        timer.purpose,
    )


_CLAIM_TIMERS = f"""
    UPDATE timers SET owner = $1 WHERE id IN (
        SELECT id FROM timers
        WHERE due_at <= $2 AND (owner IS NULL OR owner = $1 OR {gone("owner", "$1", "$4")})
        ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED
    )
    RETURNING id, conversation_id, key, due_at, lease, purpose
"""


async def claim_timers(
    db: Reader, replica: str, owner_timeout: float, now: datetime, limit: int
) -> list[Timer]:
    """Due timers this replica may fire, earliest first, now owned by it; they stay stored
    until the engine deletes them."""
    rows = await db.fetch(_CLAIM_TIMERS, replica, aware(now), limit, owner_timeout)
    timers = [timer_from(row, TIMES) for row in rows]
    return sorted(timers, key=lambda timer: (timer.due_at, timer.id))


async def next_timer_due(db: Reader, replica: str, owner_timeout: float) -> datetime | None:
    """The earliest timer this replica could fire (those owned by live others are theirs)."""
    found: datetime | None = await db.fetchval(
        f"""
        SELECT min(due_at) FROM timers
        WHERE owner IS NULL OR owner = $1 OR {gone("owner", "$1", "$2")}
        """,
        replica,
        owner_timeout,
    )
    return found


# outbox -----------------------------------------------------------------------------------

ENQUEUE = """
    INSERT INTO outbox
        (message_id, conversation_id, lane, message, status, attempts, created_at,
         next_attempt_at)
    VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)
    ON CONFLICT (message_id) DO NOTHING
"""


def enqueue_row(message: Outbound, at: datetime) -> tuple[str, str, str, str, datetime]:
    return (
        message.message_id,
        message.conversation_id,
        message.lane,
        message.model_dump_json(),
        aware(at),
    )


_IS_HEAD = """
    o.id = (SELECT min(h.id) FROM outbox AS h WHERE h.lane = o.lane AND h.status = 'pending')
"""

# A lease is free when it has run out, or when its owner is gone (its end may be far off);
# but a gone owner's lease on a channel of $6 (`after_crash: skip`), run out or not, is the
# takeover's to set uncertain (`forsake`), never a claim's to send again.
_CLAIM = f"""
    UPDATE outbox SET leased_until = $2, owner = $1 WHERE id IN (
        SELECT o.id FROM outbox AS o
        WHERE o.status = 'pending' AND o.next_attempt_at <= $3
          AND (o.leased_until IS NULL
               OR CASE WHEN {gone("o.owner", "$1", "$5")}
                   THEN NOT (o.message::jsonb ->> 'channel') = ANY($6::text[])
                   ELSE o.leased_until <= $3 END)
          AND {_IS_HEAD}
        ORDER BY o.next_attempt_at, o.id LIMIT $4
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, message, attempts, created_at
"""


async def claim_outbound(
    db: Reader,
    replica: str,
    owner_timeout: float,
    now: datetime,
    limit: int,
    lease_seconds: float,
    uncertain_channels: Collection[str],
) -> list[OutboxItem]:
    if limit <= 0:
        return []
    at = aware(now)
    until = at + timedelta(seconds=lease_seconds)
    rows = await db.fetch(
        _CLAIM, replica, until, at, limit, owner_timeout, list(uncertain_channels)
    )
    return sorted((outbox_item_from(row, TIMES) for row in rows), key=lambda item: item.id)


MARK_SENT = """
    UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1,
        leased_until = NULL
    WHERE id = $2
"""
MARK_RETRY = """
    UPDATE outbox SET next_attempt_at = $1, last_error = $2, attempts = attempts + 1,
        leased_until = NULL
    WHERE id = $3 AND status = 'pending'
"""
MARK_DEFERRED = """
    UPDATE outbox SET next_attempt_at = $1, leased_until = NULL
    WHERE id = $2 AND status = 'pending'
"""
MARK_FAILED = """
    UPDATE outbox SET status = 'failed', failed_at = $1, last_error = $2,
        attempts = attempts + 1, leased_until = NULL
    WHERE id = $3 AND status = 'pending'
"""


UNCERTAIN_ERROR = "in flight when its replica stopped; not sent again (after_crash: skip)"

# Leases of a replica that died while the others ran, on a channel set not to send such a
# message again: set uncertain by the takeover (a claim leaves them alone, see `_CLAIM`).
_FORSAKE = f"""
    UPDATE outbox SET status = 'uncertain', last_error = $4, leased_until = NULL, owner = NULL
    WHERE status = 'pending' AND leased_until IS NOT NULL
      AND {gone("owner", "$1", "$2")} AND (message::jsonb ->> 'channel') = ANY($3::text[])
    RETURNING id, message, attempts, created_at
"""


async def forsake(
    db: Reader, replica: str, owner_timeout: float, uncertain_channels: Collection[str]
) -> list[OutboxItem]:
    rows = await db.fetch(
        _FORSAKE, replica, owner_timeout, list(uncertain_channels), UNCERTAIN_ERROR
    )
    return [outbox_item_from(row, TIMES) for row in rows]


async def take_back(
    conn: Conn,
    replica: str,
    owner_timeout: float,
    now: datetime,
    uncertain_channels: Collection[str],
) -> TakenBack:
    """The leases of replicas that are gone (see `replicas`), never those of live ones:
    messages in flight are due again at once (or `uncertain` on one of `uncertain_channels`),
    and lease timers due at `now`, this replica's from then on."""
    rows = await conn.fetch(
        f"""
        SELECT id, message, attempts, created_at FROM outbox
        WHERE status = 'pending' AND leased_until IS NOT NULL
          AND {gone("owner", "$1", "$2")}
        ORDER BY id FOR UPDATE SKIP LOCKED
        """,
        replica,
        owner_timeout,
    )
    items = [outbox_item_from(row, TIMES) for row in rows]
    uncertain = [i for i in items if i.message.channel in uncertain_channels]
    await conn.execute(
        """
        UPDATE outbox SET status = 'uncertain', last_error = $2, leased_until = NULL,
            owner = NULL
        WHERE id = ANY($1::bigint[])
        """,
        [item.id for item in uncertain],
        UNCERTAIN_ERROR,
    )
    await conn.execute(
        "UPDATE outbox SET leased_until = NULL, owner = NULL WHERE id = ANY($1::bigint[])",
        [item.id for item in items if item not in uncertain],
    )
    status = await conn.execute(
        f"""
        UPDATE timers SET due_at = least(due_at, $3), owner = $1
        WHERE lease AND {gone("owner", "$1", "$2")}
        """,
        replica,
        owner_timeout,
        aware(now),
    )
    return TakenBack(
        resent=len(items) - len(uncertain), uncertain=uncertain, requests=int(status.split()[-1])
    )


async def next_outbound_due(db: Reader) -> datetime | None:
    found: datetime | None = await db.fetchval(
        f"""
        SELECT min(t) FROM (
            (SELECT o.next_attempt_at AS t FROM outbox AS o
             WHERE o.status = 'pending' AND o.leased_until IS NULL AND {_IS_HEAD}
             ORDER BY o.next_attempt_at LIMIT 1)
            UNION ALL
            SELECT greatest(o.next_attempt_at, o.leased_until) FROM outbox AS o
            WHERE o.status = 'pending' AND o.leased_until IS NOT NULL AND {_IS_HEAD}
        ) AS due
        """
    )
    return found


async def records(db: Reader, conversation_id: str) -> list[OutboxRecord]:
    rows = await db.fetch(
        """
        SELECT message_id, status, attempts, last_error, sent_at FROM outbox
        WHERE conversation_id = $1 ORDER BY id
        """,
        conversation_id,
    )
    return [outbox_record_from(row, TIMES) for row in rows]
