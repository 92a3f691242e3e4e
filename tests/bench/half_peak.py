"""Scenario: open loop at a fixed rate (half of frontdesk's Telegram peak), new chats;
latency is counted from when each update was due."""

from __future__ import annotations

from tests.bench import load
from tests.bench.measure import Figures, measured
from tests.bench.servers import Server
from tests.bench.sink import Sink


async def run(
    server: Server, sink: Sink, make: load.Maker, first: int, rate: float, seconds: float
) -> Figures:
    def chat(n: int) -> int:
        return load.FIRST_CHAT + n

    return await measured(
        server,
        sink,
        f"open {rate:.0f}/s",
        int(rate * seconds),
        server.name != "bare",
        lambda: load.opened(server.url, sink, make, rate, seconds, chat, first),
    )
