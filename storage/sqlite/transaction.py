"""The store's Transaction port over the writer connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from core.models import Agent, Contact, Conversation, Outbound, Timer, TranscriptEntry
from storage.sqlite import conversations, directory, inbox, outbox, timers, workflows


class SqliteTransaction:
    """One BEGIN IMMEDIATE ... COMMIT on the writer, usable only inside its `async with`.

    Once the block has exited the connection belongs to the next transaction, so a kept
    reference fails loudly instead of writing into someone else's transaction.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._open_conn: aiosqlite.Connection | None = conn

    def end(self) -> None:
        self._open_conn = None

    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._open_conn is None:
            raise RuntimeError("this transaction has ended; open a new one")
        return self._open_conn

    # loading ------------------------------------------------------------------------------

    async def load_contact(self, channel: str, external_id: str) -> Contact | None:
        return await conversations.load_contact(self._conn, channel, external_id)

    async def load_contact_by_id(self, contact_id: str) -> Contact | None:
        return await conversations.load_contact_by_id(self._conn, contact_id)

    async def load_contact_and_open_conversation(
        self, channel: str, external_id: str
    ) -> tuple[Contact | None, Conversation | None]:
        return await conversations.load_contact_and_open_conversation(
            self._conn, channel, external_id
        )

    async def load_open_conversation(self, contact_id: str) -> Conversation | None:
        return await conversations.load_open_conversation(self._conn, contact_id)

    async def load_conversation(self, conversation_id: str) -> Conversation | None:
        return await conversations.load_conversation(self._conn, conversation_id)

    async def load_workflow_version(self, workflow_hash: str) -> str | None:
        return await workflows.load_version(self._conn, workflow_hash)

    # assignment ---------------------------------------------------------------------------

    async def get_agent(self, agent_id: str) -> Agent | None:
        return await directory.get(self._conn, agent_id)

    async def count_open_assigned(self, agent_id: str) -> int:
        return await conversations.count_open_assigned(self._conn, agent_id)

    async def pick_round_robin(self, team: str, *, only_online: bool) -> Agent | None:
        """See `directory.pick_round_robin`: fair, capacity-aware, cursor kept per team."""
        return await directory.pick_round_robin(self._conn, team, only_online=only_online)

    # saving -------------------------------------------------------------------------------

    async def save_contact(self, contact: Contact) -> None:
        """Upsert by id; `ConcurrentUpdate` if another id holds (channel, external_id)."""
        await conversations.save_contact(self._conn, contact)

    async def save_conversation(self, conversation: Conversation) -> None:
        """Insert at version 1, else update the row at version - 1; `ConcurrentUpdate` if
        that row is gone or the contact would get a second open conversation."""
        await conversations.save_conversation(self._conn, conversation)

    async def add_transcript(self, entries: Sequence[TranscriptEntry]) -> None:
        await conversations.add_transcript(self._conn, entries)

    async def enqueue(self, messages: Sequence[Outbound], at: datetime) -> None:
        await outbox.enqueue(self._conn, messages, at)

    async def schedule_timer(self, timer: Timer) -> None:
        """Store the timer; an id scheduled again is moved to the new time."""
        await timers.schedule(self._conn, timer)

    async def delete_timer(self, timer_id: str) -> None:
        """Remove the timer; an unknown id is not an error."""
        await timers.delete(self._conn, timer_id)

    async def mark_processed(self, inbound_id: int, at: datetime) -> None:
        await inbox.mark_processed(self._conn, inbound_id, at)

    async def save_workflow_version(self, workflow_hash: str, name: str, body: str) -> None:
        await workflows.save_version(self._conn, workflow_hash, name, body)
