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


def test_past_what_it_holds_an_event_waits_in_the_store_and_counts() -> None:
    backlog = Backlog(10, hold=4)
    assert [backlog.take(n) for n in range(1, 7)] == [True] * 4 + [False] * 2
    assert backlog.take(2) is False  # held already: not handed over twice
    assert (len(backlog), backlog.wants_refill) == (6, False)
    backlog.discard(1)
    backlog.discard(2)
    assert (backlog.wants_refill, backlog.room_to_hold) == (True, 2)
    assert backlog.left_from() == 5  # forgotten once read: a read that fills the room
    assert backlog.left_from() is None  # must say so (`left_at`), and `take` counts again
    assert [backlog.take(5), backlog.take(6)] == [True, True]
    assert (len(backlog), backlog.wants_refill) == (4, False)


async def test_an_event_processed_while_a_read_of_the_store_was_under_way_is_not_taken_again() -> (
    None
):
    backlog = Backlog(10)
    assert backlog.take(1)
    async with backlog.reading():
        # The read found event 1 still pending; its turn commits before the read returns.
        backlog.discard(1)
        assert backlog.take(1) is False
        assert backlog.take(2) is True  # what else the read found is taken as ever
    assert (len(backlog), 1 in backlog) == (1, False)
    # Once no read is under way, what was processed meanwhile is forgotten: an event set
    # aside and made pending again by hand is taken again.
    assert backlog.take(1) is True


def test_events_behind_one_left_in_the_store_wait_there_even_when_room_is_made() -> None:
    backlog = Backlog(10, hold=2)
    # A read hands over 1 and 2, leaves 3 (no room); 1 is processed before it reaches 4.
    assert [backlog.take(1), backlog.take(2), backlog.take(3)] == [True, True, False]
    backlog.discard(1)
    assert backlog.take(4) is False  # handed over now, it would run before 3
    assert backlog.arrived(5) is False  # so would a new one
    assert backlog.left_from() == 3  # the read back starts at 3, in the order stored
    assert [backlog.take(3), backlog.take(4)] == [True, False]  # room for one more


async def test_an_event_that_arrives_while_the_store_is_read_waits_there() -> None:
    backlog = Backlog(10, hold=5)
    async with backlog.reading():
        # The read may yet leave older events in the store (no room for them).
        assert backlog.arrived(9) is False
    async with backlog.reading():  # the read back
        assert backlog.left_from() == 9
        assert backlog.take(9) is True
    assert backlog.arrived(10) is True  # nothing older waits: held at once


async def test_reads_of_the_store_run_one_at_a_time() -> None:
    """The sweep's read and a read back, at once, would interleave their hand-overs: one
    could take an event the other had left in the store behind an older one."""
    backlog = Backlog(10)
    seen: list[str] = []

    async def read(name: str) -> None:
        async with backlog.reading():
            seen.append(f"{name} starts")
            await asyncio.sleep(0)
            seen.append(f"{name} ends")

    await asyncio.gather(read("sweep"), read("read back"))
    assert seen == ["sweep starts", "sweep ends", "read back starts", "read back ends"]
