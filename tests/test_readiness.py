"""/readyz names what stopped: a channel's poller, a loop of the runtime."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.support.harness import Running, running
from tests.support.telegram import write_telegram_config


async def readiness(fd: Running) -> tuple[int, dict[str, object]]:
    async with fd.session.get(f"{fd.url}/readyz") as response:
        return response.status, await response.json()


async def stop_task(name: str) -> None:
    """Stop a background task by its name, as a crash it did not survive would."""
    [task] = [t for t in asyncio.all_tasks() if t.get_name() == name]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_channel_whose_poller_stopped_is_not_ready(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team, mode="polling")
    async with running(config) as fd:
        assert await readiness(fd) == (200, {"status": "ready"})

        await stop_task("telegram-poller:telegram")

        status, body = await readiness(fd)
        assert status == 503
        assert body["problems"] == ["channel telegram: its poller is not running"]
        async with fd.session.get(f"{fd.url}/healthz") as response:
            assert response.status == 200


async def test_a_stopped_loop_of_the_runtime_is_not_ready(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team, mode="polling")
    async with running(config) as fd:
        await stop_task("frontdesk:outbox")

        status, body = await readiness(fd)
        assert status == 503
        assert body["reason"] == "runtime: the outbox loop has stopped"
