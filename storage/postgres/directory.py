"""Agents, teams and each team's round-robin cursor.

Concurrent picks from several replicas are made one at a time per team: a pick locks the
team's row (its cursor) and then its members' rows, in id order so that two teams sharing an
agent never wait for each other in a circle. Counting an agent's open conversations for a
hand assignment locks that agent's row too, so no capacity is exceeded between replicas. The
locks are held until the transaction that saves the assignment commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg

from core.models import Agent, AgentStatus
from storage.postgres.reads import Conn, Reader

_AGENT = "id, name, status, capacity, slack_user_id"


def _check(agents: Sequence[Agent], teams: dict[str, list[str]]) -> None:
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
    conn: Conn,
    agents: Sequence[Agent],
    teams: dict[str, list[str]],
) -> None:
    """Make the stored directory the given one (see `SqliteStore.sync_directory`)."""
    _check(agents, teams)
    await conn.executemany(
        f"""
        INSERT INTO agents ({_AGENT}) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO UPDATE SET
            name = excluded.name, capacity = excluded.capacity,
            slack_user_id = excluded.slack_user_id
        """,
        [(a.id, a.name, a.status.value, a.capacity, a.slack_user_id) for a in agents],
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
    return None if row is None else _agent(row)


async def get(db: Reader, agent_id: str) -> Agent | None:
    row = await db.fetchrow(f"SELECT {_AGENT} FROM agents WHERE id = $1", agent_id)
    return None if row is None else _agent(row)


async def lock_agent(conn: Conn, agent_id: str) -> None:
    """Hold the agent's row until commit: their count cannot change under a decision."""
    await conn.execute("SELECT 1 FROM agents WHERE id = $1 FOR UPDATE", agent_id)


async def list_all(db: Reader) -> list[Agent]:
    return [_agent(row) for row in await db.fetch(f"SELECT {_AGENT} FROM agents ORDER BY id")]


async def teams_of(db: Reader, agent_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT team FROM team_members WHERE agent_id = $1 ORDER BY team", agent_id
    )
    return [str(row["team"]) for row in rows]


SET_CURSOR = "UPDATE teams SET last_picked = $1 WHERE name = $2"


async def pick_agent(
    conn: Conn,
    team: str,
    *,
    strategy: str,
    only_online: bool,
    max_open: int | None,
    cursor: str | None,
    open_delta: Mapping[str, int],
) -> Agent | None:
    """The same choice as the SQLite store's `directory.pick_agent` (see there), made under
    the team's and its members' row locks. `cursor` and `open_delta` are what the transaction
    has decided but not yet stored."""
    last = await conn.fetchval("SELECT last_picked FROM teams WHERE name = $1 FOR UPDATE", team)
    members = await conn.fetch(
        """
        SELECT a.id, a.name, a.status, a.capacity, a.slack_user_id, m.position
        FROM team_members AS m JOIN agents AS a ON a.id = m.agent_id
        WHERE m.team = $1 ORDER BY a.id FOR UPDATE OF a
        """,
        team,
    )
    if not members:
        return None
    counts: dict[str, int] = {
        row["assignee"]: int(row["count"])
        for row in await conn.fetch(
            """
            SELECT assignee, count(*) FROM conversations
            WHERE status = 'open' AND assignee = ANY($1::text[]) GROUP BY assignee
            """,
            [row["id"] for row in members],
        )
    }
    ordered = sorted(members, key=lambda row: int(row["position"]))
    ids = [row["id"] for row in ordered]
    last = cursor if cursor is not None else last
    start = ids.index(last) + 1 if last in ids else 0
    eligible: list[tuple[int, asyncpg.Record]] = []
    for row in ordered[start:] + ordered[:start]:
        if only_online and row["status"] != AgentStatus.ONLINE.value:
            continue
        open_count = int(counts.get(row["id"], 0)) + open_delta.get(row["id"], 0)
        if row["capacity"] is not None and open_count >= row["capacity"]:
            continue
        if max_open is not None and open_count >= max_open:
            continue
        eligible.append((open_count, row))
    if not eligible:
        return None
    if strategy == "least_open":
        return _agent(min(eligible, key=lambda pair: pair[0])[1])
    return _agent(eligible[0][1])


def _agent(row: asyncpg.Record) -> Agent:
    return Agent(
        id=row["id"],
        name=row["name"],
        status=AgentStatus(row["status"]),
        capacity=row["capacity"],
        slack_user_id=row["slack_user_id"],
    )
