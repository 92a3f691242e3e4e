"""Queued conversations offered to agents who have room: the engine's decision for one
conversation (`offer_to`), and the rounds that go through a team's queue for an agent who
came online or got a slot back (`QueueOffers`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import assert_never

from core.assignment import can_take
from core.events import AssignedBy
from core.keys import ConversationKey
from core.models import Conversation, ConversationStatus
from core.ports import Store
from core.steps import assign
from core.tasks import TaskSet
from core.turn import Turn

log = logging.getLogger("frontdesk.offers")

QUEUE_PAGE = 50


class Offer(StrEnum):
    """What became of offering a queued conversation to an agent."""

    ASSIGNED = "assigned"
    NOT_WAITING = "not_waiting"  # assigned or closed meanwhile: try the next one
    AGENT_UNAVAILABLE = "agent_unavailable"  # the agent is full or gone: stop offering
    # The agent has as many open as the step that queued it allows (`queue_limit`): try the
    # next one, which may allow more.
    OVER_LIMIT = "over_limit"


def still_queued(conversation: Conversation) -> bool:
    """The conversation waits in its team's queue (not assigned or closed meanwhile)."""
    return (
        conversation.status == ConversationStatus.OPEN
        and conversation.assignee is None
        and conversation.queued_at is not None
    )


async def offer_to(turn: Turn, agent_id: str) -> Offer:
    """Give the turn's queued conversation to `agent_id` if they have room for it."""
    conversation = turn.conversation
    if conversation.queued_for not in (None, agent_id):
        return Offer.NOT_WAITING  # it waits for another agent alone
    facts = await turn.tx.agent_facts(agent_id)
    if facts is None or not can_take(facts, only_online=True, max_open=None):
        return Offer.AGENT_UNAVAILABLE
    if not can_take(facts, only_online=True, max_open=conversation.queue_limit):
        return Offer.OVER_LIMIT
    agent = facts.agent
    where = "their own queue" if conversation.queued_for else f"the {conversation.team} queue"
    assign(turn, agent, f"from {where}", AssignedBy.QUEUE)
    turn.effects.trace.append(f"assigned to {agent.id} from {where}")
    return Offer.ASSIGNED


class QueueOffers:
    """Rounds of offers, one at a time per agent: an agent's round that is asked for again
    while it runs goes once more when it ends."""

    def __init__(
        self,
        *,
        store: Store,
        offer: Callable[[ConversationKey, str, str], Awaitable[Offer]],
        key_of: Callable[[str, str], Awaitable[ConversationKey | None]],
    ) -> None:
        """`offer(key, conversation_id, agent_id)` runs in the turn order of `key`;
        `key_of(contact_id, channel)` is the conversation's key, None if it is gone."""
        self._store = store
        self._offer = offer
        self._key_of = key_of
        self._again: dict[str, bool] = {}  # agent → offer again when the round ends
        self.rounds = TaskSet()  # the rounds under way

    def agent_available(self, agent_id: str) -> None:
        """The agent may take more conversations (came online, closed or handed one on):
        offer them their teams' queued conversations, longest waiting first."""
        if agent_id in self._again:
            self._again[agent_id] = True  # the round under way goes once more
            return
        self._again[agent_id] = False
        self.rounds.spawn(self._round(agent_id), name=f"offer:{agent_id}")

    async def _round(self, agent_id: str) -> None:
        try:
            again = True
            while again:
                self._again[agent_id] = False
                await self._offer_queue(agent_id)
                again = self._again[agent_id]
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "offering queued conversations failed: agent=%s",
                agent_id,
                extra={"agent": agent_id},
            )
        finally:
            del self._again[agent_id]

    async def _offer_queue(self, agent_id: str) -> None:
        teams = await self._store.teams_of(agent_id)
        tried: set[str] = set()
        # The lowest `queue_limit` that kept the agent out: the agent only gets busier during
        # the round, so a conversation with a limit as low keeps them out too.
        refused_at: int | None = None
        while True:
            queued = [
                c
                for c in await self._store.queued_conversations(
                    teams, QUEUE_PAGE, agent_id=agent_id
                )
                if c.id not in tried
            ]
            if not queued:
                return
            for conversation in queued:
                tried.add(conversation.id)
                limit = conversation.queue_limit
                if limit is not None and refused_at is not None and limit <= refused_at:
                    continue
                key = await self._key_of(conversation.contact_id, conversation.channel)
                if key is None:
                    continue
                match await self._offer(key, conversation.id, agent_id):
                    case Offer.AGENT_UNAVAILABLE:
                        return
                    case Offer.OVER_LIMIT if limit is not None:
                        refused_at = limit if refused_at is None else max(refused_at, limit)
                    case Offer.OVER_LIMIT:
                        pass  # its limit was set after the page was read
                    case Offer.ASSIGNED | Offer.NOT_WAITING:
                        pass
                    case unknown:
                        assert_never(unknown)
