"""The ports: what the core asks of a clock, a store and a channel.

Adapters and stores implement these Protocols; the core never imports them. They are found
by name through the `frontdesk.channels` and `frontdesk.stores` entry points.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from aiohttp import web
from pydantic import BaseModel

from core.agents import Agent, AgentStatus
from core.assignment import AgentFacts, TeamFacts
from core.deliveries import Delivery
from core.history import HistoryEvent
from core.listing import AgentLoad, ConversationRecord, ListedConversation, ListQuery
from core.models import (
    Contact,
    Conversation,
    DeskThread,
    Inbound,
    Outbound,
    OutboxItem,
    ParkedInbound,
    StoredInbound,
    Timer,
    TranscriptEntry,
)

if TYPE_CHECKING:
    from core.retention import Cutoffs, Purged


class Clock(Protocol):
    """Wall-clock time, injected so that tests and replays control it."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Return once `now() >= when` (or immediately if it already is)."""
        ...


class Inbox(Protocol):
    """Where a channel hands a normalised inbound event.

    `accept` returns only once the event is durably stored, so the channel may answer the
    platform with a 2xx; it returns False when the event was seen before. It raises
    `StoreUnavailable` when the event could not be stored, and the channel must then answer
    with an error status so that the platform delivers again. It raises `Backlogged` when
    `server.max_backlog` events wait to be processed: the channel answers 503 with
    Retry-After, and the event is not stored.
    """

    async def accept(self, event: Inbound) -> bool: ...

    async def room(self) -> None:
        """Return once the backlog has drained enough to take events again; a channel that
        asks its platform for events (a poller) waits on this before it asks."""
        ...

    async def load_cursor(self, name: str) -> str | None:
        """A named position a channel's worker resumes from (see `Store.load_cursor`)."""
        ...

    async def save_cursor(self, name: str, value: str) -> None:
        """Saved durably when it returns; raises `StoreUnavailable` when it could not be."""
        ...


class Channel(Protocol):
    """One configured channel: inbound HTTP routes plus a sender."""

    slug: str

    def routes(self) -> Iterable[web.RouteDef]:
        """The aiohttp routes this channel serves, all under `/<slug>/`."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def send(self, message: Outbound) -> Delivery:
        """Deliver one message; never raises for a platform failure, says it in `Delivery`."""
        ...


class ChannelType(Protocol):
    """A channel class as found through the `frontdesk.channels` entry point."""

    @property
    def settings_model(self) -> type[BaseModel]:
        """The pydantic model of this channel's config section."""
        ...

    def __call__(self, slug: str, settings: Any, inbox: Inbox, clock: Clock) -> Channel: ...


