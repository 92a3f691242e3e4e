"""What is open and waiting, counted in one statement for the metrics.

Each part is an aggregate over a partial index (a team's queue, the pending outbox) or over a
small table, so a scrape costs one short read whatever the history holds.
"""

from __future__ import annotations

import aiosqlite

from core.agents import AgentStatus
from core.ports import Waiting, Workload
from storage.sqlite.codec import from_micros_or_none
from storage.sqlite.connection import fetch_all

WORKLOAD = """
    SELECT 'queue' AS part, team AS name, '' AS kind, COUNT(*) AS n, MIN(queued_at) AS oldest
        FROM conversations
        WHERE status = 'open' AND assignee IS NULL AND queued_at IS NOT NULL
        GROUP BY team
    UNION ALL
    SELECT 'open', channel, '', COUNT(*), NULL
        FROM conversations WHERE status = 'open' GROUP BY channel
    UNION ALL
    SELECT 'agents', status, '', COUNT(*), NULL FROM agents GROUP BY status
    UNION ALL
    SELECT 'outbox', json_extract(message, '$.channel'),
           CASE WHEN lane LIKE '%#desk' THEN 'desk' ELSE 'customer' END,
           COUNT(*), MIN(next_attempt_at)
        FROM outbox WHERE status = 'pending' GROUP BY 2, 3
"""


async def read(conn: aiosqlite.Connection) -> Workload:
    workload = Workload(
        queues={}, open_conversations={}, agents=dict.fromkeys(AgentStatus, 0), outbox={}
    )
    for row in await fetch_all(conn, WORKLOAD):
        part, name, count = row["part"], str(row["name"]), int(row["n"])
        waiting = Waiting(count=count, oldest=from_micros_or_none(row["oldest"]))
        if part == "queue":
            workload.queues[name] = waiting
        elif part == "open":
            workload.open_conversations[name] = count
        elif part == "agents":
            workload.agents[AgentStatus(name)] = count
        else:
            workload.outbox[(name, str(row["kind"]))] = waiting
    return workload
