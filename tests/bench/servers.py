"""The servers under test, each its own process pinned to one core (where `taskset` works),
run under `tests.bench.gcwatch`: a bare aiohttp 200, the hand-written aiogram bot, and
`frontdesk serve` with the Telegram channel or with the webhook channel only."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.adapters.telegram.fake_bot_api import TOKEN
from tests.adapters.telegram.fakes import SECRET_TOKEN
from tests.support.harness import write_config
from tests.support.process import free_port, listen_on

ROOT = Path(__file__).resolve().parents[2]
SERVER_CORE = "0"
TARGETS = ("bare", "aiogram", "frontdesk-telegram", "frontdesk-webhook")
DATABASE = "frontdesk.db"  # frontdesk's SQLite file, beside its config (`write_config`)

# Each message gets exactly one reply: a new conversation the question (two buttons), an
# answer the thanks, after which the conversation closes and the next message opens one.
WORKFLOW = """
name: ask
trigger: conversation_opened
steps:
  - {id: ask, type: ask_question, text: "Which team would you like to talk to?",
     answer: multiple_choice, save_to: vars.team,
     options: [{id: sales, label: Sales}, {id: support, label: Support}]}
  - {id: thanks, type: send_message, text: "Thanks!"}
  - {id: done, type: close_conversation}
"""

# The aiogram bot has no limiter; Telegram's own limit of 30 a second is lifted here so
# both pay for the same work (the limiter's bookkeeping is still done).
TELEGRAM = f"""
  telegram:
    type: telegram
    token: "{TOKEN}"
    mode: webhook
    secret_token: {SECRET_TOKEN}
    base_url: {{api}}
    per_chat_interval_seconds: 0
    per_bot_per_second: 1000000
"""


@dataclass
class Server:
    name: str
    pid: int
    url: str  # where updates or events are posted
    gc_file: Path

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def longest_gc_ms(self, since: float) -> float:
        """The longest collection (ms) that ended after `since` (unix time)."""
        try:
            lines = self.gc_file.read_text().splitlines()
        except OSError:
            return 0.0
        pauses = [float(p) for at, p in (line.split() for line in lines) if float(at) >= since]
        return max(pauses, default=0.0)


def pinned() -> bool:
    return shutil.which("taskset") is not None and hasattr(os, "sched_setaffinity")


async def _until_listening(port: int, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not come up")


@asynccontextmanager
async def serve(
    name: str,
    api: str,
    event_loop: str = "auto",
    prepare: Callable[[Path], Awaitable[None]] | None = None,
) -> AsyncIterator[Server]:
    """Start `name` (one of TARGETS) with `api` as its Bot API and callback base URL, and
    frontdesk on `event_loop` (`frontdesk serve --event-loop`). `prepare` is handed the
    folder of frontdesk's config (its SQLite file is `DATABASE` there) before it starts."""
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    port = free_port()
    gc_file = folder / "gc-ms"
    watch = [sys.executable, "-m", "tests.bench.gcwatch", str(gc_file)]
    if name == "bare":
        command, path = [*watch, "tests.bench.bare", str(port)], "/telegram/updates"
    elif name == "aiogram":
        command, path = [*watch, "tests.bench.aiogram_bot", str(port), api], "/telegram/updates"
    else:
        telegram = name == "frontdesk-telegram"
        channels = TELEGRAM.format(api=api) if telegram else ""
        config = write_config(folder, f"{api}/callback", {"ask": WORKFLOW}, channels=channels)
        listen_on(config, port)
        if prepare is not None:
            try:
                await prepare(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)  # a copy of a large store, maybe
                raise
        command = [*watch, "frontdesk", "--log-level", "WARNING", "serve", "--config", str(config)]
        command += ["--event-loop", event_loop]
        path = "/telegram/updates" if telegram else "/webhook/events"
    if pinned():
        command = ["taskset", "-c", SERVER_CORE, *command]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=folder.joinpath("log").open("wb"),
    )
    try:
        try:
            await _until_listening(port, process)
        except RuntimeError:
            print(folder.joinpath("log").read_text()[-3000:])
            raise
        await asyncio.sleep(0.5)  # let start-up work (and its collections) settle
        yield Server(name, process.pid, f"http://127.0.0.1:{port}{path}", gc_file)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        shutil.rmtree(folder, ignore_errors=True)