class Transaction(Protocol):
    """One write transaction of the store.

    The engine loads what a step needs, decides, and saves every effect (state, transcript,
    outbox, timers, inbox bookkeeping) through one Transaction, so they commit together or not
    at all. A transaction reads first and saves last: its reads see the state from before its
    own saves, which become visible once the `async with` block has exited (committed). A
    conflict found at commit raises `ConcurrentUpdate` from the block's exit.
    """

    async def load_contact_and_open_conversation(
        self, channel: str, external_id: str
    ) -> tuple[Contact | None, Conversation | None]:
        """Both at once: every inbound event needs them."""
        ...

    async def load_conversation(self, conversation_id: str) -> Conversation | None: ...

    async def load_contact(self, contact_id: str) -> Contact | None: ...

    async def load_agent(self, agent_id: str) -> Agent | None: ...

    async def team_facts(self, team: str) -> TeamFacts:
        """What `core.assignment.choose_agent` needs to pick one of `team`'s members: the members in
        the team's order with their open conversations, and the team's round-robin cursor
        (an unknown team has no members).

        The facts count what this transaction has saved before, and stay true until it ends:
        the read, the core's decision and the saved assignment (`save_conversation`, and
        `advance_cursor`) are one atomic step, so two assignments at once never give an
        agent's last slot twice, and round robin stays fair across processes. On SQLite the
        single writer gives this by itself. A store with several writers (PostgreSQL) locks
        the team's cursor row (`SELECT ... FOR UPDATE`) and then its members' agent rows in
        id order, before counting, and holds the locks until the transaction ends.
        """
        ...

    async def agent_facts(self, agent_id: str) -> AgentFacts | None:
        """One agent and their open conversations, for assigning to them by name or from a
        queue; held like `team_facts` (on PostgreSQL the agent's row is locked)."""
        ...

    async def advance_cursor(self, team: str, agent_id: str) -> None:
        """Store the team's round-robin cursor (`Choice.cursor`); later `team_facts` in this
        transaction, and every one after it commits, read it."""
        ...

    async def recent_transcript(self, conversation_id: str, limit: int) -> list[TranscriptEntry]:
        """The conversation's last `limit` transcript entries, oldest first."""
        ...

    async def save_contact(self, contact: Contact) -> None: ...

    async def save_conversation(self, conversation: Conversation) -> None:
        """Insert, or update when `conversation.version` is the stored version plus one.

        Raises `ConcurrentUpdate` when another writer has moved the conversation on.
        """
        ...

    async def add_transcript(self, entries: Sequence[TranscriptEntry]) -> None: ...

    async def add_history(self, conversation_id: str, events: Sequence[HistoryEvent]) -> None:
        """Append to the conversation's history (see `Records.conversation_record`)."""
        ...

    async def enqueue(self, messages: Sequence[Outbound], at: datetime) -> None:
        """Put messages in the outbox, due now; a message id already there is ignored."""
        ...

    async def schedule_timer(self, timer: Timer) -> None: ...

    async def delete_timer(self, timer_id: str) -> None: ...

    async def mark_processed(self, inbound_id: int, at: datetime) -> None: ...

    async def save_workflow_version(self, workflow_hash: str, name: str, body: str) -> None:
        """Keep the exact definition a run started on; a known hash is left as it is."""
        ...

    async def load_workflow_version(self, workflow_hash: str) -> str | None: ...


