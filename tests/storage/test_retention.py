"""Retention on every backend: the purge deletes what is old and finished, and never what is
still needed, however old; the runtime's sweep runs it on the injected clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

from core.clock import ManualClock
from core.events import ConversationClosed
from core.keys import ConversationKey
from core.models import ConversationStatus, Timer
from core.retention import Cutoffs, Purged, RetentionSettings, RetentionSweep
from tests.storage.builders import T0, conversation, enqueue, entry, event, message, save, seed
from tests.storage.conftest import Backend
from tests.support.waiting import until

NOW = T0 + timedelta(days=400)
DEFAULTS = Cutoffs.at(RetentionSettings(), NOW)  # 90d, 365d, 7d, 7d


async def processed(store: Backend, n: int, received_days_ago: float) -> int:
    inbound_id = await store.record_inbound(
        event(n, user=f"u{n}"), NOW - timedelta(days=received_days_ago)
    )
    assert inbound_id is not None
    async with store.transaction() as tx:
        await tx.mark_processed(inbound_id, NOW)
    return inbound_id


async def closed(store: Backend, conversation_id: str, days: float) -> None:
    """Seed a conversation closed `days` ago, with one transcript entry from then."""
    when = NOW - timedelta(days=days)
    opened = conversation(conversation_id, conversation_id, opened_at=when)
    await seed(store, opened)
    async with store.transaction() as tx:
        await tx.add_transcript([entry(conversation_id, f"{conversation_id}-said", when)])
    await save(
        store,
        opened.model_copy(
            update={"status": ConversationStatus.CLOSED, "closed_at": when, "version": 2}
        ),
    )
    async with store.transaction() as tx:
        await tx.add_history(conversation_id, [ConversationClosed(at=when, by="an agent")])


async def test_old_inbound_events_go_but_not_those_still_needed(store: Backend) -> None:
    old = await processed(store, 1, received_days_ago=8)
    recent = await processed(store, 2, received_days_ago=6)
    unprocessed = await store.record_inbound(event(3, user="u3"), T0)
    aside = await store.record_inbound(event(4, user="u4"), T0)
    assert unprocessed is not None
    assert aside is not None
    await store.set_inbound_aside(aside, T0, "it kept failing")

    purged = await store.purge(DEFAULTS)

    assert purged == Purged(inbound_events=1)
    assert await store.load_inbound(old) is None
    assert await store.load_inbound(recent) is not None
    # Within the window a redelivery is still recognised; after it, it is an event again.
    assert await store.record_inbound(event(2, user="u2"), NOW) is None
    assert await store.record_inbound(event(1, user="u1"), NOW) is not None
    assert unprocessed in [item.id for item in await store.pending_inbound(10)]
    assert await store.inbound_error(aside) == "it kept failing"


async def test_sent_messages_go_after_the_window_pending_and_leased_ones_stay(
    store: Backend,
) -> None:
    await seed(store, conversation("v1", "c1", opened_at=T0))
    await enqueue(store, message("m1", "v1"), message("m2", "v1"), at=T0)
    [first] = await store.claim_due_outbound(NOW, 10, 60)
    await store.mark_sent(first.id, NOW - timedelta(days=8))
    [second] = await store.claim_due_outbound(NOW, 10, 60)
    await store.mark_sent(second.id, NOW - timedelta(days=1))
    await enqueue(store, message("m3", "v1"), message("m4", "v1"), at=T0)
    [leased] = await store.claim_due_outbound(NOW, 10, 60)  # m3, in flight

    purged = await store.purge(DEFAULTS)

    assert purged == Purged(outbox_messages=1)
    rows = await store.outbox("v1")
    assert [(r.message_id, r.status) for r in rows] == [
        ("m2", "sent"),
        ("m3", "pending"),
        ("m4", "pending"),
    ]
    assert leased.message.message_id == "m3"


async def test_open_conversations_and_their_transcripts_stay_however_old(store: Backend) -> None:
    await seed(store, conversation("open", "open", opened_at=T0))
    async with store.transaction() as tx:
        await tx.add_transcript([entry("open", "hello", T0)])

    assert await store.purge(DEFAULTS) == Purged()
    assert await store.load_conversation("open") is not None
    assert [e.text for e in await store.transcript("open")] == ["hello"]


async def test_closed_conversations_go_with_their_rows_unless_something_still_waits(
    store: Backend,
) -> None:
    await closed(store, "done", days=366)
    await enqueue(store, message("m-done", "done"), at=NOW - timedelta(days=366))
    [item] = await store.claim_due_outbound(NOW, 10, 60)
    await store.mark_sent(item.id, NOW - timedelta(days=366))
    await closed(store, "unsent", days=366)
    await enqueue(store, message("m-unsent", "unsent"), at=NOW)  # not yet delivered
    await closed(store, "timed", days=366)
    async with store.transaction() as tx:
        await tx.schedule_timer(
            Timer(
                id="t1",
                conversation_id="timed",
                conversation_key=ConversationKey("webhook", "k"),
                due_at=NOW,
            )
        )
    await closed(store, "recent", days=100)

    purged = await store.purge(DEFAULTS)

    assert await store.load_conversation("done") is None
    assert await store.transcript("done") == []
    assert await store.outbox("done") == []
    # Kept: a message still to send, a timer still to fire, and a conversation that closed
    # within the year (its transcript older than 90 days goes).
    for kept in ("unsent", "timed", "recent"):
        assert await store.load_conversation(kept) is not None
        assert await store.transcript(kept) == []
    assert [r.message_id for r in await store.outbox("unsent")] == ["m-unsent"]
    assert [t.id for t in await store.due_timers(NOW, 10)] == ["t1"]
    assert purged == Purged(conversations=1, transcript_entries=4, outbox_messages=1)


async def test_off_keeps_everything(store: Backend) -> None:
    await processed(store, 1, received_days_ago=800)
    await closed(store, "done", days=800)
    keep_all = RetentionSettings.model_validate(
        dict.fromkeys(
            ("transcripts", "closed_conversations", "inbox_dedupe", "delivered_outbox"), "off"
        )
    )

    assert await store.purge(Cutoffs.at(keep_all, NOW)) == Purged()
    assert await store.load_conversation("done") is not None


async def test_the_sweep_runs_at_start_and_then_every_interval(store: Backend) -> None:
    clock = ManualClock(NOW)
    settings = RetentionSettings.model_validate({"inbox_dedupe": "2h", "sweep_every": "1h"})
    day_old = await processed(store, 1, received_days_ago=1)
    older = await processed(store, 2, received_days_ago=1.5 / 24)  # 90 minutes before NOW
    fresh = await processed(store, 3, received_days_ago=0)
    task = asyncio.create_task(RetentionSweep(store, clock, settings).run())
    try:
        await until(gone(store, day_old))  # at start
        assert await store.load_inbound(older) is not None
        # The clock moves only once the sweep sleeps: moved earlier, the sweep would count
        # its hour from the later time.
        await until(lambda: clock.deadlines)
        clock.advance(timedelta(hours=1))
        await until(gone(store, older))  # an hour on: what is now over two hours old
        assert await store.load_inbound(fresh) is not None
        await until(lambda: clock.deadlines)
        clock.advance(timedelta(hours=1, seconds=1))
        await until(gone(store, fresh))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def gone(store: Backend, inbound_id: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await store.load_inbound(inbound_id) is None

    return check
