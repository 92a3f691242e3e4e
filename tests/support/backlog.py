"""A frontdesk whose backlog fills on demand: a bound set in its config, a gate before every
inbound turn, and a watch on the poller's wait for room."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from core.models import StoredInbound
from core.runtime import Runtime
from core.turn import TurnReport


def bounded(config: Path, bound: int) -> Path:
    """The config with a backlog of `bound` events, and no grace at stop for held turns."""
    text = config.read_text().replace(
        "server: {host: 127.0.0.1, port: 0}",
        f"server: {{host: 127.0.0.1, port: 0, max_backlog: {bound}, shutdown_grace_seconds: 0}}",
    )
    config.write_text(text)
    return config


class Held:
    """A gate before every inbound turn of a runtime: nothing is processed until `release`
    (all at once) or `let` (that many turns more)."""

    def __init__(self, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
        self._turns = asyncio.Semaphore(0)
        self._waiting = 0
        self._open = False
        process: Callable[[StoredInbound], Awaitable[TurnReport | None]]
        process = runtime.engine.process_inbound

        async def held(item: StoredInbound) -> TurnReport | None:
            if not self._open:
                self._waiting += 1
                try:
                    await self._turns.acquire()
                finally:
                    self._waiting -= 1
            return await process(item)

        monkeypatch.setattr(runtime.engine, "process_inbound", held)

    def let(self, turns: int) -> None:
        for _ in range(turns):
            self._turns.release()

    def release(self) -> None:
        self._open = True
        self.let(self._waiting)


class RoomWatch:
    """Watches the runtime's `room`, which a Telegram poller awaits before every getUpdates:
    whether the poller is parked in it now, and how long the backlog was each time it let
    the poller go on."""

    def __init__(self, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parked = 0
        self.let_on_at: list[int] = []
        room = runtime.room

        async def watched() -> None:
            self.parked += 1
            try:
                await room()
            finally:
                self.parked -= 1
            self.let_on_at.append(len(runtime.backlog))

        monkeypatch.setattr(runtime, "room", watched)
