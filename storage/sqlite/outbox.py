"""The outbox: messages waiting to be delivered, each lane's strictly in order.

A lane is a conversation's messages for the customer, or its messages for the agents' desk
(see `Outbound.lane`). A row is `pending` until it is `sent` or `failed`, or `uncertain` (in
flight when a process stopped, on a channel set not to send it again). Only the head of a
lane's queue (its oldest pending row) may be claimed, so a message that keeps failing holds
back the later messages of its own lane and of no other: not even the other lane of its
conversation. A claim leases the row until `leased_until`; the next process takes back at
once what a stopped one held (`take_back`), and a lease that runs out in a running process
(a send that hung) lets the row be claimed again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from core.models import Outbound, OutboxItem
from core.ports import OutboxRecord
from storage.rows import outbox_item_from, outbox_record_from
from storage.sqlite.codec import (
    TIMES,
    from_micros,
    from_micros_or_none,
    seconds_to_micros,
    to_micros,
)
from storage.sqlite.connection import fetch_all, fetch_one
from storage.sqlite.in_thread import QuietChanges

# The row is the head of its lane's queue.
_IS_HEAD = """
    o.id = (SELECT MIN(h.id) FROM outbox AS h WHERE h.lane = o.lane AND h.status = 'pending')
"""


# A message id already in the outbox is ignored: enqueueing is idempotent.
ENQUEUE = """
    INSERT INTO outbox
        (message_id, conversation_id, lane, message, status, attempts, created_at,
         next_attempt_at)
    VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)
    ON CONFLICT (message_id) DO NOTHING
"""


def enqueue_row(message: Outbound, at: datetime) -> tuple[Any, ...]:
    """Parameters of ENQUEUE: due at `at`."""
    due = to_micros(at)
    return (
        message.message_id,
        message.conversation_id,
        message.lane,
        message.model_dump_json(),
        due,
        due,
    )


@dataclass(frozen=True)
class Claimed:
    items: list[OutboxItem]
    # With fewer items than asked for, nothing else is due now: `next_due` then, and the
    # connection's `total_changes` less its quiet changes (`in_thread.QuietChanges`) it was read at
    # (a later write may have moved it).
    # The rows claimed now and those in `apart` (see `claim_due`) are left out of it.
    next_due: tuple[datetime | None, int] | None
    leases: dict[int, datetime]  # claimed row → when its lease ends


# Due heads not leased (or whose lease ran out), in the order of the due-time index: the
# scan stops after `limit` rows.
_DUE_HEADS = f"""
    SELECT o.id FROM outbox AS o
    WHERE o.status = 'pending' AND o.next_attempt_at <= :now
      AND (o.leased_until IS NULL OR o.leased_until <= :now)
      AND {_IS_HEAD}
    ORDER BY o.next_attempt_at, o.id LIMIT :limit
"""

# The same, of the rows of some message ids only (found by their unique index).
_QUEUED_HEADS = f"""
    SELECT o.id FROM outbox AS o
    WHERE o.message_id IN (SELECT value FROM json_each(:ids))
      AND o.status = 'pending' AND o.next_attempt_at <= :now
      AND o.leased_until IS NULL AND {_IS_HEAD}
    ORDER BY o.id LIMIT :limit
"""


def claim_due(
    now: datetime,
    limit: int,
    lease_seconds: float,
    quiet: QuietChanges,
    apart: Collection[int],
    conn: sqlite3.Connection,
) -> Claimed:
    """Lease up to `limit` due heads (at most one row per lane), longest due first. Runs on
    the connection's thread (`Writer.unit`). The next due time it finds leaves out the leases
    of the rows claimed now and of `apart` (claimed before, still in flight): the caller
    counts those itself until each is marked, so that one sent is no longer counted."""
    return _lease(_DUE_HEADS, {}, now, limit, lease_seconds, quiet, apart, conn)


def claim_queued(
    message_ids: Sequence[str],
    now: datetime,
    limit: int,
    lease_seconds: float,
    quiet: QuietChanges,
    apart: Collection[int],
    conn: sqlite3.Connection,
) -> Claimed:
    """`claim_due` of the rows of `message_ids` only (the replies a group's commit has just
    queued, in that commit: `Writer.rider`): those that are due heads of their lanes and not
    leased, up to `limit`. When it comes back short, what it tells of the next due time
    covers every row, as `claim_due`'s does."""
    ids = {"ids": json.dumps(list(message_ids))}
    return _lease(_QUEUED_HEADS, ids, now, limit, lease_seconds, quiet, apart, conn)


def _lease(
    heads: str,
    params: dict[str, Any],
    now: datetime,
    limit: int,
    lease_seconds: float,
    quiet: QuietChanges,
    apart: Collection[int],
    conn: sqlite3.Connection,
) -> Claimed:
    at = to_micros(now)
    until = at + seconds_to_micros(lease_seconds)
    rows = conn.execute(
        f"""
        UPDATE outbox SET leased_until = :until WHERE id IN ({heads})
        RETURNING id, message, attempts, created_at
        """,
        {"until": until, "now": at, "limit": limit, **params},
    ).fetchall()
    return _claimed(rows, until, limit, quiet, apart, conn)


