"""Who gets a conversation: the one rule every store applies.

A store supplies the facts (a team's members in order, each with their status, capacity and
open conversations, and the team's round-robin cursor); `choose_agent` decides; the store applies
the choice inside the same write transaction (see `Transaction.team_facts`). No store repeats
any of this.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, assert_never

from core.agents import Agent, AgentStatus
from core.models import Conversation, ConversationStatus

Strategy = Literal["round_robin", "least_open"]


@dataclass(frozen=True, slots=True)
class AgentFacts:
    """An agent as an assignment sees them."""

    agent: Agent
    open_count: int  # open conversations assigned to them, the transaction's own included


@dataclass(frozen=True, slots=True)
class TeamFacts:
    members: tuple[AgentFacts, ...]  # in the team's order
    cursor: str | None = None  # the member picked last; None: start from the top


@dataclass(frozen=True, slots=True)
class Rules:
    """What an assignment asks of the agent it picks."""

    strategy: Strategy = "round_robin"
    only_online: bool = True
    max_open: int | None = None  # only agents with fewer open conversations than this
    exclude: frozenset[str] = frozenset()  # agent ids never picked (the one handing it on)


@dataclass(frozen=True, slots=True)
class Choice:
    agent: Agent
    cursor: str  # the team's round-robin cursor from now on


def can_take(facts: AgentFacts, *, only_online: bool, max_open: int | None) -> bool:
    """Whether the agent may get one more conversation: online (when `only_online`), and
    below both their own capacity and `max_open`."""
    if only_online and facts.agent.status != AgentStatus.ONLINE:
        return False
    limits = [n for n in (facts.agent.capacity, max_open) if n is not None]
    return not limits or facts.open_count < min(limits)


def choose_agent(team: TeamFacts, rules: Rules) -> Choice | None:
    """The member a new conversation goes to, with the cursor to store; None when nobody is
    eligible, and then the cursor stays where it is.

    Eligible: not excluded and `can_take`. "round_robin" takes the first eligible member
    after the cursor, cyclically in team order; "least_open" the eligible member with the
    fewest open conversations, ties going to the first of them in that same order. A cursor
    on an agent who has left the team starts the round from the top.
    """
    members = list(team.members)
    ids = [facts.agent.id for facts in members]
    start = ids.index(team.cursor) + 1 if team.cursor in ids else 0
    eligible = [
        facts
        for facts in members[start:] + members[:start]
        if facts.agent.id not in rules.exclude
        and can_take(facts, only_online=rules.only_online, max_open=rules.max_open)
    ]
    if not eligible:
        return None
    match rules.strategy:
        case "round_robin":
            chosen = eligible[0]
        case "least_open":
            # min() keeps the first of equals: the next in turn among the least busy.
            chosen = min(eligible, key=lambda facts: facts.open_count)
        case _:
            assert_never(rules.strategy)
    return Choice(agent=chosen.agent, cursor=chosen.agent.id)


def holder(conversation: Conversation) -> str | None:
    """The agent whose open conversations count this one (towards capacity and `max_open`):
    its assignee while it is open, nobody once it is closed. A store counts a transaction's
    saves this way before they are stored."""
    if conversation.status == ConversationStatus.OPEN:
        return conversation.assignee
    return None


class Holders:
    """Whom each conversation a transaction has loaded or saved counts against (`holder`), so
    that a store can count what the transaction's saves change before they are stored: the
    facts a later decision in the same transaction (or write group) reads must include them."""

    def __init__(self) -> None:
        self._of: dict[str, str | None] = {}

    def loaded(self, conversation: Conversation | None) -> Conversation | None:
        if conversation is not None:
            self._of[conversation.id] = holder(conversation)
        return conversation

    def saved(self, conversation: Conversation, open_delta: Counter[str]) -> None:
        """Count the save into `open_delta` (agent: open conversations gained, negative for
        slots freed); a conversation neither loaded nor saved before counted for nobody."""
        before = self._of.get(conversation.id)
        after = holder(conversation)
        if before != after:
            if before is not None:
                open_delta[before] -= 1
            if after is not None:
                open_delta[after] += 1
        self._of[conversation.id] = after


def check_directory(agents: Sequence[Agent], teams: Mapping[str, Sequence[str]]) -> None:
    """Refuse a directory that cannot be stored as given, naming the culprit: an agent listed
    twice, or a team listing an agent twice or one that is not among `agents` (the config
    should let none through; a store checks before it replaces what it holds)."""
    known: set[str] = set()
    for agent in agents:
        if agent.id in known:
            raise ValueError(f"agent {agent.id!r} is listed twice")
        known.add(agent.id)
    for team, members in teams.items():
        if len(set(members)) != len(members):
            raise ValueError(f"team {team!r} lists an agent twice")
        unknown = [member for member in members if member not in known]
        if unknown:
            raise ValueError(f"team {team!r} lists unknown agents: {', '.join(unknown)}")
