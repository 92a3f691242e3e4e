"""Scenario: closed loop at 64 connections, each update from a chat never seen before."""

from __future__ import annotations

from tests.bench import load
from tests.bench.measure import Figures, measured
from tests.bench.servers import Server
from tests.bench.sink import Sink

CONNECTIONS = 64


async def run(server: Server, sink: Sink, make: load.Maker, first: int, count: int) -> Figures:
    def chat(n: int) -> int:
        return load.FIRST_CHAT + n

    return await measured(
        server,
        sink,
        "new chats, closed 64",
        count,
        server.name != "bare",
        lambda: load.closed(server.url, sink, make, count, CONNECTIONS, chat, first),
    )