def _claimed(
    rows: list[sqlite3.Row],
    until: int,
    limit: int,
    quiet: QuietChanges,
    apart: Collection[int],
    conn: sqlite3.Connection,
) -> Claimed:
    # RETURNING gives rows in no promised order.
    rows.sort(key=lambda row: int(row["id"]))
    items = [outbox_item_from(row, TIMES) for row in rows]
    leases = dict.fromkeys((item.id for item in items), from_micros(until))
    if len(items) == limit:
        return Claimed(items, None, leases)
    # The delivery loop asks when to look next whenever a claim comes back short: asked
    # here, in the same call to the thread, it costs no call of its own.
    left_out = json.dumps([*apart, *leases])
    due = from_micros_or_none(conn.execute(_NEXT_DUE, (left_out,)).fetchone()[0])
    return Claimed(items, (due, quiet.changes(conn)), leases)


MARK_SENT = """
    UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, leased_until = NULL
    WHERE id = ?
"""


def sent_alone(conn: sqlite3.Connection, params: tuple[Any, ...]) -> bool:
    """Whether the row `MARK_SENT` just marked with `params` had nothing pending behind it
    in its lane: then the mark made no row due (a quiet change, `in_thread.QuietChanges`)."""
    row = conn.execute(_SENT_ALONE, (params[1],)).fetchone()
    return row is not None and bool(row[0])


_SENT_ALONE = """
    SELECT NOT EXISTS (SELECT 1 FROM outbox AS h WHERE h.lane = o.lane AND h.status = 'pending')
    FROM outbox AS o WHERE o.id = ?
"""

# Retry and fail touch only a pending row: a row settled meanwhile stays settled.
MARK_RETRY = """
    UPDATE outbox SET next_attempt_at = ?, last_error = ?, attempts = attempts + 1,
        leased_until = NULL
    WHERE id = ? AND status = 'pending'
"""

# Deferring (the channel's own rate limit) is not an attempt: attempts and last_error stay.
MARK_DEFERRED = """
    UPDATE outbox SET next_attempt_at = ?, leased_until = NULL
    WHERE id = ? AND status = 'pending'
"""

# Giving up makes the lane's next message the head of its queue.
MARK_FAILED = """
    UPDATE outbox SET status = 'failed', failed_at = ?, last_error = ?,
        attempts = attempts + 1, leased_until = NULL
    WHERE id = ? AND status = 'pending'
"""


UNCERTAIN_ERROR = "in flight when the process stopped; not sent again (after_crash: skip)"


async def take_back(
    conn: aiosqlite.Connection, uncertain_channels: Collection[str]
) -> tuple[int, list[OutboxItem]]:
    """Clear every lease: the row is due again, or `uncertain` on one of `uncertain_channels`.
    How many are due again, and the rows set uncertain."""
    rows = await fetch_all(
        conn,
        """
        SELECT id, message, attempts, created_at FROM outbox
        WHERE status = 'pending' AND leased_until IS NOT NULL ORDER BY id
        """,
    )
    items = [outbox_item_from(row, TIMES) for row in rows]
    uncertain = [i for i in items if i.message.channel in uncertain_channels]
    await conn.executemany(
        "UPDATE outbox SET status = 'uncertain', last_error = ?, leased_until = NULL WHERE id = ?",
        [(UNCERTAIN_ERROR, item.id) for item in uncertain],
    )
    await conn.execute(
        "UPDATE outbox SET leased_until = NULL WHERE status = 'pending' AND leased_until NOT NULL"
    )
    return len(items) - len(uncertain), uncertain


# When a head next becomes claimable: its next attempt, or its lease's end if later.
#
# Rows behind a head are left out: they wait for the head, not for a time, and counting them
# would have the delivery loop wake up to find nothing to claim. Two cheap lookups instead of
# one over every pending row: the first unleased head in due-time order (the index scan
# stops there), and the earliest lease to run out (few rows: those in flight) but of the
# rows given as a JSON array.
_NEXT_DUE = f"""
    SELECT MIN(t) FROM (
        SELECT * FROM (
            SELECT o.next_attempt_at AS t FROM outbox AS o
            WHERE o.status = 'pending' AND o.leased_until IS NULL AND {_IS_HEAD}
            ORDER BY o.next_attempt_at LIMIT 1
        )
        UNION ALL
        SELECT MAX(o.next_attempt_at, o.leased_until) FROM outbox AS o
        WHERE o.status = 'pending' AND o.leased_until IS NOT NULL AND {_IS_HEAD}
          AND o.id NOT IN (SELECT value FROM json_each(?))
    )
"""


async def next_due(conn: aiosqlite.Connection) -> datetime | None:
    """See `_NEXT_DUE`."""
    row = await fetch_one(conn, _NEXT_DUE, ("[]",))
    return None if row is None else from_micros_or_none(row[0])


async def records(conn: aiosqlite.Connection, conversation_id: str) -> list[OutboxRecord]:
    """The conversation's rows of both lanes, in the order they were enqueued."""
    rows = await fetch_all(
        conn,
        """
        SELECT message_id, status, attempts, last_error, sent_at FROM outbox
        WHERE conversation_id = ? ORDER BY id
        """,
        (conversation_id,),
    )
    return [outbox_record_from(row, TIMES) for row in rows]
