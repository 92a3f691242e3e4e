"""Benchmark: what a message costs at a steady rate, from a trickle up to the core's limit.
One server of the comparison's (`frontdesk serve` with the Telegram channel by default),
pinned like there, takes an open loop (new chats, latency counted from when each update was
due) at each rate in turn; it prints the server's CPU per message, how busy that keeps its
core, and the acknowledgement p50/p99.

    .venv/bin/python -m tests.bench.rates --rates 100,200,450,650,900 --seconds 6
    .venv/bin/python -m tests.bench.rates --server bare
"""

from __future__ import annotations

import argparse
import asyncio
import os

from tests.bench import half_peak, load
from tests.bench.servers import TARGETS, pinned, serve
from tests.bench.sink import Sink
from tests.support.serve import serving_app


async def main(name: str, rates: list[float], seconds: float) -> None:
    if pinned():
        os.sched_setaffinity(0, {1})
    sink = Sink()
    make = load.webhook_body if name == "frontdesk-webhook" else load.telegram_body
    first = 1
    async with serving_app(sink.app()) as api, serve(name, api) as server:
        await half_peak.run(server, sink, make, first, rates[0], 2)  # warm up
        print(f"{'rate/s':>7} {'CPU ms':>7} {'core busy':>9} {'ack p50':>7} {'ack p99':>7}")
        for rate in rates:
            first += 10**6
            f = await half_peak.run(server, sink, make, first, rate, seconds)
            busy = f.cpu_ms * rate / 10
            print(
                f"{rate:7.0f} {f.cpu_ms:7.2f} {busy:8.0f}% {f.ack_p50_ms:7.1f} {f.ack_p99_ms:7.1f}",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=TARGETS, default="frontdesk-telegram")
    parser.add_argument("--rates", default="100,200,450,650,900")
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    asyncio.run(main(args.server, [float(r) for r in args.rates.split(",")], args.seconds))
