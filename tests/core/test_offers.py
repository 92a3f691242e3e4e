"""Offering a queued conversation to an agent, decided on plain facts: whom it waits for,
whether the agent has room, and the limit the step that queued it set."""

from __future__ import annotations

from typing import Any

import pytest

from core.agents import Agent, AgentStatus
from core.models import ConversationStatus
from core.offers import Offer, offer_to, still_queued
from tests.core.turns import NOW, Directory, conversation, turn

ON, AWAY = AgentStatus.ONLINE, AgentStatus.AWAY


def ann(status: AgentStatus = ON, capacity: int | None = 3) -> Agent:
    return Agent(id="ann", name="Ann", status=status, capacity=capacity)


# (rule, Ann, her open conversations, how it was queued, the outcome)
OFFERS: list[tuple[str, Agent | None, int, dict[str, Any], Offer]] = [
    ("an online agent with room gets it", ann(), 0, {}, Offer.ASSIGNED),
    ("her last free slot", ann(), 2, {}, Offer.ASSIGNED),
    ("no capacity set: no limit", ann(capacity=None), 99, {}, Offer.ASSIGNED),
    ("full: stop offering her", ann(), 3, {}, Offer.AGENT_UNAVAILABLE),
    ("away: stop offering her", ann(AWAY), 0, {}, Offer.AGENT_UNAVAILABLE),
    ("gone from the directory", None, 0, {}, Offer.AGENT_UNAVAILABLE),
    ("below the step's limit", ann(), 1, {"queue_limit": 2}, Offer.ASSIGNED),
    ("at the step's limit: try the next", ann(), 2, {"queue_limit": 2}, Offer.OVER_LIMIT),
    ("her own capacity before the limit", ann(), 3, {"queue_limit": 9}, Offer.AGENT_UNAVAILABLE),
    ("queued for her alone", ann(), 0, {"queued_for": "ann"}, Offer.ASSIGNED),
    ("queued for someone else alone", ann(), 0, {"queued_for": "bob"}, Offer.NOT_WAITING),
]


@pytest.mark.parametrize(
    ("who", "busy", "queued", "outcome"), [r[1:] for r in OFFERS], ids=[r[0] for r in OFFERS]
)
async def test_offering_a_queued_conversation(
    who: Agent | None, busy: int, queued: dict[str, Any], outcome: Offer
) -> None:
    people = Directory([who] if who else [], open_counts={"ann": busy})
    conv = conversation(team="sales", queued_at=NOW, **queued)
    at = turn(conv, directory=people)
    assert await offer_to(at, "ann") == outcome
    taken = outcome == Offer.ASSIGNED
    assert conv.assignee == ("ann" if taken else None)
    assert (conv.queued_at is None) is taken  # out of the queue once taken
    assert [h.agent.id for h in at.effects.handoffs] == (["ann"] if taken else [])


@pytest.mark.parametrize(
    ("queued_for", "reason"),
    [(None, "from the sales queue"), ("ann", "from their own queue")],
    ids=["the team's queue", "her own queue"],
)
async def test_the_notice_says_which_queue_it_came_from(
    queued_for: str | None, reason: str
) -> None:
    conv = conversation(team="sales", queued_at=NOW, queued_for=queued_for)
    at = turn(conv, directory=Directory([ann()]))
    await offer_to(at, "ann")
    (request,) = at.effects.handoffs
    assert request.reason == reason


# (rule, the conversation's state, still queued)
QUEUED: list[tuple[str, dict[str, Any], bool]] = [
    ("open, unassigned and queued", {"queued_at": NOW}, True),
    ("never queued", {}, False),
    ("assigned meanwhile", {"queued_at": NOW, "assignee": "bob"}, False),
    ("closed meanwhile", {"queued_at": NOW, "status": ConversationStatus.CLOSED}, False),
]


@pytest.mark.parametrize(("state", "queued"), [r[1:] for r in QUEUED], ids=[r[0] for r in QUEUED])
def test_still_queued(state: dict[str, Any], queued: bool) -> None:
    assert still_queued(conversation(**state)) is queued
