"""The read side (the `Records` port: for operators, the metrics' workload and tests that
check what was stored), and retention."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from core.history import HISTORY_EVENT
from core.listing import (
    AgentLoad,
    ConversationFilter,
    ConversationRecord,
    ListedConversation,
    ListQuery,
    ListStatus,
)
from core.models import (
    DESK_LANE,
    Contact,
    Conversation,
    ParkedInbound,
    StoredInbound,
    TranscriptEntry,
)
from core.ports import OutboxRecord, Workload
from core.retention import Cutoffs, Purged
from storage.postgres import reads, work
from storage.postgres.reads import Reader
from storage.postgres.rows import TIMES, aware
from storage.rows import (
    AGENT_COLUMNS,
    CONTACT_COLUMNS,
    CONVERSATION_COLUMNS,
    agent_from,
    by_agent_waited_for,
    columns,
    contact_from,
    conversation_from,
    workload_from,
)

WAITING = "v.status = 'open' AND (v.run::jsonb ->> 'waiting') IS NOT NULL"
QUEUED = "v.status = 'open' AND v.assignee IS NULL AND v.queued_at IS NOT NULL"
_STATUS = {
    ListStatus.OPEN: "v.status = 'open'",
    ListStatus.WAITING: WAITING,
    ListStatus.QUEUED: QUEUED,
    ListStatus.CLOSED: "v.status = 'closed'",
}
_SELECT = f"""
    SELECT {columns(CONVERSATION_COLUMNS, "v", "v_")}, {columns(CONTACT_COLUMNS, "c", "c_")}
    FROM conversations AS v JOIN contacts AS c ON c.id = v.contact_id
