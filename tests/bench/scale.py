"""Benchmark: what a message costs with few and with many conversations already stored.

For each size, a SQLite file is filled once through the store's own write path (contacts,
conversations and their history, as `tests.bench.conversations` fills them: most closed,
some waiting for an answer, queued or with an agent). Its queues belong to teams none of the
served config's agents is on: a queue of thousands that online agents with room take at
start would be assignments running beside the load, not the cost of a message (a real
store's queues are drained as they fill). Each round copies the file beside a fresh
`frontdesk serve` with the Telegram channel, pinned like the comparison's, and drives it
with the comparison's scenarios: 64 connections in a closed loop from new chats, the same
with 1,000 chats talking, and an open loop at a fixed rate. Prints the server's CPU per
message, throughput, acknowledgement p99 and resident memory for each size, then the
largest size against the smallest.

    .venv/bin/python -m tests.bench.scale      # 1,000 and 1,000,000 stored; about 7 minutes
    .venv/bin/python -m tests.bench.scale --sizes 1000,100000 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from storage.sqlite import SqliteSettings, SqliteStore
from tests.bench import conversations, half_peak, load, new_chats, same_chats
from tests.bench.measure import Figures
from tests.bench.servers import DATABASE, pinned, serve
from tests.bench.sink import Sink
from tests.support.serve import serving_app

GOAL = 1.2  # CPU per message at the largest size against the smallest, at most
TEAMS = ("billing", "returns", "wholesale")  # none of them in the served config's directory


async def filled(size: int, folder: Path) -> Path:
    """A SQLite file holding `size` conversations, closed cleanly (no WAL left beside it).
    Prints how long the fill took and the largest the write-ahead log's file grew meanwhile
    (its growth is bounded by checkpoints, `storage/sqlite/checkpoint.py`)."""
    store = SqliteStore(SqliteSettings(path=DATABASE), folder)
    await store.open()
    wal = folder / f"{DATABASE}-wal"
    peak = 0

    def look() -> None:
        nonlocal peak
        with contextlib.suppress(OSError):
            peak = max(peak, wal.stat().st_size)

    async def watch() -> None:
        while True:
            look()
            await asyncio.sleep(0.1)

    watching = asyncio.create_task(watch())
    try:
        started = time.perf_counter()
        await conversations.fill(store, size, random.Random(size), TEAMS)
        seconds = time.perf_counter() - started
        look()
    finally:
        watching.cancel()
        await store.close()
    database = folder / DATABASE
    print(
        f"stored {size:,} conversations in {seconds:.0f} s; the log's file peaked at"
        f" {peak / 2**20:.0f} MiB, the database is {database.stat().st_size / 2**20:.0f} MiB",
        flush=True,
    )
    return database


async def main(sizes: list[int], rounds: int, count: int, rate: float, seconds: float) -> None:
    if pinned():
        os.sched_setaffinity(0, {1})
    work = Path(tempfile.mkdtemp(prefix="frontdesk-scale-"))
    try:
        files: dict[int, Path] = {}
        for size in sizes:
            folder = work / str(size)
            folder.mkdir()
            files[size] = await filled(size, folder)
        results: defaultdict[tuple[int, str], list[Figures]] = defaultdict(list)
        numbers = iter(range(1, 10**9, count * 2))
        make = load.telegram_body
        sink = Sink()
        async with serving_app(sink.app()) as api:
            for round_ in range(rounds):
                for size in sizes:

                    async def prepare(folder: Path, source: Path = files[size]) -> None:
                        await asyncio.to_thread(shutil.copyfile, source, folder / DATABASE)

                    async with serve("frontdesk-telegram", api, prepare=prepare) as server:
                        await new_chats.run(server, sink, make, next(numbers), count // 10)
                        figures = [
                            await new_chats.run(server, sink, make, next(numbers), count),
                            await same_chats.run(server, sink, make, next(numbers), count),
                            await half_peak.run(server, sink, make, next(numbers), rate, seconds),
                        ]
                    for f in figures:
                        results[(size, f.scenario)].append(f)
                        print(
                            f"  round {round_ + 1} {size:>9,} {f.scenario:22} "
                            f"CPU {f.cpu_ms:5.2f} ms RSS {f.rss_mb:4.0f} MB",
                            flush=True,
                        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results, sizes, rounds)


def report(results: dict[tuple[int, str], list[Figures]], sizes: list[int], rounds: int) -> None:
    def med(size: int, scenario: str, field: str) -> float:
        values = [getattr(f, field) for f in results[(size, scenario)]]
        return float(statistics.median(v for v in values if v is not None))

    scenarios = list(dict.fromkeys(scenario for _, scenario in results))
    where = "server on core 0, load on core 1 (taskset)" if pinned() else "not pinned"
    print(f"\nfrontdesk-telegram on SQLite; {where}; median of {rounds} round(s)")
    print(f"{'stored':>10} {'scenario':22} {'e2e/s':>6} {'CPU ms':>6} {'ack p99':>7} {'RSS MB':>6}")
    for size in sizes:
        for scenario in scenarios:
            print(
                f"{size:>10,} {scenario:22} {med(size, scenario, 'e2e_per_s'):6.0f} "
                f"{med(size, scenario, 'cpu_ms'):6.2f} {med(size, scenario, 'ack_p99_ms'):7.1f} "
                f"{med(size, scenario, 'rss_mb'):6.0f}"
            )
    small, large = sizes[0], sizes[-1]
    cpu = {s: med(large, s, "cpu_ms") / med(small, s, "cpu_ms") for s in scenarios}
    rss = max(med(large, s, "rss_mb") / med(small, s, "rss_mb") for s in scenarios)
    print(f"{large:,} stored against {small:,}:")
    for scenario, ratio in cpu.items():
        print(f"  CPU per message, {scenario}: {ratio:.2f}x")
    print(f"  RSS, largest of the scenarios: {rss:.2f}x")
    worst = max(cpu.values())
    verdict = "held" if worst <= GOAL else "MISSED"
    print(f"target: {verdict} CPU per message, worst scenario: {worst:.2f}x (target <= {GOAL})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1000,1000000", help="conversations stored, smallest first"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--count", type=int, default=3000, help="messages per closed scenario")
    parser.add_argument("--rate", type=float, default=300, help="the open loop's messages/s")
    parser.add_argument("--seconds", type=float, default=6.0, help="the open loop's length")
    args = parser.parse_args()
    chosen = sorted(int(size) for size in args.sizes.split(","))
    asyncio.run(main(chosen, args.rounds, args.count, args.rate, args.seconds))
