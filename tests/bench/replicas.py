"""Benchmark: conversations per second through 1, 2 and 3 `frontdesk serve` replicas on one
PostgreSQL, beside one process on SQLite, in one run.

Each setup gets a fresh store (a SQLite file, or a PostgreSQL schema dropped afterwards), its
replicas behind a round-robin sender, and a callback receiver in this process. Every
conversation opens with a greeting, is assigned round robin among four agents, and tells the
customer who they have: two deliveries each. Prints how fast events are accepted (200) and how
fast conversations finish end to end (both messages delivered), with the machine's core count.
Loopback only; bounded in time.

    .venv/bin/python -m tests.bench.replicas --conversations 2000 --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp

from storage.postgres import PostgresSettings
from tests.support.harness import SECRET, event
from tests.support.postgres import scratch_schema
from tests.support.receiver import Receiver
from tests.support.replicas import cluster, desk, desk_config

AGENTS = ("a1", "a2", "a3", "a4")
SETUPS = (("sqlite", 1), ("postgres", 1), ("postgres", 2), ("postgres", 3))


async def run_setup(
    backend: str, replicas: int, conversations: int, concurrency: int, limit: float
) -> tuple[float, float]:
    """(accepted per second, finished conversations per second)."""
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    receiver = Receiver(SECRET)
    await receiver.start()
    try:
        async with AsyncExitStack() as stack:
            settings: PostgresSettings | None = None
            if backend == "postgres":
                settings = await stack.enter_async_context(scratch_schema())
            session = await stack.enter_async_context(aiohttp.ClientSession())
            config = desk_config(folder, receiver.url, desk(AGENTS, conversations), settings)
            running = await stack.enter_async_context(
                cluster(config, replicas, session, "--log-level", "WARNING")
            )
            slots = asyncio.Semaphore(concurrency)

            async def write(n: int) -> None:
                async with slots:
                    await running.balancer.post(event(f"c{n}", "hi"))

            started = time.perf_counter()
            await asyncio.gather(*(write(n) for n in range(conversations)))
            accepted = time.perf_counter() - started
            await receiver.wait_until(lambda r: len(r.messages) >= 2 * conversations, limit)
            finished = time.perf_counter() - started
    finally:
        await receiver.close()
        shutil.rmtree(folder, ignore_errors=True)
    return conversations / accepted, conversations / finished


async def main(conversations: int, concurrency: int, limit: float) -> None:
    print(
        f"{conversations} conversations, {concurrency} concurrent senders, "
        f"{os.cpu_count()} cores (os.cpu_count())"
    )
    print(f"{'store':<10} {'replicas':>8} {'accepted/s':>11} {'finished/s':>11}")
    for backend, replicas in SETUPS:
        accepted, finished = await run_setup(backend, replicas, conversations, concurrency, limit)
        print(f"{backend:<10} {replicas:>8} {accepted:>11.0f} {finished:>11.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per setup, at most")
    args = parser.parse_args()
    asyncio.run(main(args.conversations, args.concurrency, args.limit))