"""


class _Params:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _where(where: ConversationFilter, p: _Params) -> list[str]:
    terms: list[str] = []
    if where.status is not None:
        terms.append(_STATUS[where.status])
    for column in ("team", "assignee", "channel"):
        if (value := getattr(where, column)) is not None:
            terms.append(f"v.{column} = {p(value)}")
    if where.contact is not None:
        inner = f"SELECT id FROM contacts WHERE external_id = {p(where.contact)}"
        if where.channel is not None:
            inner += f" AND channel = {p(where.channel)}"
        terms.append(f"v.contact_id IN ({inner})")
    if where.since is not None:
        terms.append(f"v.opened_at >= {p(aware(where.since))}")
    if where.until is not None:
        terms.append(f"v.opened_at < {p(aware(where.until))}")
    return terms


async def list_conversations(db: Reader, query: ListQuery) -> list[ListedConversation]:
    p = _Params()
    terms = _where(query.filter, p)
    if query.after is not None:
        after = f"({p(aware(query.after.opened_at))}::timestamptz, {p(query.after.id)}::text)"
        terms.append(f"(v.opened_at, v.id) < {after}")
    where = f"WHERE {' AND '.join(terms)}" if terms else ""
    sql = f"{_SELECT} {where} ORDER BY v.opened_at DESC, v.id DESC LIMIT {p(query.limit)}"
    return [_listed(row) for row in await db.fetch(sql, *p.values)]


async def conversation_ids(db: Reader, prefix: str, limit: int) -> list[str]:
    # A range on the primary key, not LIKE, which would read `%` and `_` as wildcards; the
    # column collation is C-like for this comparison only.
    rows = await db.fetch(
        """
        SELECT id FROM conversations
        WHERE left(id, length($1)) = $1 ORDER BY id COLLATE "C" LIMIT $2
        """,
        prefix,
        limit,
    )
    return [row["id"] for row in rows]


async def team_queue(db: Reader, team: str) -> list[ListedConversation] | None:
    if await db.fetchval("SELECT 1 FROM teams WHERE name = $1", team) is None:
        return None
    rows = await db.fetch(
        f"{_SELECT} WHERE {QUEUED} AND v.team = $1 AND v.queued_for IS NULL"
        " ORDER BY v.queued_at, v.row_order",
        team,
    )
    return [_listed(row) for row in rows]


async def agent_queue(db: Reader, agent_id: str) -> list[ListedConversation] | None:
    if await db.fetchval("SELECT 1 FROM agents WHERE id = $1", agent_id) is None:
        return None
    rows = await db.fetch(
        f"{_SELECT} WHERE {QUEUED} AND v.queued_for = $1 ORDER BY v.queued_at, v.row_order",
        agent_id,
    )
    return [_listed(row) for row in rows]


async def agent_queues(db: Reader) -> dict[str, list[ListedConversation]]:
    rows = await db.fetch(
        f"{_SELECT} WHERE {QUEUED} AND v.queued_for IN (SELECT id FROM agents)"
        ' ORDER BY v.queued_for COLLATE "C", v.queued_at, v.row_order'
    )
    return by_agent_waited_for(_listed(row) for row in rows)


async def conversation_record(db: Reader, conversation_id: str) -> ConversationRecord | None:
    row = await db.fetchrow(f"{_SELECT} WHERE v.id = $1", conversation_id)
    if row is None:
        return None
    listed = _listed(row)
    events = await db.fetch(
        "SELECT event FROM history WHERE conversation_id = $1 ORDER BY id", conversation_id
    )
    return ConversationRecord(
        conversation=listed.conversation,
        contact=listed.contact,
        transcript=await reads.transcript(db, conversation_id),
        history=[HISTORY_EVENT.validate_json(event["event"]) for event in events],
        timer_due=await _timer_due(db, listed.conversation),
    )


async def _timer_due(db: Reader, conversation: Conversation) -> datetime | None:
    run = conversation.run
    if run is None or run.waiting is None or run.waiting.timer_id is None:
        return None
    due: datetime | None = await db.fetchval(
        "SELECT due_at FROM timers WHERE id = $1", run.waiting.timer_id
    )
    return due


async def agent_loads(db: Reader) -> list[AgentLoad]:
    rows = await db.fetch(
        f"""
        SELECT {columns(AGENT_COLUMNS, "a")},
            (SELECT count(*) FROM conversations AS v
             WHERE v.status = 'open' AND v.assignee = a.id) AS open_conversations,
            ARRAY(SELECT team FROM team_members WHERE agent_id = a.id ORDER BY team) AS teams
        FROM agents AS a ORDER BY a.id
        """
    )
    return [
        AgentLoad(
            agent=agent_from(row),
            teams=list(row["teams"]),
            open_conversations=row["open_conversations"],
        )
        for row in rows
    ]


def _listed(row: asyncpg.Record) -> ListedConversation:
    return ListedConversation(
        conversation=conversation_from(row, TIMES, "v_"), contact=contact_from(row, TIMES, "c_")
    )


# the metrics ------------------------------------------------------------------------------

WORKLOAD = f"""
    SELECT 'queue' AS part, team AS name, '' AS kind, count(*) AS n, min(queued_at) AS oldest
        FROM conversations
        WHERE status = 'open' AND assignee IS NULL AND queued_at IS NOT NULL
          AND queued_for IS NULL
        GROUP BY team
    UNION ALL
    SELECT 'agent_queue', queued_for, '', count(*), min(queued_at)
        FROM conversations
        WHERE status = 'open' AND assignee IS NULL AND queued_for IS NOT NULL
          AND queued_at IS NOT NULL
        GROUP BY queued_for
    UNION ALL
    SELECT 'open', channel, '', count(*), NULL
        FROM conversations WHERE status = 'open' GROUP BY channel
    UNION ALL
    SELECT 'agents', status, '', count(*), NULL FROM agents GROUP BY status
    UNION ALL
    SELECT 'outbox', message::jsonb ->> 'channel',
           CASE WHEN lane LIKE '%{DESK_LANE}' THEN 'desk' ELSE 'customer' END,
           count(*), min(next_attempt_at)
        FROM outbox WHERE status = 'pending' GROUP BY 2, 3
"""


async def workload(db: Reader) -> Workload:
    return workload_from(await db.fetch(WORKLOAD), TIMES)


# retention: a few hundred rows per transaction (see the SQLite store's `retention`) -------

BATCH = 500
_INBOX = """
    DELETE FROM inbox WHERE id IN (
        SELECT id FROM inbox
        WHERE processed_at IS NOT NULL AND error IS NULL AND received_at < $1 LIMIT $2)
"""
_OUTBOX = """
    DELETE FROM outbox WHERE id IN (
        SELECT id FROM outbox
        WHERE (status = 'sent' AND sent_at < $1) OR (status = 'failed' AND failed_at < $1)
        LIMIT $2)
"""
_TRANSCRIPT = """
    DELETE FROM transcript WHERE id IN (
        SELECT t.id FROM transcript AS t JOIN conversations AS c ON c.id = t.conversation_id
        WHERE c.status = 'closed' AND t.at < $1 LIMIT $2)
