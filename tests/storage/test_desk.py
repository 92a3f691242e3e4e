"""The contract of the Store port for the agents' desk, run on every backend registered in
conftest: handoffs, the desk's outbox lane, where notices were posted, who has what."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from core.models import (
    ConversationStatus,
    DeskThread,
    Handoff,
    Notice,
    NoticeKind,
    Outbound,
)
from tests.storage.builders import (
    T0,
    conversation,
    enqueue,
    entry,
    message,
    names,
    save,
    seconds,
    seed,
)
from tests.storage.conftest import Backend, StoreMaker


def desk_message(message_id: str, conversation_id: str) -> Outbound:
    return Outbound(
        message_id=message_id,
        conversation_id=conversation_id,
        channel="slack",
        recipient="C-desk",
        text=f"note {message_id}",
        notice=Notice(
            kind=NoticeKind.MESSAGE,
            conversation_id=conversation_id,
            handoff_id="h1",
            text=f"note {message_id}",
            at=T0,
        ),
    )


def thread(
    place: str, ts: str, *, handoff_id: str = "h1", desk: str = "slack", agent_id: str = "ann"
) -> DeskThread:
    return DeskThread(
        desk=desk,
        place=place,
        ts=ts,
        conversation_id="v1",
        handoff_id=handoff_id,
        agent_id=agent_id,
    )


# handoffs ---------------------------------------------------------------------------------


async def test_conversation_round_trips_its_handoff(store: Backend) -> None:
    conv = conversation(assignee="ann")
    conv.handoff = Handoff(
        id="notice-1",
        agent_id="ann",
        # A non-UTC offset goes in; the same instant, in UTC, comes out.
        at=T0.astimezone(timezone(timedelta(hours=-3))),
    )
    await seed(store, conv)

    stored = await store.load_conversation("v1")
    assert stored == conv
    assert stored is not None
    assert stored.handoff is not None
    assert stored.handoff.at.utcoffset() == timedelta(0)

    stored.handoff.accepted_by, stored.handoff.accepted_at = "ann", seconds(30)
    stored.version = 2
    await save(store, stored)
    async with store.transaction() as tx:
        assert await tx.load_conversation("v1") == stored
        assert await tx.load_contact_and_open_conversation("webhook", "c1") == (
            await tx.load_contact("c1"),
            stored,
        )

    stored.handoff, stored.version = None, 3
    await save(store, stored)
    assert await store.load_conversation("v1") == stored


# the desk's lane in the outbox ------------------------------------------------------------


@pytest.fixture
async def one_conversation(store: Backend) -> None:
    await seed(store, conversation("a", "ca"))


@pytest.mark.usefixtures("one_conversation")
async def test_a_held_customer_message_does_not_hold_up_the_desk(store: Backend) -> None:
    await enqueue(
        store,
        message("c1", "a"),
        message("c2", "a"),
        desk_message("d1", "a"),
        desk_message("d2", "a"),
    )

    c1, d1 = await store.claim_due_outbound(T0, 10, 30)
    assert (c1.message, d1.message) == (message("c1", "a"), desk_message("d1", "a"))
    # One in flight per lane: c2 and d2 wait behind their heads.
    assert await store.claim_due_outbound(T0, 10, 30) == []

    await store.mark_retry(c1.id, seconds(60), "502 bad gateway")
    await store.mark_sent(d1.id, seconds(1))

    assert names(await store.claim_due_outbound(seconds(1), 10, 30)) == ["d2"]
    assert await store.next_outbound_due() == seconds(31)  # d2's lease; c1 is due later
    assert [(r.message_id, r.status) for r in await store.outbox("a")] == [
        ("c1", "pending"),
        ("c2", "pending"),
        ("d1", "sent"),
        ("d2", "pending"),
    ]


@pytest.mark.usefixtures("one_conversation")
async def test_a_held_desk_message_does_not_hold_up_the_customer(store: Backend) -> None:
    await enqueue(store, desk_message("d1", "a"), desk_message("d2", "a"))
    await enqueue(store, message("c1", "a"), message("c2", "a"), at=seconds(1))
    d1, c1 = await store.claim_due_outbound(seconds(1), 10, 30)
    assert names([d1, c1]) == ["d1", "c1"]

    await store.mark_sent(c1.id, seconds(2))

    # d1 is still leased: the customer's next message goes, the desk's waits.
    assert names(await store.claim_due_outbound(seconds(2), 10, 30)) == ["c2"]
    await store.mark_failed(d1.id, seconds(3), "channel_not_found")
    assert names(await store.claim_due_outbound(seconds(3), 10, 30)) == ["d2"]


# where handoff notices were posted --------------------------------------------------------


async def test_save_thread_keeps_the_first_post_at_a_place(store: Backend) -> None:
    await seed(store, conversation())
    # Saved in an order that no column of theirs sorts into, either way.
    posts = [thread("M5", "5.0"), thread("Z9", "9.0", agent_id="bob"), thread("A1", "1.0")]
    for saved in (posts[0], thread("C1", "5.0", handoff_id="h2"), posts[1], posts[2]):
        await store.save_thread(saved)

    await store.save_thread(thread("Z9", "9.0", handoff_id="h3", agent_id="cat"))

    assert await store.threads_of("h1") == posts
    assert await store.threads_of("h3") == []
    assert await store.thread_at("slack", "Z9", "9.0") == posts[1]
    assert await store.thread_at("slack", "Z9", "1.0") is None
    assert await store.thread_at("slack-eu", "Z9", "9.0") is None


async def test_a_saved_thread_survives_a_restart(store: Backend, store_maker: StoreMaker) -> None:
    await seed(store, conversation())
    await store.save_thread(thread("C1", "1.0"))
    await store.close()

    reopened = store_maker()
    await reopened.open()
    try:
        assert await reopened.threads_of("h1") == [thread("C1", "1.0")]
    finally:
        await reopened.close()


# who has what -----------------------------------------------------------------------------


async def test_open_assigned_lists_the_agents_open_conversations_oldest_first(
    store: Backend,
) -> None:
    newer = conversation("v1", "c1", opened_at=seconds(120), assignee="ann")
    older = conversation("v2", "c2", opened_at=seconds(60), assignee="ann")
    closed = conversation("v3", "c3", opened_at=T0, assignee="ann")
    others = conversation("v4", "c4", opened_at=T0, assignee="bob")
    unassigned = conversation("v5", "c5", opened_at=T0)
    await seed(store, newer, older, closed, others, unassigned)
    closed.status, closed.closed_at, closed.version = ConversationStatus.CLOSED, seconds(1), 2
    await save(store, closed)

    assert await store.open_assigned("ann") == [older, newer]
    assert await store.open_assigned("bob") == [others]
    assert await store.open_assigned("nobody") == []


async def test_recent_transcript_is_the_last_entries_oldest_first(store: Backend) -> None:
    await seed(store, conversation("v1", "c1"), conversation("v2", "c2"))
    # Times out of order: the order is the one they were added in.
    first, second, third = (
        entry("v1", "first", seconds(30)),
        entry("v1", "second", seconds(10)),
        entry("v1", "third", seconds(20)),
    )
    async with store.transaction() as tx:
        await tx.add_transcript([first, second])
        await tx.add_transcript([entry("v2", "elsewhere", seconds(40))])
    async with store.transaction() as tx:
        await tx.add_transcript([third])

    async with store.transaction() as tx:
        assert await tx.recent_transcript("v1", 2) == [second, third]
        assert await tx.recent_transcript("v1", 10) == [first, second, third]
        assert await tx.recent_transcript("v1", 0) == []
        assert await tx.recent_transcript("unknown", 5) == []
        # A transaction reads the state from before its own saves.
        await tx.add_transcript([entry("v1", "fourth", seconds(50))])
        assert await tx.recent_transcript("v1", 1) == [third]
    async with store.transaction() as tx:
        assert [e.text for e in await tx.recent_transcript("v1", 2)] == ["third", "fourth"]
