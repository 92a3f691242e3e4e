"""Agents, teams and each team's round-robin cursor: the facts an assignment is decided on
(in `core.assignment`), never the decision.

Assignments from several replicas are made one at a time per team: reading a team's facts
locks the team's row (its cursor) and then its members' rows, in id order so that two teams
sharing an agent never wait for each other in a circle. Reading one agent's facts (assigning
by name, or from a queue) locks that agent's row, so no capacity is exceeded between
replicas. The locks are held until the transaction that saves the assignment commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.agents import Agent, AgentStatus
from core.assignment import AgentFacts, TeamFacts, check_directory
from storage.postgres.reads import Conn, Reader
from storage.rows import AGENT_COLUMNS, agent_from, agent_values, columns

_AGENT = columns(AGENT_COLUMNS)


async def sync(
    conn: Conn,
    agents: Sequence[Agent],
    teams: dict[str, list[str]],
) -> None:
    """Make the stored directory the given one (see `SqliteStore.sync_directory`)."""
    check_directory(agents, teams)
    await conn.executemany(
        f"""
        INSERT INTO agents ({_AGENT}) VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE SET
            name = excluded.name, capacity = excluded.capacity
        """,
        [agent_values(agent) for agent in agents],
    )
    await conn.execute("DELETE FROM agents WHERE id <> ALL($1::text[])", [a.id for a in agents])
    await conn.execute("DELETE FROM teams WHERE name <> ALL($1::text[])", list(teams))
    await conn.executemany(
        "INSERT INTO teams (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        [(team,) for team in teams],
    )
    await conn.execute("DELETE FROM team_members")
    await conn.executemany(
        "INSERT INTO team_members (team, position, agent_id) VALUES ($1, $2, $3)",
        [
            (team, position, agent_id)
            for team, members in teams.items()
            for position, agent_id in enumerate(members)
        ],
    )


async def set_status(db: Reader, agent_id: str, status: AgentStatus) -> Agent | None:
    row = await db.fetchrow(
        f"UPDATE agents SET status = $1 WHERE id = $2 RETURNING {_AGENT}", status.value, agent_id
    )
    return None if row is None else agent_from(row)


async def get(db: Reader, agent_id: str) -> Agent | None:
    row = await db.fetchrow(f"SELECT {_AGENT} FROM agents WHERE id = $1", agent_id)
    return None if row is None else agent_from(row)


async def list_all(db: Reader) -> list[Agent]:
    return [agent_from(row) for row in await db.fetch(f"SELECT {_AGENT} FROM agents ORDER BY id")]


async def teams_of(db: Reader, agent_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT team FROM team_members WHERE agent_id = $1 ORDER BY team", agent_id
    )
    return [str(row["team"]) for row in rows]


SET_CURSOR = "UPDATE teams SET last_picked = $1 WHERE name = $2"


async def team_facts(
    conn: Conn, team: str, *, cursor: str | None, open_delta: Mapping[str, int]
) -> TeamFacts:
    """The team's members in order with their open conversations, and its cursor (see
    `Transaction.team_facts`), read under the team's row lock and then its members' (in id
    order). `cursor` and `open_delta` are what the transaction has decided but not stored."""
    last = await conn.fetchval("SELECT last_picked FROM teams WHERE name = $1 FOR UPDATE", team)
    members = await conn.fetch(
        f"""
        SELECT {columns(AGENT_COLUMNS, "a")}, m.position
        FROM team_members AS m JOIN agents AS a ON a.id = m.agent_id
        WHERE m.team = $1 ORDER BY a.id FOR UPDATE OF a
        """,
        team,
    )
    if not members:
        return TeamFacts(members=())
    counts = await _open_counts(conn, [row["id"] for row in members])
    ordered = sorted(members, key=lambda row: int(row["position"]))
    facts = tuple(
        AgentFacts(agent_from(row), counts.get(row["id"], 0) + open_delta.get(row["id"], 0))
        for row in ordered
    )
    return TeamFacts(facts, cursor if cursor is not None else last)


async def agent_facts(conn: Conn, agent_id: str, open_delta: int) -> AgentFacts | None:
    """One agent and their open conversations, their row locked until the transaction ends."""
    row = await conn.fetchrow(f"SELECT {_AGENT} FROM agents WHERE id = $1 FOR UPDATE", agent_id)
    if row is None:
        return None
    counts = await _open_counts(conn, [agent_id])
    return AgentFacts(agent_from(row), counts.get(agent_id, 0) + open_delta)


async def _open_counts(conn: Conn, agent_ids: list[str]) -> dict[str, int]:
    rows = await conn.fetch(
        """
        SELECT assignee, count(*) AS n FROM conversations
        WHERE status = 'open' AND assignee = ANY($1::text[]) GROUP BY assignee
        """,
        agent_ids,
    )
    return {row["assignee"]: int(row["n"]) for row in rows}