"""
_FINISHED = """
    SELECT c.id FROM conversations AS c
    WHERE c.status = 'closed' AND c.closed_at < $1
      AND NOT EXISTS (
          SELECT 1 FROM outbox AS o WHERE o.conversation_id = c.id AND o.status = 'pending')
      AND NOT EXISTS (SELECT 1 FROM timers AS t WHERE t.conversation_id = c.id)
    LIMIT $2 FOR UPDATE SKIP LOCKED
"""
_CONVERSATION_ROWS = (
    "DELETE FROM desk_threads WHERE conversation_id = ANY($1::text[])",
    "DELETE FROM transcript WHERE conversation_id = ANY($1::text[])",
    "DELETE FROM history WHERE conversation_id = ANY($1::text[])",
    "DELETE FROM outbox WHERE conversation_id = ANY($1::text[])",
    "DELETE FROM conversations WHERE id = ANY($1::text[])",
)


async def purge(pool: asyncpg.Pool[asyncpg.Record], cutoffs: Cutoffs) -> Purged:
    return Purged(
        inbound_events=await _delete(pool, _INBOX, cutoffs.inbox_dedupe),
        outbox_messages=await _delete(pool, _OUTBOX, cutoffs.delivered_outbox),
        transcript_entries=await _delete(pool, _TRANSCRIPT, cutoffs.transcripts),
        conversations=await _delete_conversations(pool, cutoffs.closed_conversations),
    )


async def _delete(pool: asyncpg.Pool[asyncpg.Record], sql: str, before: datetime | None) -> int:
    if before is None:
        return 0
    total = 0
    while True:
        status = await pool.execute(sql, aware(before), BATCH)
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < BATCH:
            return total


async def _delete_conversations(pool: asyncpg.Pool[asyncpg.Record], before: datetime | None) -> int:
    if before is None:
        return 0
    total = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            ids = [row["id"] for row in await conn.fetch(_FINISHED, aware(before), BATCH)]
            for statement in _CONVERSATION_ROWS:
                await conn.execute(statement, ids)
        total += len(ids)
        if len(ids) < BATCH:
            return total


class PostgresRecords:
    """The Records port on PostgreSQL, a part of `PostgresStore`: one statement at a time on
    the store's pool."""

    def _db(self) -> asyncpg.Pool[asyncpg.Record]:
        raise NotImplementedError  # the store gives its pool

    async def list_conversations(self, query: ListQuery) -> list[ListedConversation]:
        return await list_conversations(self._db(), query)

    async def conversation_record(self, conversation_id: str) -> ConversationRecord | None:
        return await conversation_record(self._db(), conversation_id)

    async def conversation_ids(self, prefix: str, limit: int) -> list[str]:
        return await conversation_ids(self._db(), prefix, limit)

    async def team_queue(self, team: str) -> list[ListedConversation] | None:
        return await team_queue(self._db(), team)

    async def agent_queue(self, agent_id: str) -> list[ListedConversation] | None:
        return await agent_queue(self._db(), agent_id)

    async def agent_queues(self) -> dict[str, list[ListedConversation]]:
        return await agent_queues(self._db())

    async def agent_loads(self) -> list[AgentLoad]:
        return await agent_loads(self._db())

    async def workload(self) -> Workload:
        return await workload(self._db())

    async def parked_inbound(self, limit: int) -> list[ParkedInbound]:
        return await work.parked(self._db(), limit)

    async def load_inbound(self, inbound_id: int) -> StoredInbound | None:
        return await work.load(self._db(), inbound_id)

    async def inbound_error(self, inbound_id: int) -> str | None:
        found: str | None = await self._db().fetchval(
            "SELECT error FROM inbox WHERE id = $1", inbound_id
        )
        return found

    async def conversations_of(self, channel: str, external_id: str) -> list[Conversation]:
        return await reads.conversations_of(self._db(), channel, external_id)

    async def contact_at(self, channel: str, external_id: str) -> Contact | None:
        return await reads.contact_at(self._db(), channel, external_id)

    async def transcript(self, conversation_id: str) -> list[TranscriptEntry]:
        return await reads.transcript(self._db(), conversation_id)

    async def outbox(self, conversation_id: str) -> list[OutboxRecord]:
        return await work.records(self._db(), conversation_id)
