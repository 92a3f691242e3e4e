"""The store's Transaction port on one pooled connection inside BEGIN ... COMMIT.

Reads run at once; saves are queued and run, in order, when the block exits, so that (as on
SQLite) a transaction's reads see the state from before its own saves. Every read of a
conversation first takes a transaction-scoped advisory lock on its `ConversationKey`: two
replicas' turns of one conversation run one after the other, the second seeing what the
first committed. The version check on save still stands behind it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.agents import Agent
from core.assignment import AgentFacts, Holders, TeamFacts
from core.history import HISTORY_EVENT, HistoryEvent
from core.keys import ConversationKey
from core.models import (
    Contact,
    Conversation,
    Outbound,
    Timer,
    TranscriptEntry,
)
from storage.postgres import directory, reads, rows, work
from storage.postgres.reads import Conn
from storage.postgres.rows import aware

LOCK_KEY = "SELECT pg_advisory_xact_lock(hashtext($1))"
ADD_HISTORY = "INSERT INTO history (conversation_id, kind, at, event) VALUES ($1, $2, $3, $4)"
SAVE_VERSION = (
    "INSERT INTO workflow_versions (hash, name, body) VALUES ($1, $2, $3) "
    "ON CONFLICT (hash) DO NOTHING"
)


class Write:
    """One queued statement; `exact` ones must change exactly one row."""

    __slots__ = ("args", "exact", "sql")

    def __init__(self, sql: str, args: tuple[Any, ...], exact: bool) -> None:
        self.sql, self.args, self.exact = sql, args, exact


class PostgresTransaction:
    def __init__(self, conn: Conn, replica: str) -> None:
        self._open_conn: Conn | None = conn
        self._replica = replica
        self.writes: list[Write] = []
        self._cursors: dict[str, str] = {}  # team → agent picked in this transaction
        self._open_delta: Counter[str] = Counter()  # agent → assignments not yet stored
        self._holders = Holders()  # to count the open conversations its saves move
        self._locked: set[ConversationKey] = set()

    def end(self) -> None:
        self._open_conn = None

    @property
    def _conn(self) -> Conn:
        if self._open_conn is None:
            raise RuntimeError("this transaction has ended; open a new one")
        return self._open_conn

    def _queue(self, sql: str, args: tuple[Any, ...], *, exact: bool = False) -> None:
        self.writes.append(Write(sql, args, exact))

    async def _lock(self, key: ConversationKey) -> None:
        if key not in self._locked:
            await self._conn.execute(LOCK_KEY, str(key))
            self._locked.add(key)

    # loading ------------------------------------------------------------------------------

    async def load_contact(self, contact_id: str) -> Contact | None:
        return await reads.load_contact(self._conn, contact_id)

    async def load_contact_and_open_conversation(
        self, channel: str, external_id: str
    ) -> tuple[Contact | None, Conversation | None]:
        await self._lock(ConversationKey(channel, external_id))
        contact, conversation = await reads.load_contact_and_open_conversation(
            self._conn, channel, external_id
        )
        return contact, self._holders.loaded(conversation)

    async def load_conversation(self, conversation_id: str) -> Conversation | None:
        found = await self._conn.fetchrow(
            """
            SELECT v.channel, c.external_id FROM conversations AS v
            JOIN contacts AS c ON c.id = v.contact_id WHERE v.id = $1
            """,
            conversation_id,
        )
        if found is not None:
            # Read again once locked: a turn elsewhere may have moved it on meanwhile.
            await self._lock(ConversationKey(found["channel"], found["external_id"]))
        return self._holders.loaded(await reads.load_conversation(self._conn, conversation_id))

    async def load_workflow_version(self, workflow_hash: str) -> str | None:
        body: str | None = await self._conn.fetchval(
            "SELECT body FROM workflow_versions WHERE hash = $1", workflow_hash
        )
        return body

    async def recent_transcript(self, conversation_id: str, limit: int) -> list[TranscriptEntry]:
        return await reads.recent_transcript(self._conn, conversation_id, limit)

    # assignment ---------------------------------------------------------------------------

    async def load_agent(self, agent_id: str) -> Agent | None:
        return await directory.get(self._conn, agent_id)

    async def team_facts(self, team: str) -> TeamFacts:
        return await directory.team_facts(
            self._conn, team, cursor=self._cursors.get(team), open_delta=self._open_delta
        )

    async def agent_facts(self, agent_id: str) -> AgentFacts | None:
        return await directory.agent_facts(self._conn, agent_id, self._open_delta[agent_id])

    async def advance_cursor(self, team: str, agent_id: str) -> None:
        self._cursors[team] = agent_id
        self._queue(directory.SET_CURSOR, (agent_id, team))

    # saving -------------------------------------------------------------------------------

    async def save_contact(self, contact: Contact) -> None:
        self._queue(rows.SAVE_CONTACT, rows.contact_row(contact))

    async def save_conversation(self, conversation: Conversation) -> None:
        sql, values = rows.conversation_write(conversation)
        self._queue(sql, values, exact=conversation.version > 1)
        self._holders.saved(conversation, self._open_delta)

    async def add_transcript(self, entries: Sequence[TranscriptEntry]) -> None:
        for entry in entries:
            self._queue(rows.ADD_TRANSCRIPT, rows.transcript_row(entry))

    async def add_history(self, conversation_id: str, events: Sequence[HistoryEvent]) -> None:
        for event in events:
            row = (conversation_id, event.kind, aware(event.at), HISTORY_EVENT.dump_json(event))
            self._queue(ADD_HISTORY, (*row[:3], row[3].decode()))

    async def enqueue(self, messages: Sequence[Outbound], at: datetime) -> None:
        for message in messages:
            self._queue(work.ENQUEUE, work.enqueue_row(message, at))

    async def schedule_timer(self, timer: Timer) -> None:
        self._queue(work.SCHEDULE, work.timer_row(timer, self._replica))

    async def delete_timer(self, timer_id: str) -> None:
        self._queue(work.DELETE_TIMER, (timer_id,))

    async def mark_processed(self, inbound_id: int, at: datetime) -> None:
        self._queue(work.MARK_PROCESSED, (aware(at), inbound_id), exact=True)

    async def save_workflow_version(self, workflow_hash: str, name: str, body: str) -> None:
        self._queue(SAVE_VERSION, (workflow_hash, name, body))
