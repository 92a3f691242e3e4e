"""The read side (the `Records` port): listings, one conversation in full, team queues,
agents' loads, the metrics' workload and what tests check was stored; and the conversation
history the engine appends to."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import aiosqlite

from core.history import HISTORY_EVENT, HistoryEvent
from core.listing import (
    AgentLoad,
    ConversationFilter,
    ConversationRecord,
    ListedConversation,
    ListQuery,
    ListStatus,
)
from core.models import (
    Contact,
    Conversation,
    ParkedInbound,
    StoredInbound,
    TranscriptEntry,
)
from core.ports import OutboxRecord, Workload
from storage.rows import (
    AGENT_COLUMNS,
    CONTACT_COLUMNS,
    CONVERSATION_COLUMNS,
    TAGS,
    agent_from,
    by_agent_waited_for,
    columns,
    contact_from,
    conversation_from,
)
from storage.sqlite import conversations, inbox, outbox, workload
from storage.sqlite.codec import TIMES, from_micros, to_micros
from storage.sqlite.connection import fetch_all, fetch_one

ADD_HISTORY = "INSERT INTO history (conversation_id, kind, at, event) VALUES (?, ?, ?, ?)"


def history_row(conversation_id: str, event: HistoryEvent) -> tuple[str, str, int, str]:
    return (
        conversation_id,
        event.kind,
        to_micros(event.at),
        HISTORY_EVENT.dump_json(event).decode(),
    )


# Each status as SQL over the conversation `v`, the same words as the partial indexes in
# `schema` so that SQLite uses them (see `ListStatus` for what each means).
WAITING = "v.status = 'open' AND json_extract(v.run, '$.waiting') IS NOT NULL"
QUEUED = "v.status = 'open' AND v.assignee IS NULL AND v.queued_at IS NOT NULL"
_STATUS = {
    ListStatus.OPEN: "v.status = 'open'",
    ListStatus.WAITING: WAITING,
    ListStatus.QUEUED: QUEUED,
    ListStatus.CLOSED: "v.status = 'closed'",
}

# Waiting and queued conversations are few beside the open ones; left to itself SQLite would
# walk every open conversation (`status = ?` on conversations_by_status) to find them. A
# contact filter is more selective still, and keeps its own index.
_PARTIAL = {
    ListStatus.WAITING: "conversations_waiting",
    ListStatus.QUEUED: "conversations_queued_by_opened",
}


def _select(index: str | None = None) -> str:
    indexed = f" INDEXED BY {index}" if index else ""
    return f"""
    SELECT {columns(CONVERSATION_COLUMNS, "v", "v_")}, {columns(CONTACT_COLUMNS, "c", "c_")}
    FROM conversations AS v{indexed} JOIN contacts AS c ON c.id = v.contact_id
    """


_SELECT = _select()


def _where(where: ConversationFilter) -> tuple[list[str], list[Any]]:
    terms: list[str] = []
    params: list[Any] = []
    if where.status is not None:
        terms.append(_STATUS[where.status])
    for column in ("team", "assignee", "channel"):
        if (value := getattr(where, column)) is not None:
            terms.append(f"v.{column} = ?")
            params.append(value)
    if where.contact is not None:
        # Through the contacts' own index, then the conversations by contact.
        inner = "SELECT id FROM contacts WHERE external_id = ?"
        params.append(where.contact)
        if where.channel is not None:
            inner += " AND channel = ?"
            params.append(where.channel)
        terms.append(f"v.contact_id IN ({inner})")
    if where.since is not None:
        terms.append("v.opened_at >= ?")
        params.append(to_micros(where.since))
    if where.until is not None:
        terms.append("v.opened_at < ?")
        params.append(to_micros(where.until))
    return terms, params


async def list_conversations(
    conn: aiosqlite.Connection, query: ListQuery
) -> list[ListedConversation]:
    terms, params = _where(query.filter)
    if query.after is not None:
        terms.append("(v.opened_at, v.id) < (?, ?)")
        params += [to_micros(query.after.opened_at), query.after.id]
    where = f"WHERE {' AND '.join(terms)}" if terms else ""
    index = None
    if query.filter.status is not None and query.filter.contact is None:
        index = _PARTIAL.get(query.filter.status)
    rows = await fetch_all(
        conn,
        f"{_select(index)} {where} ORDER BY v.opened_at DESC, v.id DESC LIMIT ?",
        (*params, query.limit),
    )
    return [_listed(row) for row in rows]


async def conversation_ids(conn: aiosqlite.Connection, prefix: str, limit: int) -> list[str]:
    # A range on the primary key rather than LIKE, which would read `%` and `_` in the prefix
    # as wildcards (and not use the index).
    rows = await fetch_all(
        conn,
        "SELECT id FROM conversations WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
        (prefix, prefix + "\U0010ffff", limit),
    )
    return [row["id"] for row in rows]


async def team_queue(conn: aiosqlite.Connection, team: str) -> list[ListedConversation] | None:
    if await fetch_one(conn, "SELECT 1 FROM teams WHERE name = ?", (team,)) is None:
        return None
    rows = await fetch_all(
        conn,
        f"{_SELECT} WHERE {QUEUED} AND v.team = ? AND v.queued_for IS NULL"
        " ORDER BY v.queued_at, v.rowid",
        (team,),
    )
    return [_listed(row) for row in rows]


async def agent_queue(conn: aiosqlite.Connection, agent_id: str) -> list[ListedConversation] | None:
    if await fetch_one(conn, "SELECT 1 FROM agents WHERE id = ?", (agent_id,)) is None:
        return None
    rows = await fetch_all(
        conn,
        f"{_SELECT} WHERE {QUEUED} AND v.queued_for = ? ORDER BY v.queued_at, v.rowid",
        (agent_id,),
    )
    return [_listed(row) for row in rows]


async def agent_queues(conn: aiosqlite.Connection) -> dict[str, list[ListedConversation]]:
    rows = await fetch_all(
        conn,
        f"{_SELECT} WHERE {QUEUED} AND v.queued_for IN (SELECT id FROM agents)"
        " ORDER BY v.queued_for, v.queued_at, v.rowid",
        (),
    )
    return by_agent_waited_for(_listed(row) for row in rows)


async def conversation_record(
    conn: aiosqlite.Connection, conversation_id: str
) -> ConversationRecord | None:
    row = await fetch_one(conn, f"{_SELECT} WHERE v.id = ?", (conversation_id,))
    if row is None:
        return None
    listed = _listed(row)
    events = await fetch_all(
        conn, "SELECT event FROM history WHERE conversation_id = ? ORDER BY id", (conversation_id,)
    )
    return ConversationRecord(
        conversation=listed.conversation,
        contact=listed.contact,
        transcript=await conversations.transcript(conn, conversation_id),
        history=[HISTORY_EVENT.validate_json(event["event"]) for event in events],
        timer_due=await _timer_due(conn, listed.conversation),
    )


async def _timer_due(conn: aiosqlite.Connection, conversation: Conversation) -> datetime | None:
    run = conversation.run
    if run is None or run.waiting is None or run.waiting.timer_id is None:
        return None
    row = await fetch_one(conn, "SELECT due_at FROM timers WHERE id = ?", (run.waiting.timer_id,))
    return None if row is None else from_micros(row["due_at"])


async def agent_loads(conn: aiosqlite.Connection) -> list[AgentLoad]:
    rows = await fetch_all(
        conn,
        f"""
        SELECT {columns(AGENT_COLUMNS, "a")},
            (SELECT COUNT(*) FROM conversations AS v
             WHERE v.status = 'open' AND v.assignee = a.id) AS open_conversations,
            (SELECT json_group_array(team) FROM
                (SELECT team FROM team_members WHERE agent_id = a.id ORDER BY team)) AS teams
        FROM agents AS a ORDER BY a.id
        """,
    )
    return [
        AgentLoad(
            agent=agent_from(row),
            teams=TAGS.validate_json(row["teams"]),
            open_conversations=row["open_conversations"],
        )
        for row in rows
    ]


def _listed(row: sqlite3.Row) -> ListedConversation:
    # Both tables have `id` and `channel`, so the joined row's columns are prefixed.
    return ListedConversation(
        conversation=conversation_from(row, TIMES, "v_"),
        contact=contact_from(row, TIMES, "c_"),
    )


class SqliteRecords:
    """The Records port on SQLite, a part of `SqliteStore`: every read goes through the
    store's read-only connection, which WAL lets run beside a write."""

    def _read(self) -> aiosqlite.Connection:
        raise NotImplementedError  # the store gives its reader

    async def list_conversations(self, query: ListQuery) -> list[ListedConversation]:
        return await list_conversations(self._read(), query)

    async def conversation_record(self, conversation_id: str) -> ConversationRecord | None:
        return await conversation_record(self._read(), conversation_id)

    async def conversation_ids(self, prefix: str, limit: int) -> list[str]:
        return await conversation_ids(self._read(), prefix, limit)

    async def team_queue(self, team: str) -> list[ListedConversation] | None:
        return await team_queue(self._read(), team)

    async def agent_queue(self, agent_id: str) -> list[ListedConversation] | None:
        return await agent_queue(self._read(), agent_id)

    async def agent_queues(self) -> dict[str, list[ListedConversation]]:
        return await agent_queues(self._read())

    async def agent_loads(self) -> list[AgentLoad]:
        return await agent_loads(self._read())

    async def workload(self) -> Workload:
        return await workload.read(self._read())

    async def parked_inbound(self, limit: int) -> list[ParkedInbound]:
        return await inbox.parked(self._read(), limit)

    async def load_inbound(self, inbound_id: int) -> StoredInbound | None:
        return await inbox.load(self._read(), inbound_id)

    async def inbound_error(self, inbound_id: int) -> str | None:
        return await inbox.error_of(self._read(), inbound_id)

    async def conversations_of(self, channel: str, external_id: str) -> list[Conversation]:
        return await conversations.conversations_of(self._read(), channel, external_id)

    async def contact_at(self, channel: str, external_id: str) -> Contact | None:
        return await conversations.contact_at(self._read(), channel, external_id)

    async def transcript(self, conversation_id: str) -> list[TranscriptEntry]:
        return await conversations.transcript(self._read(), conversation_id)

    async def outbox(self, conversation_id: str) -> list[OutboxRecord]:
        return await outbox.records(self._read(), conversation_id)
