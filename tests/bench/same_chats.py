"""Scenario: closed loop at 64 connections, the same 1,000 chats talking in turn (each
message answers the question the last one got, or opens a new conversation)."""

from __future__ import annotations

from tests.bench import load
from tests.bench.measure import Figures, measured
from tests.bench.servers import Server
from tests.bench.sink import Sink

CONNECTIONS = 64
CHATS = 1_000
FIRST = 9_000_000


async def run(server: Server, sink: Sink, make: load.Maker, first: int, count: int) -> Figures:
    def chat(n: int) -> int:
        return FIRST + n % CHATS

    return await measured(
        server,
        sink,
        "1,000 chats, closed 64",
        count,
        server.name != "bare",
        lambda: load.closed(server.url, sink, make, count, CONNECTIONS, chat, first),
    )