class Store(Protocol):
    """Durable state: inbox, cursors, contacts, conversations, transcript, outbox, timers,
    agents and teams, and where the desk's notices were posted."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def check_writable(self) -> None:
        """Raise `StoreUnavailable` saying why when a write could not be committed now (for
        readiness; the caller bounds how long it may take)."""
        ...

    async def purge(self, cutoffs: Cutoffs) -> Purged:
        """Delete finished data older than the cutoffs, never what is still needed (see
        `core.retention`), in small transactions so that other writers are not held up."""
        ...

    # inbox
    async def record_inbound(self, event: Inbound, at: datetime) -> int | None:
        """Store an inbound event; None when (channel, event_id) is stored already."""
        ...

    async def pending_inbound(self, limit: int, after_id: int = 0) -> list[StoredInbound]:
        """Unprocessed events with id > after_id, oldest first."""
        ...

    async def inbound_processed(self, inbound_id: int) -> bool:
        """Whether the event has been processed or set aside (or is gone, which only such
        events are): a turn for it that conflicted at its commit has nothing left to do."""
        ...

    async def set_inbound_aside(self, inbound_id: int, at: datetime, error: str) -> None:
        """Stop retrying an event whose processing keeps failing; keep it with the reason."""
        ...

    async def unpark_inbound(self, inbound_id: int) -> StoredInbound | None:
        """Make a parked event pending again (its error cleared) and return it; None when
        no parked event has that id. Committed when it returns."""
        ...

    # cursors
    async def load_cursor(self, name: str) -> str | None:
        """A named position a worker resumes from after a restart (such as a poller's
        offset); None when none was saved under `name`."""
        ...

    async def save_cursor(self, name: str, value: str) -> None:
        """Set the named position; saved durably when it returns."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A write transaction: committed when the block exits, rolled back if it raises."""
        ...

    # outbox
    async def claim_due_outbound(
        self, now: datetime, limit: int, lease_seconds: float
    ) -> list[OutboxItem]:
        """Due pending messages, at most one per lane (`Outbound.lane`) and only the oldest
        pending one of each (so a conversation's messages arrive in order, and so do its
        desk's), leased for a while so that a second worker does not take them too."""
        ...

    async def mark_sent(self, item_id: int, at: datetime) -> None: ...

    async def mark_retry(self, item_id: int, next_attempt_at: datetime, error: str) -> None: ...

    async def mark_deferred(self, item_id: int, next_attempt_at: datetime) -> None:
        """Still pending and due again at `next_attempt_at`, its lease cleared, but not an
        attempt: the channel's own rate limit held it back. Its conversation waits for it."""
        ...

    async def mark_failed(self, item_id: int, at: datetime, error: str) -> None: ...

    async def mark_unreachable(self, channel: str, external_id: str, at: datetime) -> None:
        """The platform refuses every message to this contact (they blocked the bot); kept
        until they write again."""
        ...

    async def next_outbound_due(self) -> datetime | None: ...

    # work a stopped process held
    async def take_back(self, now: datetime, uncertain_channels: Collection[str]) -> TakenBack:
        """Take back the work in flight that no running process holds any more, before this
        one starts its workers: each leased outbound message is due again at once, or, on a
        channel in `uncertain_channels`, set `uncertain` and never sent again (its lane goes
        on without it); each lease timer (`Timer.lease`) is due at `now`. On SQLite the
        process is the store's only user, so that is every lease; a shared store takes back
        only the leases of owners that stopped."""
        ...

    # timers
    async def due_timers(self, now: datetime, limit: int) -> list[Timer]: ...

    async def next_timer_due(self) -> datetime | None: ...

    # agents and teams
    async def sync_directory(self, agents: Sequence[Agent], teams: dict[str, list[str]]) -> None:
        """Make the stored agents and teams those of the config. An agent already stored keeps
        the status it was last set to; a new one starts with the configured status."""
        ...

    async def set_agent_status(self, agent_id: str, status: AgentStatus) -> Agent | None: ...

    async def list_agents(self) -> list[Agent]: ...

    async def teams_of(self, agent_id: str) -> list[str]: ...

    async def queued_conversations(
        self, teams: Sequence[str], limit: int, *, agent_id: str | None = None
    ) -> list[Conversation]:
        """Open, unassigned conversations waiting (their `queued_at` set) for any of `teams`
        and for no one agent, or (given `agent_id`) for that agent alone, longest waiting
        first."""
        ...

    async def open_assigned(self, agent_id: str) -> list[Conversation]:
        """Open conversations assigned to the agent, oldest first."""
        ...

    # the desk: where handoff notices were posted
    async def save_thread(self, thread: DeskThread) -> None:
        """Remember a posted handoff notice; one already stored (same desk, place and ts) is
        left as it is."""
        ...

    async def threads_of(self, handoff_id: str) -> list[DeskThread]:
        """The posts of one handoff notice, in the order they were saved."""
        ...

    async def thread_at(self, desk: str, place: str, ts: str) -> DeskThread | None: ...

    # reading what a turn's key or a host bot's routing needs, outside any transaction
    async def load_conversation(self, conversation_id: str) -> Conversation | None: ...

    async def load_contact(self, contact_id: str) -> Contact | None: ...

    async def open_conversation(self, channel: str, external_id: str) -> Conversation | None:
        """The contact's open conversation (a contact has at most one), if they have one; see
        `core.arrival.handled` for what a host bot's plug-in decides on it."""
        ...


class Waiting(BaseModel):
    """How many wait, and since when the longest (queued at, or due at) has."""

    count: int
    oldest: datetime | None


class Workload(BaseModel):
    queues: dict[str, Waiting]  # team → its queued conversations, any agent of it may take
    agent_queues: dict[str, Waiting]  # agent → conversations queued for them alone
    open_conversations: dict[str, int]  # channel → open conversations
    agents: dict[AgentStatus, int]
    # (channel, lane kind: "customer" or "desk") → pending outbound messages, oldest due first
    outbox: dict[tuple[str, str], Waiting]


@runtime_checkable
class Backup(Protocol):
    """A store that can copy itself while serving (`frontdesk backup`). A store without it
    is backed up with its database's own tools (pg_dump for PostgreSQL)."""

    async def backup(self, target: Path) -> None:
        """Write a consistent copy to `target`, a new file; the store need not be open."""
        ...


