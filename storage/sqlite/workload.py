"""What is open and waiting, counted in one statement for the metrics.

Each part is an aggregate over a partial index (a team's queue, the pending outbox) or over a
small table, so a scrape costs one short read whatever the history holds.
"""

from __future__ import annotations

import aiosqlite

from core.models import DESK_LANE
from core.ports import Workload
from storage.rows import workload_from
from storage.sqlite.codec import TIMES
from storage.sqlite.connection import fetch_all

WORKLOAD = f"""
    SELECT 'queue' AS part, team AS name, '' AS kind, COUNT(*) AS n, MIN(queued_at) AS oldest
        FROM conversations
        WHERE status = 'open' AND assignee IS NULL AND queued_at IS NOT NULL
          AND queued_for IS NULL
        GROUP BY team
    UNION ALL
    SELECT 'agent_queue', queued_for, '', COUNT(*), MIN(queued_at)
        FROM conversations
        WHERE status = 'open' AND assignee IS NULL AND queued_for IS NOT NULL
          AND queued_at IS NOT NULL
        GROUP BY queued_for
    UNION ALL
    SELECT 'open', channel, '', COUNT(*), NULL
        FROM conversations WHERE status = 'open' GROUP BY channel
    UNION ALL
    SELECT 'agents', status, '', COUNT(*), NULL FROM agents GROUP BY status
    UNION ALL
    SELECT 'outbox', json_extract(message, '$.channel'),
           CASE WHEN lane LIKE '%{DESK_LANE}' THEN 'desk' ELSE 'customer' END,
           COUNT(*), MIN(next_attempt_at)
        FROM outbox WHERE status = 'pending' GROUP BY 2, 3
"""


async def read(conn: aiosqlite.Connection) -> Workload:
    return workload_from(await fetch_all(conn, WORKLOAD), TIMES)
