"""Benchmark: Slack requests through a real `frontdesk serve`, with the Web API faked locally.

Starts frontdesk as its own process on 127.0.0.1 with a Slack channel (slack-bolt verifying
every signature) and a desk, and the fake Web API in this process. Customers write to the
app in direct messages, then answer the question by pressing a button, which assigns them
and sends the agents their handoff notices. Prints how fast Slack's requests are
acknowledged (stored, 200) and how long the slowest acknowledgements took (Slack wants them
within 3 seconds), and how fast everything reached the Web API. Slack's pacing (a message a
second per channel, `per_bot_per_second` in all) is off here, so that the figures are
frontdesk's own. Bounded in count and time; loopback only.

    .venv/bin/python -m tests.bench.slack --customers 1000 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from tests.adapters.slack.fake_web_api import FakeWebApi, Message, serving
from tests.support.process import free_port, listen_on, until_healthy
from tests.support.process import serving as frontdesk_serving
from tests.support.slack import SlackClient, buttons, slack_desk_config

AGENTS = 8
DIRECTORY = "agents:\n" + "".join(
    f"  a{n}: {{name: Agent {n}, status: online, desk: {{slack: UAGENT{n}}}}}\n"
    for n in range(AGENTS)
)
DIRECTORY += "teams:\n  support: {agents: [" + ", ".join(f"a{n}" for n in range(AGENTS)) + "]}\n"


async def main(customers: int, concurrency: int, limit: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    try:
        async with serving(FakeWebApi()) as api:
            config = slack_desk_config(
                folder,
                "http://127.0.0.1:9/unused",
                api.url,
                DIRECTORY,
                # Slack's own pacing off: the figures are frontdesk's.
                channels="    per_bot_per_second: 100000\n",
            )
            url = listen_on(config, free_port())
            async with (
                frontdesk_serving(config, None, "--log-level", "WARNING"),
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session,
            ):
                await until_healthy(session, url)
                slack = SlackClient(session, f"{url}/slack/events")
                await run(api, slack, customers, concurrency, limit)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def run(
    api: FakeWebApi, slack: SlackClient, customers: int, concurrency: int, limit: float
) -> None:
    users = [f"UCUST{n:06d}" for n in range(customers)]
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def timed(request: Callable[[], Awaitable[tuple[int, str]]]) -> None:
        async with gate:  # timed from when a client has a connection, not in the queue
            started = time.perf_counter()
            status, body = await request()
            latencies.append(time.perf_counter() - started)
        assert status == 200, body

    async def wait_for(check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + limit
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError("the Web API did not get everything in time")
            await asyncio.sleep(0.02)

    def questions() -> list[Message]:
        return [m for m in api.messages if "fd_option_1" in buttons(m.blocks)]

    started = time.perf_counter()
    await asyncio.gather(
        *(timed(functools.partial(slack.message, user, f"D{user}", "hi")) for user in users)
    )
    await wait_for(lambda: len(questions()) >= customers)
    asked = time.perf_counter() - started

    by_place = {m.channel: m for m in questions()}
    presses = []
    for user in users:
        question = by_place[api.dm_of(user)]
        value = buttons(question.blocks)["fd_option_1"]
        press = functools.partial(
            slack.press,
            user,
            "fd_option_1",
            value,
            channel=question.channel,
            message_ts=question.ts,
        )
        presses.append(timed(press))
    pressed_at = time.perf_counter()
    await asyncio.gather(*presses)

    def notices() -> int:
        return sum(1 for m in api.messages if "fd_accept" in buttons(m.blocks))

    await wait_for(lambda: notices() >= customers)
    done = time.perf_counter() - started
    routed = time.perf_counter() - pressed_at

    requests = 2 * customers
    acked = sorted(latencies)
    print(f"customers: {customers}, {requests} signed Slack requests, {AGENTS} agents")
    print(f"questions delivered        : {customers / asked:8.0f} customers/s ({asked:.2f} s)")
    print(f"pressed, assigned, notified: {customers / routed:8.0f} customers/s ({routed:.2f} s)")
    print(f"requests end to end        : {requests / done:8.0f} requests/s ({done:.2f} s)")
    print(
        "acknowledged (stored, 200) : "
        f"median {statistics.median(acked) * 1000:.0f} ms, "
        f"p99 {acked[int(len(acked) * 0.99) - 1] * 1000:.0f} ms, "
        f"max {acked[-1] * 1000:.0f} ms"
    )
    calls = len(api.calls)
    methods = Counter(call.method for call in api.calls)
    print(f"Web API calls              : {calls} ({json.dumps(methods)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--limit", type=float, default=120.0, help="seconds before giving up")
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.concurrency, args.limit))
