"""Benchmark: one Telegram bot's burst through 1 and 3 `frontdesk serve` replicas on one
PostgreSQL, against the bot's limit, on the system's clock.

Each setup gets a fresh PostgreSQL schema, its replicas (each its own process) with the demo's
route-by-team workflow and a telegram channel whose Bot API is the fake one in this process,
and CHATS customers writing at the same moment, their updates spread over the replicas in
turn. Each customer gets the welcome and the question. Prints the most sendMessage calls the
fake received in any one second (Telegram allows 30; the replicas share the limit), the
fewest seconds between two messages to one chat, and how long the burst took. Loopback only;
bounded in time.

    .venv/bin/python -m tests.bench.replica_burst --chats 90
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp

from adapters.telegram.inbound import SECRET_HEADER
from tests.adapters.telegram.fake_bot_api import Call
from tests.adapters.telegram.fake_bot_api import serving as fake_bot_api
from tests.adapters.telegram.fakes import SECRET_TOKEN, message_update
from tests.support.postgres import scratch_schema
from tests.support.process import free_port, listen_on, serving, until_healthy
from tests.support.replicas import ENV, SQLITE_STORE
from tests.support.telegram import write_telegram_config

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "deploy" / "demo" / "workflows" / "route-by-team.yaml"


async def run_setup(replicas: int, chats: int, limit: float) -> list[Call]:
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    try:
        async with AsyncExitStack() as stack:
            api = await stack.enter_async_context(fake_bot_api())
            settings = await stack.enter_async_context(scratch_schema())
            config = write_telegram_config(
                folder, api.url, WORKFLOW.read_text(), per_chat_interval_seconds=1.0
            )
            store = (
                "store: {type: postgres, dsn: '${FRONTDESK_DATABASE_URL}', "
                f"schema: {settings.schema_name}}}"
            )
            config.write_text(config.read_text().replace(SQLITE_STORE, store))
            session = await stack.enter_async_context(aiohttp.ClientSession())
            urls = []
            for n in range(replicas):
                replica = config.with_name(f"replica{n}.yaml")
                replica.write_text(config.read_text())
                urls.append(listen_on(replica, free_port()))
                log = folder / f"replica{n}.log"
                await stack.enter_async_context(
                    serving(replica, log, "--log-level", "WARNING", env=ENV)
                )
            for url in urls:
                await until_healthy(session, url)
            turn = itertools.cycle(urls)

            async def write(n: int, url: str) -> None:
                user = {"id": 10_000 + n, "is_bot": False, "first_name": "Cy"}
                update = message_update(
                    n, chat={"id": user["id"], "type": "private"}, sender=user, text="hi"
                )
                headers = {SECRET_HEADER: SECRET_TOKEN, "Content-Type": "application/json"}
                async with session.post(
                    f"{url}/telegram/updates", data=json.dumps(update), headers=headers
                ) as response:
                    assert response.status == 200, await response.text()

            await asyncio.gather(*(write(n, next(turn)) for n in range(1, chats + 1)))
            return await api.wait_for("sendMessage", 2 * chats, within=limit)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(replicas: int, sent: list[Call]) -> str:
    times = sorted(call.at for call in sent)
    most = max(sum(1 for t in times[i:] if t < start + 1) for i, start in enumerate(times))
    by_chat: dict[str, list[float]] = {}
    for call in sent:
        by_chat.setdefault(str(call.params["chat_id"]), []).append(call.at)
    closest = min(
        later - earlier
        for calls in by_chat.values()
        for earlier, later in itertools.pairwise(sorted(calls))
    )
    return (
        f"{replicas:>8} {len(times):>6} {most:>17} {closest:>21.2f} {times[-1] - times[0]:>13.2f}"
    )


async def main(chats: int, limit: float) -> None:
    print(f"{chats} chats, 2 messages each, {os.cpu_count()} cores (os.cpu_count())")
    print(
        f"{'replicas':>8} {'calls':>6} {'most in 1 s (30)':>17} {'closest in a chat (s)':>21}"
        f" {'first-last s':>13}"
    )
    for replicas in (1, 3):
        print(report(replicas, await run_setup(replicas, chats, limit)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--chats", type=int, default=90)
    parser.add_argument("--limit", type=float, default=120.0, help="seconds per setup, at most")
    args = parser.parse_args()
    asyncio.run(main(args.chats, args.limit))
