"""Agents, teams and the round-robin cursor of each team: the facts an assignment is decided
on (in `core.assignment`), never the decision."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import aiosqlite

from core.agents import Agent, AgentStatus
from core.assignment import AgentFacts, TeamFacts, check_directory
from storage.rows import AGENT_COLUMNS, agent_from, agent_values, columns
from storage.sqlite.connection import fetch_all, fetch_one

_AGENT = columns(AGENT_COLUMNS)


async def sync(
    conn: aiosqlite.Connection, agents: Sequence[Agent], teams: dict[str, list[str]]
) -> None:
    """Make the stored directory the given one (see `SqliteStore.sync_directory`)."""
    check_directory(agents, teams)
    # An existing agent keeps its status: agents set it themselves, the config only seeds it.
    await conn.executemany(
        f"""
        INSERT INTO agents ({_AGENT}) VALUES (?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET
            name = excluded.name, capacity = excluded.capacity
        """,
        [agent_values(agent) for agent in agents],
    )
    # json_each keeps the statement one parameter long however many agents there are.
    await conn.execute(
        "DELETE FROM agents WHERE id NOT IN (SELECT value FROM json_each(?))",
        (json.dumps([agent.id for agent in agents]),),
    )
    # A team that stays keeps its row, and with it its round-robin cursor.
    await conn.execute(
        "DELETE FROM teams WHERE name NOT IN (SELECT value FROM json_each(?))",
        (json.dumps(list(teams)),),
    )
    await conn.executemany(
        "INSERT INTO teams (name) VALUES (?) ON CONFLICT (name) DO NOTHING",
        [(team,) for team in teams],
    )
    await conn.execute("DELETE FROM team_members")
    await conn.executemany(
        "INSERT INTO team_members (team, position, agent_id) VALUES (?, ?, ?)",
        [
            (team, position, agent_id)
            for team, members in teams.items()
            for position, agent_id in enumerate(members)
        ],
    )


async def set_status(
    conn: aiosqlite.Connection, agent_id: str, status: AgentStatus
) -> Agent | None:
    row = await fetch_one(
        conn,
        f"UPDATE agents SET status = ? WHERE id = ? RETURNING {_AGENT}",
        (status.value, agent_id),
    )
    return None if row is None else agent_from(row)


async def get(conn: aiosqlite.Connection, agent_id: str) -> Agent | None:
    row = await fetch_one(conn, f"SELECT {_AGENT} FROM agents WHERE id = ?", (agent_id,))
    return None if row is None else agent_from(row)


async def list_all(conn: aiosqlite.Connection) -> list[Agent]:
    rows = await fetch_all(conn, f"SELECT {_AGENT} FROM agents ORDER BY id")
    return [agent_from(row) for row in rows]


SET_CURSOR = "UPDATE teams SET last_picked = ? WHERE name = ?"


async def team_facts(
    conn: aiosqlite.Connection,
    team: str,
    *,
    cursor: str | None,
    open_delta: Mapping[str, int],
) -> TeamFacts:
    """The team's members in order with their open conversations, and its cursor (see
    `Transaction.team_facts`). `cursor` and `open_delta` carry what the write group has
    decided but not stored yet: the team's cursor, and assignments per agent. With one
    writer at a time, reading these and storing the choice are one atomic step."""
    rows = await fetch_all(
        conn,
        f"""
        SELECT {columns(AGENT_COLUMNS, "a")}, t.last_picked,
            (SELECT COUNT(*) FROM conversations AS c
             WHERE c.status = 'open' AND c.assignee = a.id) AS open_count
        FROM team_members AS m
        JOIN teams AS t ON t.name = m.team
        JOIN agents AS a ON a.id = m.agent_id
        WHERE m.team = ?
        ORDER BY m.position
        """,
        (team,),
    )
    if not rows:
        return TeamFacts(members=())
    members = tuple(
        AgentFacts(agent_from(row), row["open_count"] + open_delta.get(row["id"], 0))
        for row in rows
    )
    return TeamFacts(members, cursor if cursor is not None else rows[0]["last_picked"])


async def teams_of(conn: aiosqlite.Connection, agent_id: str) -> list[str]:
    rows = await fetch_all(
        conn, "SELECT team FROM team_members WHERE agent_id = ? ORDER BY team", (agent_id,)
    )
    return [str(row["team"]) for row in rows]
