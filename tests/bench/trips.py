"""Benchmark: trips to the SQLite store's worker thread per message.

aiosqlite runs every statement on one worker thread; each call into it is a hand-off from
the event loop to the thread and back (`Connection._execute`). This runs frontdesk in this
process on a SQLite file, with the compare bench's workflow (every message gets exactly one
reply) and a sink for the replies, sends messages one at a time (each waits for its reply
and its delivery to be recorded), and counts the calls into the worker, per message and by
the store function that made them.

    .venv/bin/python -m tests.bench.trips --count 200
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite

from core.app import build
from core.config import load_config
from tests.bench import load
from tests.bench.servers import TELEGRAM, WORKFLOW
from tests.bench.sink import Sink
from tests.support.harness import write_config
from tests.support.serve import serving_app, start_app

ROOT = Path(__file__).resolve().parents[2]


class Trips:
    """Counts calls into aiosqlite's worker thread, each under the store function (the
    first frame in storage/) that made it."""

    def __init__(self) -> None:
        self.total = 0
        self.by_caller: Counter[str] = Counter()
        self.counting = False
        self._original: Callable[..., Awaitable[Any]] = aiosqlite.Connection._execute

    def install(self) -> None:
        original, trips = self._original, self

        async def counted(conn: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            if trips.counting:
                trips.total += 1
                trips.by_caller[_caller()] += 1
            return await original(conn, fn, *args, **kwargs)

        aiosqlite.Connection._execute = counted  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        aiosqlite.Connection._execute = self._original  # type: ignore[method-assign,assignment]


def _written() -> int:
    """Bytes this process has written so far, through any file (`wchar`: the WAL's frames,
    the shared-memory index, sockets too)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def _caller() -> str:
    frame = sys._getframe(2)
    found = "?"
    while frame is not None:
        path = frame.f_code.co_filename
        if "/storage/" in path and not path.endswith("connection.py"):
            found = f"{Path(path).parent.name}/{Path(path).name}:{frame.f_code.co_name}"
        elif "/core/" in path and found != "?":
            return f"{found} <- {Path(path).stem}.{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return found


async def path_trips(name: str, count: int, trips: Trips) -> None:
    sink = Sink()
    runner, api = await start_app(sink.app())
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-trips-"))
    telegram = name == "telegram"
    channels = TELEGRAM.format(api=api) if telegram else ""
    config = write_config(folder, f"{api}/callback", {"ask": WORKFLOW}, channels=channels)
    frontdesk = build(load_config(config))
    make: Callable[[int, int], tuple[bytes, dict[str, str]]]
    make = load.telegram_body if telegram else load.webhook_body
    route = "/telegram/updates" if telegram else "/webhook/events"
    try:
        async with serving_app(frontdesk.app) as url, aiohttp.ClientSession() as session:
            outbox = frontdesk.runtime.outbox

            async def one(n: int) -> None:
                body, headers = make(n, load.FIRST_CHAT)
                replies = sink.replies
                async with session.post(url + route, data=body, headers=headers) as response:
                    assert response.status == 200, await response.text()
                # Its reply arrived and the delivery is recorded (the outbox's loop settles
                # on its own; what it does in between is counted with the next message).
                # The sink has no event to wait on: polled every millisecond.
                while sink.replies == replies or outbox.delivering:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)
                await frontdesk.runtime.idle()

            for n in range(1, 6):  # warm up: first conversation, first compilations
                await one(n)
            trips.total, trips.by_caller = 0, Counter()
            trips.counting = True
            started = time.perf_counter()
            wrote = _written()
            for n in range(6, 6 + count):
                await one(n)
            await asyncio.sleep(0.2)  # the outbox loop's last look for more work
            trips.counting = False
            wrote = _written() - wrote
            seconds = time.perf_counter() - started
    finally:
        await runner.cleanup()
    print(
        f"{name}: {count} messages one at a time, {trips.total / count:.2f} store trips per"
        f" message ({count / seconds:.0f} messages/s), {wrote / count / 1024:.1f} KiB written"
        " per message"
    )
    for caller, calls in trips.by_caller.most_common():
        print(f"  {calls / count:5.2f}  {caller}")


async def main(count: int) -> None:
    trips = Trips()
    trips.install()
    try:
        for name in ("webhook", "telegram"):
            await path_trips(name, count, trips)
    finally:
        trips.uninstall()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.count))
