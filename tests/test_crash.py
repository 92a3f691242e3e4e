"""A real `frontdesk serve` process killed with SIGKILL mid-journey, then restarted: the
journey resumes, nothing accepted is lost, and no message reaches the receiver twice."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import aiohttp

from tests.support.harness import event, post_event, write_config
from tests.support.process import free_port, listen_on, serving, until_healthy
from tests.support.receiver import Receiver


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, object]) -> int:
    status, _ = await post_event(session, url, body)
    return status


async def test_kill_and_restart_mid_journey(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    url = listen_on(config, free_port())
    log = tmp_path / "frontdesk.log"
    async with aiohttp.ClientSession() as session:
        async with serving(config, log) as process:
            await until_healthy(session, url)
            assert await post(session, url, event("c-1", "Hello", name="Ana")) == 200
            await receiver.wait_for_texts("c-1", 2)
            # The receiver goes down: the next replies stay in the outbox...
            receiver.script = [503] * 1000
            assert await post(session, url, event("c-1", "support")) == 200
            await receiver.wait_until(lambda r: len(r.attempts) >= 3)
            # ...and another customer's first message is accepted just before the crash.
            assert await post(session, url, event("c-2", "Hi")) == 200
            os.kill(process.pid, signal.SIGKILL)
            await process.wait()
        receiver.script = []
        async with serving(config, log):
            await until_healthy(session, url)
            texts = await receiver.wait_for_texts("c-1", 3)
            assert texts[2] == "Thanks! Carol from Support will help you shortly."
            await receiver.wait_for_texts("c-2", 2)
            assert await post(session, url, event("c-2", "sales")) == 200
            texts = await receiver.wait_for_texts("c-2", 3)
            assert texts[2] == "Thanks! Alice from Sales will help you shortly."
    assert receiver.repeats == 0
    ids = [m["message_id"] for m in receiver.messages]
    assert len(ids) == len(set(ids)) == 6
    assert "Traceback" not in log.read_text()
