"""TaskSet: background tasks kept, waited for, and stopped."""

from __future__ import annotations

import asyncio

from core.tasks import TaskSet


async def test_close_lets_quick_tasks_finish_and_stops_the_rest() -> None:
    tasks = TaskSet()
    finished: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0)
        finished.append("quick")

    async def stuck() -> None:
        await asyncio.Event().wait()
        finished.append("stuck")

    tasks.spawn(quick())
    tasks.spawn(stuck())
    await tasks.close(grace=0.05)

    assert finished == ["quick"]
    assert len(tasks) == 0


async def test_join_waits_for_tasks_started_by_tasks() -> None:
    tasks = TaskSet()
    finished: list[str] = []

    async def child() -> None:
        await asyncio.sleep(0)
        finished.append("child")

    async def parent() -> None:
        tasks.spawn(child())
        finished.append("parent")

    tasks.spawn(parent())
    await tasks.join()

    assert finished == ["parent", "child"]
    assert len(tasks) == 0
