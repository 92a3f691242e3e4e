"""The store's Transaction port: reads first, writes queued for the group commit.

The engine reads what a turn needs, decides, and saves. Reads go to the reader connection
while the turn runs its steps, so the writer is not held meanwhile; saves are queued in a
`Batch` and run, with the rest of the group's, as one `executemany` per statement at commit.
Assignment is the exception: its facts are read through the writer, held from that read to
the commit, so the decision and its write are one atomic step. Two things a later member must
see before they are stored, round-robin cursors and new assignments, are kept beside the
queue and read from it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

import aiosqlite

from core.agents import Agent
from core.assignment import AgentFacts, Holders, TeamFacts
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
from storage.sqlite.connection import on_worker
from storage.sqlite.writer import Member, Writer


class SqliteTransaction:
    """Usable only inside its `async with`: once the block has exited the connection belongs
    to the next member, so a kept reference fails loudly instead of writing elsewhere.

    Reads go to the reader connection until the transaction holds the writer: on SQLite one
    process owns the file and the dispatcher runs one turn per conversation at a time, so
    what a turn reads of its own conversation stays true (and the conversation's version,
    checked when the commit updates it, catches any other writer). The assignment reads
    (`team_facts`, `agent_facts`) must stay true until the commit: they hold the writer first,
    and every read after them goes through it."""

    def __init__(
        self,
        member: Member,
        reader: aiosqlite.Connection,
        fresh: Callable[[inbox.Lookup], inbox.Found | None] = lambda _: None,
    ) -> None:
        self._member: Member | None = member
        self._reader = reader
        self._fresh = fresh  # a turn's first read, made as its event was stored (`inbox`)
        self._queued = member.batch  # this transaction's writes
        self._holders = Holders()  # to count the open conversations its saves move
        self._read: dict[str, conversations.Indexed] = {}  # by id, as loaded

    def end(self) -> None:
        self._member = None

    def _open(self) -> Member:
        if self._member is None:
            raise RuntimeError("this transaction has ended; open a new one")
        return self._member

    async def _conn(self) -> aiosqlite.Connection:
        """The reader, or once the writer is held, the writer inside the group's transaction
        (BEGIN rides with the first read)."""
        member = self._open()
        if not member.holding:
            return self._reader
        await self._writer.begin()
        return member.conn

    async def _held(self) -> aiosqlite.Connection:
        member = self._open()
        await member.hold()
        await self._writer.begin()
        return member.conn

    @property
    def _writer(self) -> Writer:
        return self._open().writer

    # loading ------------------------------------------------------------------------------

    async def load_contact(self, contact_id: str) -> Contact | None:
        return await conversations.load_contact(await self._conn(), contact_id)

    async def load_contact_and_open_conversation(
        self, channel: str, external_id: str
    ) -> tuple[Contact | None, Conversation | None]:
        # Every turn starts here: one call to the reader's thread, or none when the event
        # was stored alone and nothing has been written since (see `inbox`).
        read = partial(conversations.contact_and_open_conversation, channel, external_id)
        member = self._open()
        if member.holding:
            found = await self._writer.read(read)
        elif (stored := self._fresh((channel, external_id))) is not None:
            found = stored
        else:
            found = await on_worker(self._reader, read)
        contact, conversation = found
        return contact, self._loaded(conversation)

    async def load_conversation(self, conversation_id: str) -> Conversation | None:
        return self._loaded(
            await conversations.load_conversation(await self._conn(), conversation_id)
        )

    async def load_workflow_version(self, workflow_hash: str) -> str | None:
        return await workflows.load_version(await self._conn(), workflow_hash)

    async def recent_transcript(self, conversation_id: str, limit: int) -> list[TranscriptEntry]:
        """The last `limit` entries, oldest first; this transaction's own are not among them."""
        return await conversations.recent_transcript(await self._conn(), conversation_id, limit)

    def _loaded(self, conversation: Conversation | None) -> Conversation | None:
        if conversation is not None:
            self._read[conversation.id] = conversations.indexed(conversation)
        return self._holders.loaded(conversation)

    # assignment ---------------------------------------------------------------------------

    async def load_agent(self, agent_id: str) -> Agent | None:
        return await directory.get(await self._conn(), agent_id)

    async def team_facts(self, team: str) -> TeamFacts:
        """See `directory.team_facts`; what this group has decided but not stored yet counts."""
        conn = await self._held()
        cursor = self._queued.cursors.get(team, self._open().group.cursors.get(team))
        return await directory.team_facts(conn, team, cursor=cursor, open_delta=self._delta())

    async def agent_facts(self, agent_id: str) -> AgentFacts | None:
        conn = await self._held()
        agent = await directory.get(conn, agent_id)
        if agent is None:
            return None
        stored = await conversations.count_open_assigned(conn, agent_id)
        return AgentFacts(agent, stored + self._delta().get(agent_id, 0))

    async def advance_cursor(self, team: str, agent_id: str) -> None:
        self._queued.cursors[team] = agent_id
        self._queued.add(directory.SET_CURSOR, (agent_id, team))

    def _delta(self) -> Counter[str]:
        """Open conversations per agent that the group and this transaction have saved but not
        stored yet (negative for slots freed)."""
        delta = self._open().group.open_delta.copy()
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
        # As read, for the first save after the read: a later one sets every column.
        read = self._read.pop(conversation.id, None)
        sql, values = conversations.conversation_write(conversation, read)
        self._queued.add(sql, values, exact=conversation.version > 1)
        self._holders.saved(conversation, self._queued.open_delta)

    async def add_transcript(self, entries: Sequence[TranscriptEntry]) -> None:
        for entry in entries:
            self._queued.add(conversations.ADD_TRANSCRIPT, conversations.transcript_row(entry))

    async def add_history(self, conversation_id: str, events: Sequence[HistoryEvent]) -> None:
        for event in events:
            self._queued.add(records.ADD_HISTORY, records.history_row(conversation_id, event))

    async def enqueue(self, messages: Sequence[Outbound], at: datetime) -> None:
        due = to_micros(at)
        for message in messages:
            self._queued.add(outbox.ENQUEUE, outbox.enqueue_row(message, at))
            self._queued.enqueued.append((message.message_id, message.channel, due))

    async def schedule_timer(self, timer: Timer) -> None:
        """Store the timer; an id scheduled again is moved to the new time."""
        self._queued.add(timers.SCHEDULE, timers.timer_row(timer))

    async def delete_timer(self, timer_id: str) -> None:
        """Remove the timer; an unknown id is not an error."""
        self._queued.add(timers.DELETE, (timer_id,))

    async def mark_processed(self, inbound_id: int, at: datetime) -> None:
        self._queued.add(inbox.MARK_PROCESSED, (to_micros(at), inbound_id), exact=True)

    async def save_workflow_version(self, workflow_hash: str, name: str, body: str) -> None:
        self._queued.add(workflows.SAVE_VERSION, (workflow_hash, name, body))
