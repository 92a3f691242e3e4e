"""`frontdesk serve` with Telegram channels never imports aiogram (nor python-telegram-bot):
their types alone cost some 100 MB of memory at rest. Checked in a child process, after it
has served updates through a webhook and a polling channel, sent replies with buttons,
followed up a button press and met refused calls."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp

from adapters.telegram.inbound import SECRET_HEADER
from tests.adapters.telegram.fake_bot_api import TOKEN, FakeBotApi
from tests.adapters.telegram.fakes import SECRET_TOKEN, button_update, message_update
from tests.support.process import free_port, listen_on, until_healthy
from tests.support.telegram import telegram_channel, write_telegram_config

# `frontdesk serve`, writing the modules it has loaded to $MODULES_FILE as it exits.
SERVE = """
import atexit, json, os, sys
from core.cli import main

def written() -> None:
    with open(os.environ["MODULES_FILE"], "w") as out:
        json.dump(sorted(sys.modules), out)

atexit.register(written)
sys.argv = ["frontdesk", *sys.argv[1:]]
main()
"""

POLLING = f"""
  telegram_polled:
    type: telegram
    token: "{TOKEN}"
    mode: polling
    base_url: {{url}}
    per_chat_interval_seconds: 0
"""


def sdk_modules(names: list[str]) -> list[str]:
    return [n for n in names if n.split(".")[0] in ("aiogram", "telegram")]


def test_the_check_sees_an_sdk() -> None:
    assert sdk_modules(["aiogram.types.update", "telegram", "adapters.telegram"]) == [
        "aiogram.types.update",
        "telegram",
    ]


async def test_serving_telegram_imports_no_telegram_sdk(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team)
    text = config.read_text().replace(
        telegram_channel(bot_api.url),
        telegram_channel(bot_api.url) + POLLING.format(url=bot_api.url),
    )
    config.write_text(text)
    url = listen_on(config, free_port())
    modules_file = tmp_path / "modules.json"
    with (tmp_path / "log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SERVE,
            "serve",
            "--config",
            str(config),
            env={**os.environ, "MODULES_FILE": str(modules_file)},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    try:
        async with aiohttp.ClientSession() as http:
            await until_healthy(http, url)
            # Refused sends too: the errors a delivery meets are read without the SDK.
            bot_api.fail_next("sendMessage", 429, retry_after=1)
            bot_api.fail_next("answerCallbackQuery", 400)
            headers = {SECRET_HEADER: SECRET_TOKEN}
            for update in (message_update(1, text="hi"), button_update(2, "fd:sales")):
                async with http.post(
                    f"{url}/telegram/updates", json=update, headers=headers
                ) as answer:
                    assert answer.status == 200
            bot_api.queue_update(message_update(3, text="hi", chat={"id": 77, "type": "private"}))
            await bot_api.wait_for("answerCallbackQuery", within=30)
            # Both chats greeted and asked, after the refused send.
            await bot_api.wait_for("sendMessage", 5, within=30)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)

    assert process.returncode == 0, (tmp_path / "log").read_text()[-2000:]
    loaded = json.loads(modules_file.read_text())
    assert "adapters.telegram.channel" in loaded
    assert sdk_modules(loaded) == []
