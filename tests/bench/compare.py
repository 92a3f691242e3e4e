"""Side by side: frontdesk's Telegram and webhook channels against a hand-written aiogram 3
bot and a bare aiohttp 200, under the same load, in interleaved rounds.

    .venv/bin/python -m tests.bench.compare            # about three minutes
    .venv/bin/python -m tests.bench.compare --rounds 1 --count 1000
    .venv/bin/python -m tests.bench.compare --servers frontdesk-telegram   # its rows alone
    .venv/bin/python -m tests.bench.compare --event-loop asyncio   # frontdesk without uvloop

Everything on 127.0.0.1. The servers run pinned to core 0 and this process (load generator,
fake Bot API, callback receiver) to core 1 where `taskset` allows. Prints one row per server
and scenario, the median over rounds, then the targets it checks (the Telegram channel's rows
are needed: its peak sets the open loop's rate, and its end-to-end rate is what intake is
compared with).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from tests.bench import half_peak, intake, load, new_chats, same_chats
from tests.bench.measure import Figures
from tests.bench.servers import pinned, serve
from tests.bench.sink import Sink
from tests.support.serve import serving_app

ORDER = ("frontdesk-telegram", "aiogram", "frontdesk-webhook", "bare")
OPEN_SECONDS = 8.0


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


async def main(rounds: int, count: int, event_loop: str, servers: tuple[str, ...] = ORDER) -> None:
    if pinned():
        os.sched_setaffinity(0, {1})
    sink = Sink()
    results: defaultdict[tuple[str, str], list[Figures]] = defaultdict(list)
    numbers = iter(range(1, 10**9, count * 2))
    rate = 0.0
    async with serving_app(sink.app()) as api:
        for round_ in range(rounds):
            for name in servers:
                make = load.webhook_body if name == "frontdesk-webhook" else load.telegram_body
                async with serve(name, api, event_loop) as server:
                    await new_chats.run(server, sink, make, next(numbers), count // 10)  # warm
                    figures = [
                        await new_chats.run(server, sink, make, next(numbers), count),
                        await same_chats.run(server, sink, make, next(numbers), count),
                    ]
                    if name == "frontdesk-telegram" and round_ == 0:
                        rate = (figures[0].e2e_per_s or figures[0].acks_per_s) / 2
                    figures.append(
                        await half_peak.run(server, sink, make, next(numbers), rate, OPEN_SECONDS)
                    )
                    if name == "frontdesk-telegram":
                        figures.append(await intake.run(server, sink, make, next(numbers), count))
                for f in figures:
                    results[(f.server, f.scenario.split(" ")[0])].append(f)
                    print(
                        f"  round {round_ + 1} {f.server:19} {f.scenario:22} "
                        f"e2e/s {f.e2e_per_s or 0:6.0f} ack p99 {f.ack_p99_ms:6.1f} ms",
                        flush=True,
                    )
    report(results, rounds)
    print(f"frontdesk's event loop: {event_loop}")
    targets(results)
    print(await machine_line(1000 / rate if rate else 3.0))


def _median(rows: list[Figures], field: str) -> float | None:
    values: list[float | None] = [getattr(r, field) for r in rows]
    present = [v for v in values if v is not None]
    if len(present) < len(values):
        return None
    return statistics.median(present)


def report(results: dict[tuple[str, str], list[Figures]], rounds: int) -> None:
    where = (
        "server on core 0, load on core 1 (taskset)"
        if pinned()
        else "server and load NOT pinned (no taskset)"
    )
    print(
        f"\n{os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}; "
        f"{where}; median of {rounds} round(s)"
    )
    head = (
        f"{'server':19} {'scenario':22} {'acks/s':>7} {'e2e/s':>6} {'CPU ms':>6} "
        f"{'ack p50':>7} {'ack p99':>7} {'e2e p99':>7} {'GC max':>6} {'RSS MB':>6} "
        f"{'e2e/aio':>7} {'CPU/aio':>7} {'non-200':>7}"
    )
    print(head)
    print("-" * len(head))

    def fmt(v: float | None, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    for (server, kind), rows in sorted(
        results.items(), key=lambda i: (i[0][1], ORDER.index(i[0][0]))
    ):
        aio = results.get(("aiogram", kind))
        e2e, cpu = _median(rows, "e2e_per_s"), _median(rows, "cpu_ms")
        e2e_ratio = cpu_ratio = None
        if aio:
            aio_e2e, aio_cpu = _median(aio, "e2e_per_s"), _median(aio, "cpu_ms")
            e2e_ratio = e2e / aio_e2e if e2e and aio_e2e else None
            cpu_ratio = cpu / aio_cpu if cpu and aio_cpu else None
        print(
            f"{server:19} {rows[0].scenario:22} {fmt(_median(rows, 'acks_per_s'), '7.0f')} "
            f"{fmt(e2e, '6.0f'):>6} {fmt(cpu, '6.2f'):>6} "
            f"{fmt(_median(rows, 'ack_p50_ms'), '7.1f'):>7} "
            f"{fmt(_median(rows, 'ack_p99_ms'), '7.1f'):>7} "
            f"{fmt(_median(rows, 'e2e_p99_ms'), '7.1f'):>7} "
            f"{fmt(max(r.gc_ms for r in rows), '6.1f'):>6} "
            f"{fmt(_median(rows, 'rss_mb'), '6.0f'):>6} "
            f"{fmt(e2e_ratio, '7.2f'):>7} {fmt(cpu_ratio, '7.2f'):>7} "
            f"{sum(r.refused for r in rows):7d}"
        )
    print(
        "ack: HTTP answer to the update; e2e: the reply reached the fake Bot API / receiver;"
        " CPU ms: server CPU per message; GC max: longest collection in the window;"
        " */aio: against the aiogram bot in the same scenario"
    )


def targets(results: dict[tuple[str, str], list[Figures]]) -> None:
    """The targets this benchmark was built to check, against this run's medians; then what
    the run says about the open loop's two: how busy frontdesk's core was at half of its peak,
    and what the bare server, which runs no code of frontdesk's, pays for requests that come
    alone instead of together."""

    def med(server: str, kind: str, field: str) -> float | None:
        rows = results.get((server, kind))
        return _median(rows, field) if rows else None

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    closed = ("new", "1,000")
    checks: list[tuple[str, float | None, str, float]] = []
    for server, goal in (("frontdesk-telegram", 1.2), ("frontdesk-webhook", 1.8)):
        worst = min(
            (r for k in closed if (r := ratio(med(server, k, "e2e_per_s"),
                                              med("aiogram", k, "e2e_per_s"))) is not None),
            default=None,
        )  # fmt: skip
        checks.append(
            (f"{server} e2e against the aiogram bot (worse closed loop)", worst, ">=", goal)
        )
    saturated = min(
        (v for k in closed if (v := med("frontdesk-telegram", k, "cpu_ms")) is not None),
        default=None,
    )
    open_cpu = med("frontdesk-telegram", "open", "cpu_ms")
    checks.append(
        (
            "telegram CPU/message at half peak against saturated",
            ratio(open_cpu, saturated),
            "<=",
            1.3,
        )
    )
    checks.append(
        (
            "telegram ack p99 at half peak, ms",
            med("frontdesk-telegram", "open", "ack_p99_ms"),
            "<=",
            10.0,
        )
    )
    gc_max = max(
        (
            r.gc_ms
            for (server, _), rows in results.items()
            if server.startswith("frontdesk")
            for r in rows
        ),
        default=None,
    )
    checks.append(("longest GC pause in frontdesk, ms", gc_max, "<=", 20.0))
    best_e2e = max(
        (v for k in closed if (v := med("frontdesk-telegram", k, "e2e_per_s")) is not None),
        default=None,
    )
    checks.append(
        (
            "intake under 429 against telegram e2e",
            ratio(med("frontdesk-telegram", "intake,", "acks_per_s"), best_e2e),
            ">=",
            3.0,
        )
    )
    print("targets:")
    for name, value, op, goal in checks:
        held = value is not None and (value >= goal if op == ">=" else value <= goal)
        shown = "-" if value is None else f"{value:.2f}"
        print(f"  {'held' if held else 'MISSED':6} {name}: {shown} (target {op} {goal:g})")
    rate = med("frontdesk-telegram", "open", "e2e_per_s")
    if open_cpu is not None and rate:
        print(
            f"  telegram's core at half peak: {open_cpu * rate / 10:.0f} % busy"
            f" ({open_cpu:.2f} CPU ms a message x {rate:.0f} messages/s)"
        )
    bare = ratio(
        med("bare", "open", "cpu_ms"),
        min((v for k in closed if (v := med("bare", k, "cpu_ms")) is not None), default=None),
    )
    if bare is not None:
        print(f"  bare server's CPU/request at half peak against saturated: {bare:.2f}")


async def machine_line(pause_ms: float) -> str:
    """`tests.bench.machine` at the open loop's pace, in a process of its own."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bench.machine", "--pause-ms", f"{pause_ms:.2f}",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    return "this machine: " + out.decode().strip()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--count", type=int, default=3000, help="messages per closed scenario")
    parser.add_argument(
        "--servers",
        help=f"a comma-separated subset of {','.join(ORDER)}, in that order (default: all)",
    )
    parser.add_argument(
        "--event-loop", choices=("auto", "asyncio", "uvloop"), default="auto", help="frontdesk's"
    )
    args = parser.parse_args()
    chosen = set(args.servers.split(",")) if args.servers else set(ORDER)
    if not chosen <= set(ORDER) or "frontdesk-telegram" not in chosen:
        parser.error(f"--servers: names of {', '.join(ORDER)}, frontdesk-telegram among them")
    servers = tuple(name for name in ORDER if name in chosen)
    asyncio.run(main(args.rounds, args.count, args.event_loop, servers))
