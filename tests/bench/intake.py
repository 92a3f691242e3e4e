"""Scenario: intake under a burst while delivery is held back. The fake Bot API answers
every sendMessage with 429 retry_after, so replies pile up in the outbox; the figure is how
many updates a second frontdesk still stores durably and acknowledges (closed 64, new chats).
"""

from __future__ import annotations

from tests.bench import load
from tests.bench.measure import Figures, measured
from tests.bench.servers import Server
from tests.bench.sink import Sink

CONNECTIONS = 64


async def run(server: Server, sink: Sink, make: load.Maker, first: int, count: int) -> Figures:
    def chat(n: int) -> int:
        return load.FIRST_CHAT + n

    sink.retry_after = 60
    try:
        return await measured(
            server,
            sink,
            "intake, Bot API 429",
            count,
            False,
            lambda: load.closed(server.url, sink, make, count, CONNECTIONS, chat, first),
        )
    finally:
        sink.retry_after = None
