"""One scenario's figures for one server, and how they are taken."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.bench.load import Shot
from tests.bench.servers import Server
from tests.bench.sink import Sink
from tests.support.waiting import until

REPLY_LIMIT_SECONDS = 60.0


@dataclass
class Figures:
    server: str
    scenario: str
    messages: int
    acks_per_s: float
    e2e_per_s: float | None  # None: the server sends no replies (bare)
    cpu_ms: float  # server CPU per message, until the last reply (or ack)
    ack_p50_ms: float
    ack_p99_ms: float
    e2e_p99_ms: float | None
    gc_ms: float
    rss_mb: float
    refused: int


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def measured(
    server: Server,
    sink: Sink,
    scenario: str,
    messages: int,
    replies: bool,
    drive: Callable[[], Awaitable[Shot]],
) -> Figures:
    """Run `drive` against `server`, then wait for one reply per message (if `replies`)."""
    sink.reset()
    wall, cpu = time.time(), server.cpu_seconds()
    shot = await drive()
    acked = shot.last_ack - shot.started
    e2e: float | None = None
    if replies:
        # Replies that never all arrive leave the end-to-end figures empty.
        with contextlib.suppress(AssertionError):
            await until(lambda: sink.replies >= messages, REPLY_LIMIT_SECONDS)
        if sink.replies >= messages:
            e2e = sink.last_reply - shot.started
    await asyncio.sleep(0.05)
    used = server.cpu_seconds() - cpu
    return Figures(
        server=server.name,
        scenario=scenario,
        messages=messages,
        acks_per_s=len(shot.acks) / acked,
        e2e_per_s=messages / e2e if e2e else None,
        cpu_ms=1000 * used / messages,
        ack_p50_ms=1000 * quantile(shot.acks, 0.5),
        ack_p99_ms=1000 * quantile(shot.acks, 0.99),
        e2e_p99_ms=1000 * quantile(sink.latencies, 0.99) if e2e else None,
        gc_ms=server.longest_gc_ms(wall),
        rss_mb=server.rss_mb(),
        refused=shot.refused,
    )
