"""The store's Transaction port: reads at once, writes queued for the group commit.

The engine reads what a turn needs, decides, and saves. Reads go to the writer connection
straight away (inside the group's transaction, so they see what earlier members wrote at
once); saves are queued in a `Batch` and run, with the rest of the group's, as one
`executemany` per statement at commit. Two things a later member must see before they are
stored, round-robin cursors and new assignments, are kept beside the queue and read from it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from functools import partial

import aiosqlite

from core.agents import Agent
from core.assignment import AgentFacts, TeamFacts, holder
from core.history import HistoryEvent
from core.models import (
    Contact,
    Conversation,
    Outbound,
    Timer,
    TranscriptEntry,
)
from storage.sqlite import conversations, directory, inbox, outbox, records, timers, workflows
from storage.sqlite.codec import to_micros
from storage.sqlite.writer import Batch, Writer


class SqliteTransaction:
    """Usable only inside its `async with`: once the block has exited the connection belongs
    to the next member, so a kept reference fails loudly instead of writing elsewhere."""

    def __init__(
        self, conn: aiosqlite.Connection, writer: Writer, queued: Batch, group: Batch
    ) -> None:
        self._open_conn: aiosqlite.Connection | None = conn
        self._writer = writer
        self._queued = queued  # this transaction's writes
        self._group = group  # the group's writes so far, which this one joins on success
        # Who each loaded conversation was assigned to, to count assignments it changes.
        self._loaded: dict[str, str | None] = {}

    def end(self) -> None:
        self._open_conn = None

    async def _begun(self) -> aiosqlite.Connection:
        """The connection, inside the group's transaction (BEGIN waits for the first read)."""
        if self._open_conn is None:
            raise RuntimeError("this transaction has ended; open a new one")
        await self._writer.begin()
        return self._open_conn

    # loading ------------------------------------------------------------------------------

    async def load_contact(self, contact_id: str) -> Contact | None:
        return await conversations.load_contact(await self._begun(), contact_id)

    async def load_contact_and_open_conversation(
        self, channel: str, external_id: str
    ) -> tuple[Contact | None, Conversation | None]:
        if self._open_conn is None:
            raise RuntimeError("this transaction has ended; open a new one")
        # Every turn starts here: one call to the thread, BEGIN included.
        read = partial(conversations.contact_and_open_conversation, channel, external_id)
        contact, conversation = await self._writer.read(read)
        return contact, self._remember(conversation)

    async def load_conversation(self, conversation_id: str) -> Conversation | None:
        return self._remember(
            await conversations.load_conversation(await self._begun(), conversation_id)
        )

    async def load_workflow_version(self, workflow_hash: str) -> str | None:
        return await workflows.load_version(await self._begun(), workflow_hash)

    async def recent_transcript(self, conversation_id: str, limit: int) -> list[TranscriptEntry]:
        """The last `limit` entries, oldest first; this transaction's own are not among them."""
        return await conversations.recent_transcript(await self._begun(), conversation_id, limit)

    def _remember(self, conversation: Conversation | None) -> Conversation | None:
        if conversation is not None:
            self._loaded[conversation.id] = holder(conversation)
        return conversation

    # assignment ---------------------------------------------------------------------------

    async def load_agent(self, agent_id: str) -> Agent | None:
        return await directory.get(await self._begun(), agent_id)

    async def team_facts(self, team: str) -> TeamFacts:
        """See `directory.team_facts`; what this group has decided but not stored yet counts."""
        cursor = self._queued.cursors.get(team, self._group.cursors.get(team))
        return await directory.team_facts(
            await self._begun(), team, cursor=cursor, open_delta=self._delta()
        )

    async def agent_facts(self, agent_id: str) -> AgentFacts | None:
        agent = await directory.get(await self._begun(), agent_id)
        if agent is None:
            return None
        stored = await conversations.count_open_assigned(await self._begun(), agent_id)
        return AgentFacts(agent, stored + self._delta().get(agent_id, 0))

    async def advance_cursor(self, team: str, agent_id: str) -> None:
        self._queued.cursors[team] = agent_id
        self._queued.add(directory.SET_CURSOR, (agent_id, team))

    def _delta(self) -> Counter[str]:
        """Open conversations per agent that the group and this transaction have saved but not
        stored yet (negative for slots freed)."""
        delta = self._group.open_delta.copy()
        delta.update(self._queued.open_delta)  # update() adds, and keeps negative counts
        return delta

    # saving -------------------------------------------------------------------------------

    async def save_contact(self, contact: Contact) -> None:
        """Upsert by id; the commit fails with `ConcurrentUpdate` if another id holds the
        same (channel, external_id)."""
        self._queued.add(conversations.SAVE_CONTACT, conversations.contact_row(contact))

    async def save_conversation(self, conversation: Conversation) -> None:
        """Insert at version 1, else update the row at version - 1; the commit fails with
        `ConcurrentUpdate` if that row has moved on or the contact would get a second open
        conversation."""
        sql, values = conversations.conversation_write(conversation)
        self._queued.add(sql, values, exact=conversation.version > 1)
        before = self._loaded.get(conversation.id)
        after = holder(conversation)
        if before != after:
            if before is not None:
                self._queued.open_delta[before] -= 1
            if after is not None:
                self._queued.open_delta[after] += 1
        self._loaded[conversation.id] = after

    async def add_transcript(self, entries: Sequence[TranscriptEntry]) -> None:
        for entry in entries:
            self._queued.add(conversations.ADD_TRANSCRIPT, conversations.transcript_row(entry))

    async def add_history(self, conversation_id: str, events: Sequence[HistoryEvent]) -> None:
        for event in events:
            self._queued.add(records.ADD_HISTORY, records.history_row(conversation_id, event))

    async def enqueue(self, messages: Sequence[Outbound], at: datetime) -> None:
        for message in messages:
            self._queued.add(outbox.ENQUEUE, outbox.enqueue_row(message, at))

    async def schedule_timer(self, timer: Timer) -> None:
        """Store the timer; an id scheduled again is moved to the new time."""
        self._queued.add(timers.SCHEDULE, timers.timer_row(timer))

    async def delete_timer(self, timer_id: str) -> None:
        """Remove the timer; an unknown id is not an error."""
        self._queued.add(timers.DELETE, (timer_id,))

    async def mark_processed(self, inbound_id: int, at: datetime) -> None:
        self._queued.add(inbox.MARK_PROCESSED, (to_micros(at), inbound_id))

    async def save_workflow_version(self, workflow_hash: str, name: str, body: str) -> None:
        self._queued.add(workflows.SAVE_VERSION, (workflow_hash, name, body))
