"""Turns with no store behind them, for the unit tests of the rules that steps and the desk
apply: a conversation, its contact and run, a transaction double that knows only agents and
teams, and a runner that takes a turn through a compiled program as the engine does."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn, cast

from core.agents import Agent, AgentStatus
from core.assignment import AgentFacts, TeamFacts
from core.models import Contact, Conversation, Run, TranscriptEntry
from core.ports import Transaction
from core.program import Program, compile_workflow
from core.schedules import Schedule
from core.sources import parse_yaml
from core.steps import RunEnded, execute
from core.turn import Turn
from core.workflow import parse_workflow

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday, 10:30 in Madrid


class Directory:
    """The part of a store transaction that assignment and the desk read: agents, each
    team's members in order with their open conversations, and the round-robin cursor.
    Anything else a rule asks of the store fails the test, naming what was asked."""

    def __init__(
        self,
        agents: list[Agent],
        teams: Mapping[str, list[str]] | None = None,
        open_counts: Mapping[str, int] | None = None,
    ) -> None:
        self.agents = {a.id: a for a in agents}
        self.teams = dict(teams or {})
        self.open_counts = dict(open_counts or {})
        self.cursors: dict[str, str] = {}

    async def load_agent(self, agent_id: str) -> Agent | None:
        return self.agents.get(agent_id)

    async def team_facts(self, team: str) -> TeamFacts:
        members = tuple(
            AgentFacts(self.agents[a], self.open_counts.get(a, 0)) for a in self.teams.get(team, [])
        )
        return TeamFacts(members, self.cursors.get(team))

    async def agent_facts(self, agent_id: str) -> AgentFacts | None:
        agent = self.agents.get(agent_id)
        return None if agent is None else AgentFacts(agent, self.open_counts.get(agent_id, 0))

    async def advance_cursor(self, team: str, agent_id: str) -> None:
        self.cursors[team] = agent_id

    async def recent_transcript(self, conversation_id: str, limit: int) -> list[TranscriptEntry]:
        return []

    def __getattr__(self, name: str) -> NoReturn:
        raise AssertionError(f"a unit test's rule asked the store for {name}")

    def as_transaction(self) -> Transaction:
        return cast(Transaction, self)


def agent(agent_id: str, status: AgentStatus = AgentStatus.ONLINE) -> Agent:
    return Agent(id=agent_id, name=agent_id.title(), status=status)


def contact(**fields: Any) -> Contact:
    values: dict[str, Any] = {
        "id": "c1",
        "channel": "telegram",
        "external_id": "42",
        "created_at": NOW,
    }
    return Contact.model_validate(values | fields)


def conversation(**fields: Any) -> Conversation:
    values: dict[str, Any] = {
        "id": "v1",
        "contact_id": "c1",
        "channel": "telegram",
        "opened_at": NOW,
    }
    return Conversation.model_validate(values | fields)


def turn(
    conv: Conversation | None = None,
    who: Contact | None = None,
    *,
    directory: Directory | None = None,
    schedules: Mapping[str, Schedule] | None = None,
    now: datetime = NOW,
) -> Turn:
    return Turn(
        tx=(directory or Directory([])).as_transaction(),
        now=now,
        contact=who or contact(),
        conversation=conv or conversation(),
        schedules=schedules or {},
    )


def program(steps: str) -> Program:
    """The compiled workflow whose steps are the YAML list `steps`."""
    body = textwrap.indent(textwrap.dedent(steps).strip(), "  ")
    text = f"name: w\ntrigger: conversation_opened\nsteps:\n{body}\n"
    return compile_workflow(parse_workflow(parse_yaml(text, "w.yaml")))


def start(prog: Program, at: Turn, **run: Any) -> Turn:
    """`at`'s conversation with a new run of `prog`."""
    at.conversation.run = Run(
        workflow=prog.workflow.name,
        workflow_hash=prog.workflow_hash,
        trigger="conversation_opened",
        **run,
    )
    return at


async def drive(prog: Program, at: Turn, limit: int = 200) -> list[str]:
    """Run instructions as the engine does, until the run waits, ends or closes; the texts
    said to the customer meanwhile."""
    for _ in range(limit):
        run = at.conversation.run
        assert run is not None
        if run.waiting is not None or run.pc >= len(prog.code):
            break
        try:
            await execute(prog.code[run.pc], prog, at)
        except RunEnded:
            break
    else:
        raise AssertionError(f"still running after {limit} instructions")
    return [message.text for message in at.effects.outbound]
