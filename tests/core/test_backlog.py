"""The inbox backlog's bound: full at the bound, and room for pollers again only once it
has drained a tenth of the bound below it (so that a poller does not ask for every event)."""

from __future__ import annotations

import asyncio

import pytest

from core.backlog import Backlog


async def has_room(backlog: Backlog) -> bool:
    """Whether `room()` returns without waiting: it is given one pass of the loop."""
    waiter = asyncio.ensure_future(backlog.room())
    await asyncio.sleep(0)
    done = waiter.done()
    waiter.cancel()
    return done


# (rule, bound, events added, events then processed, full, room for pollers)
LEVELS: list[tuple[str, int, int, int, bool, bool]] = [
    ("empty", 10, 0, 0, False, True),
    ("below the bound", 10, 9, 0, False, True),
    ("at the bound: full", 10, 10, 0, True, False),
    ("one processed, a tenth not yet: no room", 20, 20, 1, False, False),
    ("a tenth of the bound processed: room again", 20, 20, 2, False, True),
    ("a bound of 1 frees at once", 1, 1, 1, False, True),
    ("a small bound waits for one event", 5, 5, 1, False, True),
    ("a large bound waits for a tenth", 100, 100, 9, False, False),
    ("a large bound, a tenth processed", 100, 100, 10, False, True),
]


@pytest.mark.parametrize(
    ("bound", "added", "processed", "full", "room"),
    [r[1:] for r in LEVELS],
    ids=[r[0] for r in LEVELS],
)
async def test_the_backlog_bound(
    bound: int, added: int, processed: int, full: bool, room: bool
) -> None:
    backlog = Backlog(bound)
    for n in range(added):
        backlog.add(n)
    for n in range(processed):
        backlog.discard(n)
    assert len(backlog) == added - processed
    assert backlog.full is full
    assert await has_room(backlog) is room


def test_an_event_counts_once() -> None:
    backlog = Backlog(3)
    backlog.add(7)
    backlog.add(7)
    backlog.discard(8)
    assert (len(backlog), 7 in backlog, 8 in backlog) == (1, True, False)
