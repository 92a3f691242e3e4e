"""Agents, teams and the round-robin cursor of each team."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence

import aiosqlite

from core.models import Agent, AgentStatus
from storage.sqlite.connection import fetch_all, fetch_one

_AGENT = "id, name, status, capacity, slack_user_id"


def _check(agents: Sequence[Agent], teams: dict[str, list[str]]) -> None:
    """Refuse a directory that cannot be stored as given (the config should not let one
    through; this names the culprit if it does)."""
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


async def sync(
    conn: aiosqlite.Connection, agents: Sequence[Agent], teams: dict[str, list[str]]
) -> None:
    """Make the stored directory the given one (see `SqliteStore.sync_directory`)."""
    _check(agents, teams)
    # An existing agent keeps its status: agents set it themselves, the config only seeds it.
    await conn.executemany(
        f"""
        INSERT INTO agents ({_AGENT}) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET
            name = excluded.name, capacity = excluded.capacity,
            slack_user_id = excluded.slack_user_id
        """,
        [
            (agent.id, agent.name, agent.status.value, agent.capacity, agent.slack_user_id)
            for agent in agents
        ],
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
    return None if row is None else _agent(row)


async def get(conn: aiosqlite.Connection, agent_id: str) -> Agent | None:
    row = await fetch_one(conn, f"SELECT {_AGENT} FROM agents WHERE id = ?", (agent_id,))
    return None if row is None else _agent(row)


async def list_all(conn: aiosqlite.Connection) -> list[Agent]:
    rows = await fetch_all(conn, f"SELECT {_AGENT} FROM agents ORDER BY id")
    return [_agent(row) for row in rows]


SET_CURSOR = "UPDATE teams SET last_picked = ? WHERE name = ?"


async def pick_agent(
    conn: aiosqlite.Connection,
    team: str,
    *,
    strategy: str,
    only_online: bool,
    max_open: int | None,
    cursor: str | None,
    open_delta: Mapping[str, int],
) -> Agent | None:
    """The member a new conversation of `team` goes to, or None when nobody is eligible (or
    the team is unknown).

    Eligible: online (or any status when not `only_online`), below their own capacity and
    below `max_open`, counting the open conversations assigned to them. "round_robin" takes
    the first eligible member after the one picked last, cyclically in member order;
    "least_open" the eligible member with the fewest open conversations, ties going round
    robin. `cursor` and `open_delta` carry what the write group has decided but not yet
    stored: the agent this team picked last, and assignments per agent. The caller stores
    the pick as the cursor (SET_CURSOR); with one writer at a time the read and the move are
    one atomic step, so concurrent picks share the team out fairly.
    """
    members = await fetch_all(
        conn,
        """
        SELECT a.id, a.name, a.status, a.capacity, a.slack_user_id, t.last_picked,
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
    if not members:
        return None
    ids = [row["id"] for row in members]
    last = cursor if cursor is not None else members[0]["last_picked"]
    # A cursor on an agent who has left the team starts the round again from the top.
    start = ids.index(last) + 1 if last in ids else 0
    eligible: list[tuple[int, sqlite3.Row]] = []
    for row in members[start:] + members[:start]:
        if only_online and row["status"] != AgentStatus.ONLINE.value:
            continue
        open_count = row["open_count"] + open_delta.get(row["id"], 0)
        if row["capacity"] is not None and open_count >= row["capacity"]:
            continue
        if max_open is not None and open_count >= max_open:
            continue
        eligible.append((open_count, row))
    if not eligible:
        return None
    if strategy == "least_open":
        # min() keeps the first of equals: the next in turn among the least busy.
        return _agent(min(eligible, key=lambda pair: pair[0])[1])
    return _agent(eligible[0][1])


async def teams_of(conn: aiosqlite.Connection, agent_id: str) -> list[str]:
    rows = await fetch_all(
        conn, "SELECT team FROM team_members WHERE agent_id = ? ORDER BY team", (agent_id,)
    )
    return [str(row["team"]) for row in rows]


def _agent(row: sqlite3.Row) -> Agent:
    return Agent(
        id=row["id"],
        name=row["name"],
        status=AgentStatus(row["status"]),
        capacity=row["capacity"],
        slack_user_id=row["slack_user_id"],
    )
