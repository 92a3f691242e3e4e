"""Building blocks of the store contract tests: models with plain defaults, and the few
writes that many tests start from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from core.agents import Agent, AgentStatus
from core.assignment import Rules, Strategy, choose_agent
from core.models import (
    Contact,
    ContactProfile,
    Conversation,
    Direction,
    Inbound,
    Outbound,
    OutboxItem,
    TranscriptEntry,
)
from core.ports import Store

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def event(n: int, *, channel: str = "webhook", user: str = "u1") -> Inbound:
    return Inbound(
        channel=channel,
        event_id=f"e{n}",
        contact=ContactProfile(external_id=user, name="Ada"),
        text=f"message {n}",
        raw={"n": n},
    )


def contact(contact_id: str = "c1", external_id: str = "u1") -> Contact:
    return Contact(id=contact_id, channel="webhook", external_id=external_id, created_at=T0)


def conversation(
    conversation_id: str = "v1",
    contact_id: str = "c1",
    *,
    opened_at: datetime = T0,
    assignee: str | None = None,
) -> Conversation:
    return Conversation(
        id=conversation_id,
        contact_id=contact_id,
        channel="webhook",
        opened_at=opened_at,
        assignee=assignee,
        version=1,
    )


def message(message_id: str, conversation_id: str, text: str = "hello") -> Outbound:
    return Outbound(
        message_id=message_id,
        conversation_id=conversation_id,
        channel="webhook",
        recipient="u1",
        text=text,
    )


def entry(conversation_id: str, text: str, at: datetime) -> TranscriptEntry:
    return TranscriptEntry(
        conversation_id=conversation_id,
        direction=Direction.OUT,
        text=text,
        message_id=f"m-{text}",
        at=at,
    )


def agent(
    agent_id: str, status: AgentStatus = AgentStatus.ONLINE, *, capacity: int | None = None
) -> Agent:
    return Agent(id=agent_id, name=agent_id.title(), status=status, capacity=capacity)


def names(items: Sequence[OutboxItem]) -> list[str]:
    return [item.message.message_id for item in items]


async def seed(store: Store, *conversations: Conversation) -> None:
    """Commit the conversations, each with its contact (whose external id is its id)."""
    async with store.transaction() as tx:
        for conv in conversations:
            if await tx.load_contact(conv.contact_id) is None:
                await tx.save_contact(contact(conv.contact_id, external_id=conv.contact_id))
            await tx.save_conversation(conv)


async def save(store: Store, conv: Conversation) -> None:
    async with store.transaction() as tx:
        await tx.save_conversation(conv)


async def enqueue(store: Store, *messages: Outbound, at: datetime = T0) -> None:
    async with store.transaction() as tx:
        await tx.enqueue(messages, at)


async def pick(
    store: Store,
    team: str,
    *,
    only_online: bool = True,
    strategy: Strategy = "round_robin",
    max_open: int | None = None,
) -> str | None:
    """Choose one of the team's members as the engine does, in a transaction of its own: the
    store's facts, the core's choice, the store's cursor."""
    async with store.transaction() as tx:
        rules = Rules(strategy, only_online=only_online, max_open=max_open)
        choice = choose_agent(await tx.team_facts(team), rules)
        if choice is not None:
            await tx.advance_cursor(team, choice.cursor)
    return None if choice is None else choice.agent.id
