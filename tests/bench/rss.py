"""Resting memory of `frontdesk serve`: the resident set (VmRSS) of a server with only the
webhook channel, with a Telegram channel (webhook mode) beside it, and with a Slack channel
beside it, each its own process on 127.0.0.1 against the fake platform APIs. Read once the
server listens and has settled, and again after it has handled a few conversations (each
opened by a message and answered with a question with buttons), so that anything imported
on first use counts too.

    .venv/bin/python -m tests.bench.rss [--conversations 20] [--event-loop asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.adapters.slack.fake_web_api import serving as serving_slack
from tests.adapters.telegram.fake_bot_api import serving as serving_bot_api
from tests.adapters.telegram.fakes import SECRET_TOKEN, text_update
from tests.bench.servers import TELEGRAM, WORKFLOW, _until_listening
from tests.support.harness import event, post_event, write_config
from tests.support.process import free_port, listen_on
from tests.support.slack import slack_channel

ROOT = Path(__file__).resolve().parents[2]
SETTLE_SECONDS = 2.0

Traffic = Callable[[aiohttp.ClientSession, str, int], Awaitable[None]]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@asynccontextmanager
async def server(channels: str, callback: str, event_loop: str) -> AsyncIterator[tuple[int, str]]:
    """`frontdesk serve` with the webhook channel and `channels`; yields its pid and URL."""
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-rss-"))
    port = free_port()
    config = write_config(folder, callback, {"ask": WORKFLOW}, channels=channels)
    url = listen_on(config, port)
    command = [str(Path(sys.executable).with_name("frontdesk")), "--log-level", "WARNING", "serve"]
    process = await asyncio.create_subprocess_exec(
        *command,
        "--config",
        str(config),
        "--event-loop",
        event_loop,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=folder.joinpath("log").open("wb"),
    )
    try:
        await _until_listening(port, process)
        await asyncio.sleep(SETTLE_SECONDS)
        yield process.pid, url
    finally:
        process.terminate()
        await process.wait()


async def telegram_traffic(http: aiohttp.ClientSession, url: str, count: int) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET_TOKEN}
    for n in range(count):
        sender = {"id": 5000 + n, "is_bot": False, "first_name": "Ana"}
        update = text_update(
            n + 1, "hello", chat={"id": 5000 + n, "type": "private"}, sender=sender
        )
        async with http.post(f"{url}/telegram/updates", json=update, headers=headers) as answer:
            answer.raise_for_status()


async def webhook_traffic(http: aiohttp.ClientSession, url: str, count: int) -> None:
    for n in range(count):
        status, _ = await post_event(http, url, event(f"c{n}", "hello"))
        if status >= 300:
            raise RuntimeError(f"the webhook answered {status}")


@dataclass(frozen=True)
class Run:
    count: int
    event_loop: str


async def measure(
    name: str, channels: str, callback: str, traffic: Traffic | None, run: Run
) -> None:
    async with server(channels, callback, run.event_loop) as (pid, url):
        resting = rss_mb(pid)
        after = "-"
        if traffic is not None:
            async with aiohttp.ClientSession() as http:
                await traffic(http, url, run.count)
            await asyncio.sleep(SETTLE_SECONDS)
            after = f"{rss_mb(pid):.0f}"
    print(f"{name:<24} {resting:>10.0f} {after:>14}", flush=True)


async def main(run: Run) -> None:
    print(f"event loop: {run.event_loop}")
    print(f"{'frontdesk serve with':<24} {'rest (MB)':>10} {f'after {run.count} (MB)':>14}")
    async with serving_bot_api() as bot_api, serving_slack() as slack_api:
        callback = f"{bot_api.url}/callback"  # answered 404; the outbox retries in the background
        await measure("webhook only", "", callback, webhook_traffic, run)
        await measure(
            "webhook + telegram",
            TELEGRAM.format(api=bot_api.url),
            callback,
            telegram_traffic,
            run,
        )
        await measure("webhook + slack", slack_channel(slack_api.url), callback, None, run)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--event-loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    args = parser.parse_args()
    asyncio.run(main(Run(args.conversations, args.event_loop)))
