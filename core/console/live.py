"""Live updates for the console: every committed turn and agent status change, pushed to the
browsers that listen (Server-Sent Events)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from core.agents import Agent
from core.metrics import Metrics
from core.reporting import Reporter
from core.turn import TurnReport

QUEUE_SIZE = 256


class Feed:
    """Fan-out to the listeners of the moment; one that falls behind loses updates rather
    than holding up the turns (its page fetches the current state anyway)."""

    def __init__(self) -> None:
        self._listeners: set[asyncio.Queue[str | None]] = set()

    def listen(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_SIZE)
        self._listeners.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[str | None]) -> None:
        self._listeners.discard(queue)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        if not self._listeners:  # every turn publishes; most of the time nobody watches
            return
        message = f"event: {kind}\ndata: {json.dumps(data)}\n\n"
        for queue in self._listeners:
            if not queue.full():
                queue.put_nowait(message)

    def close(self) -> None:
        """Tell every listener to stop (the server is shutting down)."""
        for queue in self._listeners:
            while queue.full():
                queue.get_nowait()
            queue.put_nowait(None)


class LiveReporter(Reporter):
    """The operator's reporter, which also tells the console's listeners."""

    def __init__(self, feed: Feed, metrics: Metrics | None = None) -> None:
        super().__init__(metrics)
        self.feed = feed

    def turn(self, report: TurnReport) -> None:
        super().turn(report)
        kinds = [event.kind for event in report.events]
        self.feed.publish("conversation", {"id": report.conversation_id, "events": kinds})

    def agent_status(self, agent: Agent, why: str | None = None) -> None:
        super().agent_status(agent, why)
        self.feed.publish("agent", {"id": agent.id, "status": agent.status.value})
