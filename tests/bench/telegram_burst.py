"""Benchmark: a burst of Telegram chats against the bot's limit, on the system's clock.

A frontdesk in this process (SQLite file, aiohttp on 127.0.0.1) with the demo's route-by-team
workflow and a telegram channel whose Bot API is the fake one, also on 127.0.0.1. CHATS
customers write at the same moment; each gets the welcome and the question. Prints the most
sendMessage calls the fake received in any one second (Telegram allows 30) and how long the
burst took. Bounded in count and time; loopback only.

    .venv/bin/python -m tests.bench.telegram_burst --chats 45
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
from pathlib import Path

import aiohttp

from adapters.telegram.inbound import SECRET_HEADER
from core.app import build
from core.clock import SystemClock
from core.config import load_config
from tests.adapters.telegram.fake_bot_api import serving as fake_bot_api
from tests.adapters.telegram.fakes import SECRET_TOKEN, message_update
from tests.support.serve import serving_app
from tests.support.telegram import write_telegram_config

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "deploy" / "demo" / "workflows" / "route-by-team.yaml"


async def main(chats: int, interval: float, limit: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    try:
        async with fake_bot_api() as api:
            config = write_telegram_config(
                folder, api.url, WORKFLOW.read_text(), per_chat_interval_seconds=interval
            )
            frontdesk = build(load_config(config), SystemClock())
            async with serving_app(frontdesk.app) as url, aiohttp.ClientSession() as session:

                async def write(n: int) -> None:
                    user = {"id": 10_000 + n, "is_bot": False, "first_name": "Cy"}
                    update = message_update(
                        n, chat={"id": user["id"], "type": "private"}, sender=user, text="hi"
                    )
                    headers = {SECRET_HEADER: SECRET_TOKEN, "Content-Type": "application/json"}
                    async with session.post(
                        f"{url}/telegram/updates", data=json.dumps(update), headers=headers
                    ) as response:
                        assert response.status == 200, await response.text()

                await asyncio.gather(*(write(n) for n in range(1, chats + 1)))
                sent = await api.wait_for("sendMessage", 2 * chats, within=limit)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    times = sorted(call.at for call in sent)
    most = max(sum(1 for t in times[i:] if t < start + 1) for i, start in enumerate(times))
    print(f"chats: {chats}, per-chat interval {interval:g} s, sendMessage calls: {len(times)}")
    print(f"most calls in any one second: {most} (Telegram allows 30)")
    print(f"first to last call          : {times[-1] - times[0]:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=45)
    parser.add_argument("--interval", type=float, default=1.0, help="per-chat seconds")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds before giving up")
    args = parser.parse_args()
    asyncio.run(main(args.chats, args.interval, args.limit))