@runtime_checkable
class Leadership(Protocol):
    """Which replica does a job that only one may do at a time, such as polling a Telegram
    bot's updates. A store shared by several replicas implements it (and the Runtime passes
    the question on to its store); without it a process is alone, and always leads."""

    async def lead(self, job: str) -> bool:
        """Whether this replica does `job` now, taking it over when nobody does; asked again
        before each round of the job, so a dead leader's job moves within seconds."""
        ...


@runtime_checkable
class Supervised(Protocol):
    """A channel with work of its own in the background (a poller) says here when that work
    has stopped, so that readiness can report it."""

    def failure(self) -> str | None:
        """Why the channel cannot receive now; None while it works."""
        ...


@runtime_checkable
class Records(Protocol):
    """The read side for operators (the API, the CLI, the console, the metrics) and for
    tests that check what was stored: what is stored, never a decision. Kept apart from
    `Store`, which is what the engine needs to run; each backend implements it in a module of
    its own."""

    async def list_conversations(self, query: ListQuery) -> list[ListedConversation]:
        """The conversations `query.filter` matches (see `ConversationFilter.matches`), newest
        first by (opened_at, id), those after `query.after` only, at most `query.limit`."""
        ...

    async def conversation_record(self, conversation_id: str) -> ConversationRecord | None:
        """The conversation with its contact, transcript (oldest first) and history (in the
        order it happened); None when there is no such conversation."""
        ...

    async def conversation_ids(self, prefix: str, limit: int) -> list[str]:
        """Ids that start with `prefix` (taken literally), at most `limit`, in id order."""
        ...

    async def team_queue(self, team: str) -> list[ListedConversation] | None:
        """The team's queued conversations (see `ListStatus.QUEUED`) that any of its agents
        may take (those waiting for one agent alone are that agent's, `agent_queue`), longest
        waiting first; None when there is no such team."""
        ...

    async def agent_queue(self, agent_id: str) -> list[ListedConversation] | None:
        """The queued conversations that wait for this agent alone (`queued_for`), with a
        team or without, longest waiting first; None when there is no such agent."""
        ...

    async def agent_queues(self) -> dict[str, list[ListedConversation]]:
        """Every agent's `agent_queue` at once, in one read (the queues page lists them all),
        by agent id in id order; an agent nobody waits for is left out."""
        ...

    async def agent_loads(self) -> list[AgentLoad]:
        """Every agent, by id, with their teams (by name) and open conversations."""
        ...

    async def workload(self) -> Workload:
        """What is open and waiting right now, counted in one read, for the metrics."""
        ...

    async def parked_inbound(self, limit: int) -> list[ParkedInbound]:
        """Events set aside, most recently parked first."""
        ...

    async def load_inbound(self, inbound_id: int) -> StoredInbound | None: ...

    async def inbound_error(self, inbound_id: int) -> str | None:
        """The reason an event was set aside, if it was."""
        ...

    async def conversations_of(self, channel: str, external_id: str) -> list[Conversation]:
        """The contact's conversations, oldest first."""
        ...

    async def contact_at(self, channel: str, external_id: str) -> Contact | None:
        """The contact with that address on that channel, if there is one."""
        ...

    async def transcript(self, conversation_id: str) -> list[TranscriptEntry]:
        """The conversation's entries in the order they were added."""
        ...

    async def outbox(self, conversation_id: str) -> list[OutboxRecord]:
        """The conversation's outbox rows, of both lanes, in the order they were enqueued."""
        ...


@dataclass(frozen=True)
class TakenBack:
    """What `Store.take_back` found in flight."""

    resent: int  # outbound messages due again
    uncertain: list[OutboxItem]  # outbound messages set uncertain, not to be sent again
    requests: int  # lease timers made due: HTTP requests to make again


class OutboxRecord(BaseModel):
    """An outbox row as reported to operators and tests."""

    message_id: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None


class StoreType(Protocol):
    """A store class as found through the `frontdesk.stores` entry point."""

    @property
    def settings_model(self) -> type[BaseModel]:
        """The pydantic model of this store's config section."""
        ...

    def __call__(self, settings: Any, base_dir: Path) -> Store:
        """`base_dir` is the config file's folder, against which relative paths resolve."""
        ...
