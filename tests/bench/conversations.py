"""Benchmark: listing stored conversations with filters, on a SQLite file of 100k of them.

Fills a temporary database through the store's own write path (transactions saving contacts,
conversations and their history), then times `Records.list_conversations` for each filter:
the first page, and a deep page reached through the cursor. Prints p50 and max in ms.

    .venv/bin/python -m tests.bench.conversations --conversations 100000 --repeat 30
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.events import AssignedBy, ConversationAssigned, ConversationOpened
from core.history import HistoryEvent
from core.listing import ConversationFilter, ListQuery, ListStatus, Position
from core.models import Contact, Conversation, ConversationStatus, Run, Waiting
from storage.sqlite import SqliteSettings, SqliteStore

START = datetime(2026, 10, 1, tzinfo=UTC)
SPAN = timedelta(days=60)
TEAMS = ("sales", "support", "billing")
AGENTS = [f"agent{n:02}" for n in range(20)]
CHUNK = 2000  # conversations per transaction while filling
PAGE = 50
DEEP = 20  # the deep page: this many pages in


def made(
    n: int, rng: random.Random, teams: tuple[str, ...] = TEAMS
) -> tuple[Contact, Conversation, list[HistoryEvent]]:
    channel = "telegram" if rng.random() < 0.3 else "webhook"
    opened_at = START + SPAN * rng.random()
    person = Contact(id=f"k{n}", channel=channel, external_id=f"u{n}", created_at=opened_at)
    v = Conversation(
        id=f"{rng.getrandbits(128):032x}",
        contact_id=person.id,
        channel=channel,
        opened_at=opened_at,
        team=rng.choice(teams),
        version=1,
    )
    events: list[HistoryEvent] = [ConversationOpened(at=opened_at)]
    roll = rng.random()
    if roll < 0.8:  # most are over
        v.status, v.closed_at = ConversationStatus.CLOSED, opened_at + timedelta(hours=1)
        v.assignee = rng.choice(AGENTS)
    elif roll < 0.88:  # answering a question
        v.run = Run(
            workflow="w",
            workflow_hash="h",
            trigger="conversation_opened",
            waiting=Waiting(kind="answer", step_id="ask"),
        )
    elif roll < 0.93:  # in a team's queue
        v.queued_at = opened_at + timedelta(seconds=30)
    else:  # with an agent
        v.assignee = rng.choice(AGENTS)
        v.assigned_at = opened_at + timedelta(seconds=30)
    if v.assignee is not None:
        events.append(ConversationAssigned(at=opened_at, agent_id=v.assignee, by=AssignedBy.HAND))
    return person, v, events


async def fill(
    store: SqliteStore, count: int, rng: random.Random, teams: tuple[str, ...] = TEAMS
) -> None:
    for first in range(0, count, CHUNK):
        async with store.transaction() as tx:
            for n in range(first, min(first + CHUNK, count)):
                person, v, events = made(n, rng, teams)
                await tx.save_contact(person)
                await tx.save_conversation(v)
                await tx.add_history(v.id, events)


def filters(rng: random.Random, count: int) -> dict[str, Callable[[], ConversationFilter]]:
    def week() -> ConversationFilter:
        since = START + SPAN * rng.random()
        return ConversationFilter(since=since, until=since + timedelta(days=7))

    return {
        "none": ConversationFilter,
        "status=open": lambda: ConversationFilter(status=ListStatus.OPEN),
        "status=waiting": lambda: ConversationFilter(status=ListStatus.WAITING),
        "status=queued": lambda: ConversationFilter(status=ListStatus.QUEUED),
        "status=closed": lambda: ConversationFilter(status=ListStatus.CLOSED),
        "team": lambda: ConversationFilter(team=rng.choice(TEAMS)),
        "assignee": lambda: ConversationFilter(assignee=rng.choice(AGENTS)),
        "channel": lambda: ConversationFilter(channel="telegram"),
        "contact": lambda: ConversationFilter(contact=f"u{rng.randrange(count)}"),
        "since/until (7 days)": week,
        "team+status=open": lambda: ConversationFilter(
            team=rng.choice(TEAMS), status=ListStatus.OPEN
        ),
        "assignee+status=open": lambda: ConversationFilter(
            assignee=rng.choice(AGENTS), status=ListStatus.OPEN
        ),
    }


async def timed(store: SqliteStore, query: ListQuery) -> tuple[float, Position | None]:
    started = time.perf_counter()
    page = await store.list_conversations(query)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, page[-1].position if len(page) == query.limit else None


async def deep_page(store: SqliteStore, where: ConversationFilter) -> float | None:
    """The time of page DEEP, reached by following the cursor; None if the list is shorter."""
    after: Position | None = None
    for _ in range(DEEP):
        _, after = await timed(store, ListQuery(filter=where, after=after, limit=PAGE))
        if after is None:
            return None
    elapsed, _ = await timed(store, ListQuery(filter=where, after=after, limit=PAGE))
    return elapsed


async def main(count: int, repeat: int) -> None:
    rng = random.Random(7)
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    store = SqliteStore(SqliteSettings(path="bench.db"), folder)
    await store.open()
    try:
        started = time.perf_counter()
        await fill(store, count, rng)
        print(f"stored {count} conversations in {time.perf_counter() - started:.1f}s")
        print(f"{'filter':24} {'first p50':>10} {'first max':>10} {'deep p50':>9} {'deep max':>9}")
        for name, make in filters(rng, count).items():
            first = [
                (await timed(store, ListQuery(filter=make(), limit=PAGE)))[0] for _ in range(repeat)
            ]
            deep = [
                t
                for _ in range(max(repeat // 5, 1))
                if (t := await deep_page(store, make())) is not None
            ]
            deep_text = (
                f"{statistics.median(deep):9.2f} {max(deep):9.2f}" if deep else f"{'-':>9} {'-':>9}"
            )
            print(f"{name:24} {statistics.median(first):10.2f} {max(first):10.2f} {deep_text}")
        print(f"(ms; page of {PAGE}; deep = page {DEEP + 1} through the cursor)")
    finally:
        await store.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.conversations, args.repeat))
