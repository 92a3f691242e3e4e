"""Teams' working hours: with `away_outside_schedule`, a team's online agents are set away
while its schedule is closed. Done at every sweep of the runtime."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from core.agents import Agent, AgentStatus
from core.ports import Store
from core.reporting import Reporter
from core.schedules import Schedule


async def away_outside_hours(
    store: Store,
    reporter: Reporter,
    now: datetime,
    away_outside: Mapping[str, str],
    schedules: Mapping[str, Schedule],
) -> list[Agent]:
    """Set away the online agents whose teams (those in `away_outside`, team → schedule) are
    all closed at `now`; the agents set away."""
    if not away_outside:
        return []
    closed = {
        team for team, schedule in away_outside.items() if not schedules[schedule].is_open(now)
    }
    changed = []
    for agent in await store.list_agents():
        if agent.status != AgentStatus.ONLINE:
            continue
        teams = [t for t in await store.teams_of(agent.id) if t in away_outside]
        if teams and all(t in closed for t in teams):
            updated = await store.set_agent_status(agent.id, AgentStatus.AWAY)
            if updated is not None:
                reporter.agent_status(updated, f"outside the hours of {','.join(teams)}")
                changed.append(updated)
    return changed
