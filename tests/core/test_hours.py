"""Teams' working hours: with `away_outside_schedule`, an online agent is set away when all
of their teams that follow a schedule are closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from core.agents import Agent, AgentStatus
from core.hours import away_outside_hours
from core.ports import Store
from core.reporting import Reporter
from core.schedules import Schedule

ON, AWAY, OFF = AgentStatus.ONLINE, AgentStatus.AWAY, AgentStatus.OFFLINE
MONDAY_10 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Madrid
MONDAY_20 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)  # 20:00 in Madrid
SCHEDULES = {
    "office": Schedule(timezone="Europe/Madrid", hours={"mon": ["09:00-18:00"]}),
    "late": Schedule(timezone="Europe/Madrid", hours={"mon": ["12:00-23:00"]}),
}


class Directory:
    """The directory calls a sweep makes: agents, their teams, setting a status."""

    def __init__(self, agents: dict[str, tuple[AgentStatus, list[str]]]) -> None:
        self.agents = {
            a: Agent(id=a, name=a.title(), status=status) for a, (status, _) in agents.items()
        }
        self.teams = {a: teams for a, (_, teams) in agents.items()}

    async def list_agents(self) -> list[Agent]:
        return list(self.agents.values())

    async def teams_of(self, agent_id: str) -> list[str]:
        return self.teams[agent_id]

    async def set_agent_status(self, agent_id: str, status: AgentStatus) -> Agent | None:
        self.agents[agent_id] = self.agents[agent_id].model_copy(update={"status": status})
        return self.agents[agent_id]


# (rule, the agent's status and teams, the time, status after the sweep)
SWEEPS: list[tuple[str, AgentStatus, list[str], datetime, AgentStatus]] = [
    ("an online agent of a closed team is set away", ON, ["sales"], MONDAY_20, AWAY),
    ("an online agent of an open team stays", ON, ["sales"], MONDAY_10, ON),
    ("one open team of theirs keeps them online", ON, ["sales", "night"], MONDAY_20, ON),
    (
        "all their scheduled teams closed",
        ON,
        ["sales", "night"],
        MONDAY_10 - timedelta(hours=2),
        AWAY,
    ),
    ("a team with no schedule does not keep them", ON, ["sales", "vip"], MONDAY_20, AWAY),
    ("only teams without a schedule: never set away", ON, ["vip"], MONDAY_20, ON),
    ("an offline agent stays offline", OFF, ["sales"], MONDAY_20, OFF),
    ("an away agent stays away", AWAY, ["sales"], MONDAY_10, AWAY),
]


@pytest.mark.parametrize(
    ("status", "teams", "now", "after"), [r[1:] for r in SWEEPS], ids=[r[0] for r in SWEEPS]
)
async def test_a_sweep_sets_away_who_has_no_open_team(
    status: AgentStatus, teams: list[str], now: datetime, after: AgentStatus
) -> None:
    people = Directory({"ann": (status, teams)})
    changed = await away_outside_hours(
        cast(Store, people),
        Reporter(),
        now,
        {"sales": "office", "night": "late"},  # vip follows no schedule
        SCHEDULES,
    )
    assert people.agents["ann"].status == after
    assert [a.id for a in changed] == (["ann"] if after != status else [])


async def test_no_team_follows_a_schedule_no_sweep() -> None:
    people = Directory({"ann": (ON, ["sales"])})
    assert await away_outside_hours(cast(Store, people), Reporter(), MONDAY_20, {}, {}) == []
    assert people.agents["ann"].status == ON
