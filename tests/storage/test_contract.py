"""The contract of the Store port, run on every backend registered in conftest."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import pytest

from core.agents import Agent, AgentStatus
from core.assignment import AgentFacts, Rules, TeamFacts, choose_agent
from core.errors import ConcurrentUpdate
from core.keys import ConversationKey
from core.models import Contact, Conversation, ConversationStatus, Option, Run, Timer, Waiting
from tests.storage.builders import (
    T0,
    agent,
    contact,
    conversation,
    enqueue,
    entry,
    event,
    message,
    names,
    pick,
    save,
    seconds,
    seed,
)
from tests.storage.conftest import Backend, StoreMaker

# inbox ------------------------------------------------------------------------------------


async def test_record_inbound_stores_an_event_once(store: Backend) -> None:
    first = await store.record_inbound(event(1), T0)

    assert first is not None
    assert await store.record_inbound(event(1), seconds(5)) is None
    [stored] = await store.pending_inbound(10)
    assert (stored.id, stored.event, stored.received_at) == (first, event(1), T0)
    assert await store.load_inbound(first) == stored


async def test_same_event_id_on_another_channel_is_another_event(store: Backend) -> None:
    first = await store.record_inbound(event(1, channel="webhook"), T0)
    second = await store.record_inbound(event(1, channel="telegram"), T0)

    assert first is not None
    assert second is not None
    assert first != second


async def test_concurrent_record_inbound_stores_every_event(store: Backend) -> None:
    events = [event(n, user=f"u{n % 7}") for n in range(200)]

    ids = await asyncio.gather(*(store.record_inbound(e, T0) for e in events))

    assert all(isinstance(inbox_id, int) for inbox_id in ids)
    assert len(set(ids)) == 200
    pending = await store.pending_inbound(500)
    assert [stored.id for stored in pending] == sorted(i for i in ids if i is not None)
    assert {stored.id: stored.event for stored in pending} == dict(zip(ids, events, strict=True))


async def test_concurrent_copies_of_one_event_store_it_once(store: Backend) -> None:
    results = await asyncio.gather(*(store.record_inbound(event(7), T0) for _ in range(10)))

    assert sum(result is not None for result in results) == 1
    assert len(await store.pending_inbound(10)) == 1


async def test_pending_inbound_pages_and_leaves_out_processed(store: Backend) -> None:
    ids = [await store.record_inbound(event(n), T0) for n in range(5)]
    assert all(isinstance(inbox_id, int) for inbox_id in ids)
    first, processed, third, fourth, fifth = (i for i in ids if i is not None)

    async with store.transaction() as tx:
        await tx.mark_processed(processed, seconds(1))

    assert [s.id for s in await store.pending_inbound(10)] == [first, third, fourth, fifth]
    assert [s.id for s in await store.pending_inbound(2)] == [first, third]
    assert [s.id for s in await store.pending_inbound(10, after_id=third)] == [fourth, fifth]
    loaded = await store.load_inbound(processed)
    assert loaded is not None
    assert loaded.event == event(1)
    assert await store.load_inbound(fifth + 1000) is None


# transactions -----------------------------------------------------------------------------


async def test_exception_rolls_back_every_change(store: Backend) -> None:
    inbound_id = await store.record_inbound(event(1), T0)
    assert inbound_id is not None

    class Boom(Exception):
        pass

    async def failing_turn() -> None:
        async with store.transaction() as tx:
            await tx.save_contact(contact())
            await tx.save_conversation(conversation())
            await tx.add_transcript([entry("v1", "hi", T0)])
            await tx.enqueue([message("m1", "v1")], T0)
            await tx.schedule_timer(
                Timer(
                    id="t1",
                    conversation_id="v1",
                    conversation_key=ConversationKey("webhook", "k"),
                    due_at=T0,
                )
            )
            await tx.mark_processed(inbound_id, T0)
            await tx.save_workflow_version("h1", "greet", "body")
            raise Boom

    with pytest.raises(Boom):
        await failing_turn()

    assert await store.contact_at("webhook", "u1") is None
    assert await store.load_conversation("v1") is None
    assert await store.transcript("v1") == []
    assert await store.outbox("v1") == []
    assert await store.due_timers(seconds(3600), 10) == []
    assert [s.id for s in await store.pending_inbound(10)] == [inbound_id]
    async with store.transaction() as tx:
        assert await tx.load_workflow_version("h1") is None
    # The store is usable afterwards: the failed transaction released the writer.
    await seed(store, conversation())
    assert await store.load_conversation("v1") == conversation()


async def test_cancelled_transaction_rolls_back_and_frees_the_writer(store: Backend) -> None:
    inside = asyncio.Event()

    async def stuck_turn() -> None:
        async with store.transaction() as tx:
            await tx.save_contact(contact())
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(stuck_turn())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await store.contact_at("webhook", "u1") is None
    async with store.transaction() as tx:
        await tx.save_contact(contact())
    assert await store.contact_at("webhook", "u1") == contact()


async def test_a_write_cancelled_at_any_point_leaves_the_store_usable(store: Backend) -> None:
    await store.sync_directory([agent("ann")], {})
    # Cancel after 0, 1, 2, ... turns of the event loop, so that the cancellation lands on
    # each await of the write in turn (waiting for BEGIN, the statement, COMMIT, after it).
    for turns in range(12):
        write = asyncio.create_task(store.set_agent_status("ann", AgentStatus.AWAY))
        for _ in range(turns):
            await asyncio.sleep(0)
        write.cancel()
        await asyncio.gather(write, return_exceptions=True)

        assert await store.set_agent_status("ann", AgentStatus.ONLINE) is not None
        assert [a.status for a in await store.list_agents()] == [AgentStatus.ONLINE]


async def test_committed_turn_is_visible_everywhere(store: Backend) -> None:
    inbound_id = await store.record_inbound(event(1), T0)
    assert inbound_id is not None

    async with store.transaction() as tx:
        await tx.save_contact(contact())
        await tx.save_conversation(conversation())
        await tx.add_transcript([entry("v1", "hi", T0)])
        await tx.enqueue([message("m1", "v1")], T0)
        await tx.mark_processed(inbound_id, T0)

    assert await store.pending_inbound(10) == []
    assert await store.conversations_of("webhook", "u1") == [conversation()]
    assert [e.text for e in await store.transcript("v1")] == ["hi"]
    assert [r.message_id for r in await store.outbox("v1")] == ["m1"]
    async with store.transaction() as tx:
        assert await tx.load_contact_and_open_conversation("webhook", "u1") == (
            contact(),
            conversation(),
        )
        assert await tx.load_conversation("v1") == conversation()


async def test_a_second_turn_for_a_processed_event_fails_and_saves_nothing(
    store: Backend,
) -> None:
    inbound_id = await store.record_inbound(event(1), T0)
    assert inbound_id is not None
    assert await store.inbound_processed(inbound_id) is False
    async with store.transaction() as tx:
        await tx.mark_processed(inbound_id, T0)
    assert await store.inbound_processed(inbound_id) is True

    # Handed over again by a read made before the first turn committed: the second turn's
    # commit fails, and none of what it would have saved is stored.
    async def second_turn() -> None:
        async with store.transaction() as tx:
            await tx.save_contact(contact())
            await tx.save_conversation(conversation())
            await tx.enqueue([message("m1", "v1")], T0)
            await tx.mark_processed(inbound_id, seconds(1))

    with pytest.raises(ConcurrentUpdate):
        await second_turn()

    assert await store.conversations_of("webhook", "u1") == []
    assert await store.outbox("v1") == []
    # An event no longer stored (retention deletes only processed ones) counts as processed.
    assert await store.inbound_processed(inbound_id + 1000) is True


# contacts and conversations -------------------------------------------------------------


async def test_contact_round_trips_fields_and_tags(store: Backend) -> None:
    ada = Contact(
        id="c1",
        channel="webhook",
        external_id="u1",
        name="Ada",
        username="ada",
        language="pt-BR",
        email="ada@example.com",
        phone="+15551234567",
        country="BR",
        fields={"plan": "gold", "seats": 3, "trial": False, "extra": {"ids": [1, 2]}},
        tags=["vip", "beta"],
        # A non-UTC offset goes in; the same instant, in UTC, comes out.
        created_at=datetime(2024, 5, 6, 14, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    )

    async with store.transaction() as tx:
        await tx.save_contact(ada)
    stored = await store.contact_at("webhook", "u1")

    assert stored == ada
    assert stored is not None
    assert stored.created_at.utcoffset() == timedelta(0)
    ada.tags = ["vip"]
    ada.fields = {"plan": "silver"}
    async with store.transaction() as tx:
        await tx.save_contact(ada)
    async with store.transaction() as tx:
        assert await tx.load_contact("c1") == ada
    assert await store.contact_at("webhook", "u1") == ada


async def test_a_second_contact_for_the_same_person_conflicts(store: Backend) -> None:
    async with store.transaction() as tx:
        await tx.save_contact(contact("c1", "u1"))

    async def save_twin() -> None:
        async with store.transaction() as tx:
            await tx.save_contact(contact("c2", "u1"))

    with pytest.raises(ConcurrentUpdate):
        await save_twin()
    assert await store.contact_at("webhook", "u1") == contact("c1", "u1")


async def test_conversation_round_trips_its_run(store: Backend) -> None:
    conv = conversation()
    conv.team = "support"
    conv.assignee = "ann"
    conv.assigned_at = seconds(90)
    conv.seq = 4
    conv.run = Run(
        workflow="greet",
        workflow_hash="abc123",
        trigger="conversation_opened",
        pc=3,
        vars={"name": "Ada", "count": 2, "answers": ["a", "b"]},
        jumps={"loop": 1},
        waiting=Waiting(
            kind="answer",
            step_id="ask_plan",
            attempts=1,
            timer_id="t-1",
            options=[Option(id="gold", label="Gold"), Option(id="silver", label="Silver")],
        ),
        last_answer={"id": "gold"},
    )

    await seed(store, conv)

    assert await store.load_conversation("v1") == conv


async def test_stale_version_raises_concurrent_update(store: Backend) -> None:
    await seed(store, conversation())
    first = await store.load_conversation("v1")
    second = await store.load_conversation("v1")
    assert first is not None
    assert second is not None

    first.version, first.team = 2, "sales"
    await save(store, first)
    second.version, second.team = 2, "support"
    with pytest.raises(ConcurrentUpdate):
        await save(store, second)
    with pytest.raises(ConcurrentUpdate):
        await save(store, conversation())  # version 1 again: a second insert of the id

    assert await store.load_conversation("v1") == first


async def test_second_open_conversation_of_a_contact_conflicts(store: Backend) -> None:
    earlier = conversation("v1")
    later = conversation("v2", opened_at=seconds(3600))
    await seed(store, earlier)

    with pytest.raises(ConcurrentUpdate):
        await save(store, later)

    earlier.status, earlier.closed_at, earlier.version = ConversationStatus.CLOSED, seconds(60), 2
    await save(store, earlier)
    await save(store, later)
    assert await store.conversations_of("webhook", "c1") == [earlier, later]
    async with store.transaction() as tx:
        _, open_now = await tx.load_contact_and_open_conversation("webhook", "c1")
        assert open_now == later


async def test_contact_and_open_conversation_load_together(store: Backend) -> None:
    ended = conversation("v2", "c2")
    await seed(store, conversation("v1", "c1"), ended)
    ended.status, ended.closed_at, ended.version = ConversationStatus.CLOSED, seconds(60), 2
    await save(store, ended)

    async with store.transaction() as tx:
        assert await tx.load_contact_and_open_conversation("webhook", "c1") == (
            contact("c1", "c1"),
            conversation("v1", "c1"),
        )
        assert await tx.load_contact_and_open_conversation("webhook", "c2") == (
            contact("c2", "c2"),
            None,
        )
        assert await tx.load_contact_and_open_conversation("webhook", "nobody") == (None, None)
        assert await tx.load_contact_and_open_conversation("telegram", "c1") == (None, None)


def waiting_run() -> Run:
    return Run(
        workflow="greet",
        workflow_hash="abc123",
        trigger="conversation_opened",
        waiting=Waiting(kind="answer", step_id="ask_team"),
    )


async def test_open_conversation_is_the_contacts_open_one(store: Backend) -> None:
    waits = conversation("v1", "c1")
    waits.run = waiting_run()
    assigned = conversation("v2", "c2", assignee="ann")
    await seed(store, waits, assigned)

    assert await store.open_conversation("webhook", "c1") == waits
    assert await store.open_conversation("webhook", "c2") == assigned


async def test_open_conversation_is_none_when_closed_or_unknown(store: Backend) -> None:
    closed = conversation("v2", "c2", assignee="ann")
    closed.run = waiting_run()
    await seed(store, closed, conversation("v1", "c1"))
    closed.status, closed.closed_at, closed.version = ConversationStatus.CLOSED, seconds(60), 2
    await save(store, closed)

    assert await store.open_conversation("webhook", "c2") is None
    assert await store.open_conversation("webhook", "nobody") is None
    assert await store.open_conversation("telegram", "c1") is None  # another channel's id


async def test_transcript_keeps_insertion_order(store: Backend) -> None:
    await seed(store, conversation())
    async with store.transaction() as tx:
        await tx.add_transcript([entry("v1", "first", seconds(20)), entry("v1", "second", T0)])
    async with store.transaction() as tx:
        await tx.add_transcript([entry("v1", "third", seconds(10))])

    stored = await store.transcript("v1")

    assert [e.text for e in stored] == ["first", "second", "third"]
    assert stored[0] == entry("v1", "first", seconds(20))


async def test_workflow_version_keeps_the_first_body(store: Backend) -> None:
    async with store.transaction() as tx:
        await tx.save_workflow_version("h1", "greet", "steps: [a]")
    async with store.transaction() as tx:
        await tx.save_workflow_version("h1", "greet", "steps: [b]")
        assert await tx.load_workflow_version("h1") == "steps: [a]"
        assert await tx.load_workflow_version("h2") is None


# outbox -----------------------------------------------------------------------------------


@pytest.fixture
async def two_conversations(store: Backend) -> None:
    await seed(store, conversation("a", "ca"), conversation("b", "cb"))


@pytest.mark.usefixtures("two_conversations")
async def test_outbox_delivers_a_conversations_messages_in_order(store: Backend) -> None:
    await enqueue(store, message("a1", "a"), message("a2", "a"), message("b1", "b"))

    first = await store.claim_due_outbound(T0, 10, 30)
    assert names(first) == ["a1", "b1"]
    # a1 is leased, not settled: a2 waits behind it.
    assert await store.claim_due_outbound(T0, 10, 30) == []

    await store.mark_sent(first[0].id, seconds(1))
    assert names(await store.claim_due_outbound(seconds(1), 10, 30)) == ["a2"]
    records = await store.outbox("a")
    assert [(r.message_id, r.status, r.attempts, r.sent_at) for r in records] == [
        ("a1", "sent", 1, seconds(1)),
        ("a2", "pending", 0, None),
    ]


@pytest.mark.usefixtures("two_conversations")
async def test_claim_takes_at_most_limit_oldest_first(store: Backend) -> None:
    await enqueue(store, message("b1", "b"))
    await enqueue(store, message("a1", "a"))

    assert names(await store.claim_due_outbound(T0, 1, 30)) == ["b1"]
    assert names(await store.claim_due_outbound(T0, 1, 30)) == ["a1"]
    assert await store.claim_due_outbound(T0, 0, 30) == []


@pytest.mark.usefixtures("two_conversations")
async def test_lease_keeps_a_claimed_message_until_it_runs_out(store: Backend) -> None:
    await enqueue(store, message("a1", "a", text="hi there"), at=seconds(5))

    assert await store.claim_due_outbound(T0, 10, 30) == []  # not due yet
    [claimed] = await store.claim_due_outbound(seconds(5), 10, 30)
    assert (claimed.message, claimed.attempts, claimed.created_at) == (
        message("a1", "a", text="hi there"),
        0,
        seconds(5),
    )
    assert await store.claim_due_outbound(seconds(34), 10, 30) == []
    [again] = await store.claim_due_outbound(seconds(35), 10, 30)
    assert again.id == claimed.id


@pytest.mark.usefixtures("two_conversations")
async def test_retry_holds_the_conversation_back_until_due(store: Backend) -> None:
    await enqueue(store, message("a1", "a"), message("a2", "a"), message("b1", "b"))
    [a1, b1] = await store.claim_due_outbound(T0, 10, 30)
    await store.mark_sent(b1.id, T0)

    await store.mark_retry(a1.id, seconds(60), "429 too many requests")

    assert await store.claim_due_outbound(seconds(59), 10, 30) == []
    assert await store.next_outbound_due() == seconds(60)
    [retried] = await store.claim_due_outbound(seconds(60), 10, 30)
    assert (retried.id, retried.attempts) == (a1.id, 1)
    [record, _] = await store.outbox("a")
    assert (record.status, record.attempts, record.last_error) == (
        "pending",
        1,
        "429 too many requests",
    )


@pytest.mark.usefixtures("two_conversations")
async def test_deferred_is_due_again_then_without_counting_an_attempt(store: Backend) -> None:
    await enqueue(store, message("a1", "a"), message("a2", "a"))
    [a1] = await store.claim_due_outbound(T0, 10, 30)
    await store.mark_retry(a1.id, T0, "503 bad gateway")
    [a1] = await store.claim_due_outbound(T0, 10, 30)

    await store.mark_deferred(a1.id, seconds(1.5))

    assert await store.claim_due_outbound(seconds(1.499), 10, 30) == []  # a2 waits too
    assert await store.next_outbound_due() == seconds(1.5)
    [deferred] = await store.claim_due_outbound(seconds(1.5), 10, 30)
    assert (deferred.id, deferred.attempts) == (a1.id, 1)
    [record, _] = await store.outbox("a")
    assert (record.status, record.attempts, record.last_error) == (
        "pending",
        1,
        "503 bad gateway",
    )


@pytest.mark.usefixtures("two_conversations")
async def test_failed_message_lets_the_next_one_go(store: Backend) -> None:
    await enqueue(store, message("a1", "a"), message("a2", "a"))
    [a1] = await store.claim_due_outbound(T0, 10, 30)

    await store.mark_failed(a1.id, T0, "400 chat not found")

    assert names(await store.claim_due_outbound(T0, 10, 30)) == ["a2"]
    [record, _] = await store.outbox("a")
    assert (record.status, record.attempts, record.last_error) == (
        "failed",
        1,
        "400 chat not found",
    )


@pytest.mark.usefixtures("two_conversations")
async def test_enqueue_ignores_a_known_message_id(store: Backend) -> None:
    await enqueue(store, message("a1", "a", text="original"))
    await enqueue(store, message("a1", "a", text="repeat"), message("a1", "a", text="again"))

    assert [r.message_id for r in await store.outbox("a")] == ["a1"]
    [claimed] = await store.claim_due_outbound(T0, 10, 30)
    assert claimed.message.text == "original"


@pytest.mark.usefixtures("two_conversations")
async def test_next_outbound_due_follows_the_heads(store: Backend) -> None:
    assert await store.next_outbound_due() is None

    await enqueue(store, message("a1", "a"), message("a2", "a"), at=seconds(5))
    assert await store.next_outbound_due() == seconds(5)

    [a1] = await store.claim_due_outbound(seconds(5), 10, 30)
    # a2 is due, but cannot go before a1: the next chance is when a1's lease runs out.
    assert await store.next_outbound_due() == seconds(35)

    await store.mark_sent(a1.id, seconds(6))
    assert await store.next_outbound_due() == seconds(5)
    [a2] = await store.claim_due_outbound(seconds(6), 10, 30)
    await store.mark_sent(a2.id, seconds(7))
    assert await store.next_outbound_due() is None


@pytest.mark.usefixtures("two_conversations")
async def test_take_back_makes_messages_in_flight_due_at_once(
    store: Backend, store_maker: StoreMaker
) -> None:
    on_telegram = {"channel": "telegram"}
    await enqueue(
        store,
        message("a1", "a"),
        message("a2", "a"),
        message("b1", "b").model_copy(update=on_telegram),
        message("b2", "b").model_copy(update=on_telegram),
    )
    [_, b1] = await store.claim_due_outbound(T0, 10, 60)
    await store.close()  # the process that held the leases stops

    async with successor(store_maker) as store:
        taken = await store.take_back(seconds(1), {"telegram"})

        assert (taken.resent, taken.uncertain, taken.requests) == (1, [b1], 0)
        # a1 goes again now, not when its lease would have run out; b1 is not sent again,
        # and its lane goes on with b2.
        assert names(await store.claim_due_outbound(seconds(1), 10, 60)) == ["a1", "b2"]
        [first, second] = await store.outbox("b")
        assert (first.status, first.attempts, first.sent_at) == ("uncertain", 0, None)
        assert "after_crash: skip" in (first.last_error or "")
        assert second.status == "pending"
        assert [r.status for r in await store.outbox("a")] == ["pending", "pending"]


@asynccontextmanager
async def successor(store_maker: StoreMaker) -> AsyncIterator[Backend]:
    """The process that starts on the store after another one stopped."""
    store = store_maker()
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.mark.usefixtures("two_conversations")
async def test_take_back_with_nothing_in_flight_changes_nothing(store: Backend) -> None:
    await enqueue(store, message("a1", "a"), at=seconds(5))

    taken = await store.take_back(T0, {"webhook"})

    assert (taken.resent, taken.uncertain, taken.requests) == (0, [], 0)
    assert await store.next_outbound_due() == seconds(5)
    assert [r.status for r in await store.outbox("a")] == ["pending"]


# timers -----------------------------------------------------------------------------------


async def test_timers_come_due_in_order_and_can_be_deleted(store: Backend) -> None:
    await seed(store, conversation())

    def timer(timer_id: str, due_in: float) -> Timer:
        return Timer(
            id=timer_id,
            conversation_id="v1",
            conversation_key=ConversationKey("webhook", timer_id),
            due_at=seconds(due_in),
        )

    async with store.transaction() as tx:
        for scheduled in (timer("t1", 10), timer("t2", 5), timer("t3", 100)):
            await tx.schedule_timer(scheduled)

    assert await store.due_timers(seconds(4), 10) == []
    assert await store.due_timers(seconds(10), 10) == [timer("t2", 5), timer("t1", 10)]
    assert await store.due_timers(seconds(10), 1) == [timer("t2", 5)]
    assert await store.next_timer_due() == seconds(5)

    async with store.transaction() as tx:
        await tx.delete_timer("t2")
        await tx.delete_timer("never-scheduled")
        await tx.schedule_timer(timer("t1", 200))  # the same id again moves the timer

    assert await store.next_timer_due() == seconds(100)
    assert await store.due_timers(seconds(150), 10) == [timer("t3", 100)]
    async with store.transaction() as tx:
        await tx.delete_timer("t1")
        await tx.delete_timer("t3")
    assert await store.next_timer_due() is None


async def test_take_back_makes_lease_timers_due_now(
    store: Backend, store_maker: StoreMaker
) -> None:
    await seed(store, conversation())

    def timer(timer_id: str, due_in: float, lease: bool) -> Timer:
        return Timer(
            id=timer_id,
            conversation_id="v1",
            conversation_key=ConversationKey("webhook", "k"),
            due_at=seconds(due_in),
            lease=lease,
        )

    async with store.transaction() as tx:
        for scheduled in (timer("request", 70, True), timer("wait", 50, False)):
            await tx.schedule_timer(scheduled)
        await tx.schedule_timer(timer("overdue", 2, True))
    await store.close()  # the process making the requests stops

    async with successor(store_maker) as store:
        taken = await store.take_back(seconds(10), ())

        assert taken.requests == 2
        assert await store.due_timers(seconds(10), 10) == [
            timer("overdue", 2, True),
            timer("request", 10, True),
        ]
        assert await store.due_timers(seconds(50), 10) == [
            timer("overdue", 2, True),
            timer("request", 10, True),
            timer("wait", 50, False),
        ]


# agents and teams -------------------------------------------------------------------------


async def test_sync_directory_keeps_status_and_drops_missing_agents(store: Backend) -> None:
    ann = Agent(id="ann", name="Ann", status=AgentStatus.ONLINE, capacity=2)
    bob = agent("bob", AgentStatus.OFFLINE)
    await store.sync_directory([ann, bob], {"support": ["ann", "bob"]})
    assert await store.list_agents() == [ann, bob]

    away = await store.set_agent_status("ann", AgentStatus.AWAY)
    assert away == ann.model_copy(update={"status": AgentStatus.AWAY})

    renamed = ann.model_copy(update={"name": "Ann B.", "capacity": 3})
    await store.sync_directory([renamed], {"support": ["ann"]})

    assert await store.list_agents() == [renamed.model_copy(update={"status": AgentStatus.AWAY})]
    assert await store.set_agent_status("bob", AgentStatus.ONLINE) is None
    async with store.transaction() as tx:
        assert await tx.load_agent("bob") is None
        away_ann = await tx.load_agent("ann")
    assert away_ann is not None
    assert away_ann.status == AgentStatus.AWAY


async def test_sync_directory_refuses_a_team_with_an_unknown_agent(store: Backend) -> None:
    with pytest.raises(ValueError, match="zed"):
        await store.sync_directory([agent("ann")], {"support": ["ann", "zed"]})


@pytest.mark.parametrize(
    ("agents", "teams", "problem"),
    [
        (["ann", "ann"], {}, "listed twice"),
        (["ann"], {"support": ["ann", "ann"]}, "lists an agent twice"),
    ],
)
async def test_sync_directory_refuses_an_agent_listed_twice(
    store: Backend, agents: list[str], teams: dict[str, list[str]], problem: str
) -> None:
    await store.sync_directory([agent("bob")], {"night": ["bob"]})

    with pytest.raises(ValueError, match=problem):
        await store.sync_directory([agent(a) for a in agents], teams)

    assert await store.list_agents() == [agent("bob")]
    assert await store.teams_of("bob") == ["night"]


async def test_teams_of_lists_an_agents_teams_by_name(store: Backend) -> None:
    await store.sync_directory(
        [agent("ann"), agent("bob")],
        {"support": ["ann", "bob"], "night": ["ann"], "sales": ["bob"], "empty": []},
    )

    assert await store.teams_of("ann") == ["night", "support"]
    assert await store.teams_of("bob") == ["sales", "support"]
    assert await store.teams_of("nobody") == []


async def test_round_robin_follows_member_order(store: Backend) -> None:
    order = ["eve", "cat", "ann", "dan", "bob"]
    await store.sync_directory([agent(a) for a in sorted(order)], {"support": order})

    picks = [await pick(store, "support") for _ in range(7)]

    assert picks == [*order, "eve", "cat"]


async def test_round_robin_is_fair_under_concurrency(store: Backend) -> None:
    team = ["ann", "bob", "cat", "dan", "eve"]
    await store.sync_directory([agent(a) for a in team], {"support": team})

    picks = await asyncio.gather(*(pick(store, "support") for _ in range(200)))

    assert Counter(picks) == dict.fromkeys(team, 40)


async def test_round_robin_skips_unavailable_and_full_agents(store: Backend) -> None:
    team = ["ann", "bob", "cat", "dan"]
    await store.sync_directory(
        [
            agent("ann", capacity=1),
            agent("bob", AgentStatus.AWAY),
            agent("cat", AgentStatus.OFFLINE),
            agent("dan"),
        ],
        {"support": team},
    )
    busy = conversation("v1", assignee="ann")
    await seed(store, busy)
    async with store.transaction() as tx:
        assert await tx.agent_facts("ann") == AgentFacts(agent("ann", capacity=1), 1)
        assert await tx.agent_facts("dan") == AgentFacts(agent("dan"), 0)
        assert await tx.agent_facts("zed") is None

    assert [await pick(store, "support") for _ in range(2)] == ["dan", "dan"]
    picks = [await pick(store, "support", only_online=False) for _ in range(4)]
    assert picks == ["bob", "cat", "dan", "bob"]

    busy.status, busy.version = ConversationStatus.CLOSED, 2
    await save(store, busy)
    assert await pick(store, "support") == "dan"
    assert await pick(store, "support") == "ann"


async def test_least_open_takes_the_least_busy_ties_in_turn(store: Backend) -> None:
    team = ["ann", "bob", "cat"]
    await store.sync_directory([agent(a) for a in team], {"support": team})
    await seed(
        store,
        conversation("v1", "c1", assignee="ann"),
        conversation("v2", "c2", assignee="ann"),
        conversation("v3", "c3", assignee="bob"),
        conversation("v4", "c4", assignee="cat"),
    )

    # bob and cat have one open each, ann two: the tie goes round, ann never comes up.
    picks = [await pick(store, "support", strategy="least_open") for _ in range(3)]
    assert picks == ["bob", "cat", "bob"]


async def test_max_open_leaves_out_agents_at_the_limit(store: Backend) -> None:
    team = ["ann", "bob"]
    await store.sync_directory([agent(a) for a in team], {"support": team})
    await seed(store, conversation("v1", "c1", assignee="ann"))

    assert await pick(store, "support", max_open=1) == "bob"
    assert await pick(store, "support", max_open=1) == "bob"
    assert await pick(store, "support", max_open=2) == "ann"
    await seed(store, conversation("v2", "c2", assignee="bob"))
    assert await pick(store, "support", max_open=1) is None


async def test_a_slot_freed_in_the_transaction_can_be_picked(store: Backend) -> None:
    await store.sync_directory([agent("ann", capacity=1)], {"support": ["ann"]})
    await seed(store, conversation("v1", assignee="ann"))

    async with store.transaction() as tx:
        busy = await tx.load_conversation("v1")
        assert busy is not None
        busy.status, busy.closed_at, busy.version = ConversationStatus.CLOSED, seconds(60), 2
        await tx.save_conversation(busy)
        facts = await tx.team_facts("support")
        assert await tx.agent_facts("ann") == AgentFacts(agent("ann", capacity=1), 0)

    assert facts == TeamFacts((AgentFacts(agent("ann", capacity=1), 0),))
    choice = choose_agent(facts, Rules())
    assert choice is not None
    assert choice.agent.id == "ann"


async def test_team_facts_are_the_members_in_order_with_their_load_and_cursor(
    store: Backend,
) -> None:
    order = ["cat", "ann", "bob"]
    await store.sync_directory(
        [agent("ann", capacity=3), agent("bob", AgentStatus.AWAY), agent("cat")],
        {"support": order, "night": ["bob"]},
    )
    await seed(store, conversation("v1", "c1", assignee="ann"))

    async with store.transaction() as tx:
        before = await tx.team_facts("support")
        await tx.advance_cursor("support", "ann")
        # Saved in this transaction but not committed: the facts count it already.
        await tx.save_contact(contact("c2", external_id="u2"))
        await tx.save_conversation(conversation("v2", "c2", assignee="bob"))
        during = await tx.team_facts("support")
    async with store.transaction() as tx:
        committed = await tx.team_facts("support")
        night = await tx.team_facts("night")
        unknown = await tx.team_facts("nobody")

    cat, ann, bob = agent("cat"), agent("ann", capacity=3), agent("bob", AgentStatus.AWAY)
    assert before == TeamFacts((AgentFacts(cat, 0), AgentFacts(ann, 1), AgentFacts(bob, 0)))
    assert [(f.agent.id, f.open_count) for f in during.members] == [
        ("cat", 0),
        ("ann", 1),
        ("bob", 1),
    ]
    assert during.cursor == "ann"
    assert committed == during
    assert night == TeamFacts((AgentFacts(bob, 1),))
    assert unknown.members == ()
    assert unknown.cursor is None


async def test_two_assignments_at_once_never_give_an_agents_last_slot_twice(
    store: Backend,
) -> None:
    await store.sync_directory(
        [agent("ann", capacity=2), agent("bob", capacity=1)],
        {"support": ["ann", "bob"], "sales": ["bob", "ann"]},
    )
    await seed(store, conversation("v0", "c0", assignee="ann"))

    async def assign(n: int) -> str | None:
        """A new conversation goes to the team's next member with room, as the engine does."""
        team = "support" if n % 2 else "sales"
        async with store.transaction() as tx:
            choice = choose_agent(await tx.team_facts(team), Rules())
            await tx.save_contact(contact(f"c{n}", external_id=f"u{n}"))
            if choice is None:
                await tx.save_conversation(conversation(f"v{n}", f"c{n}"))
                return None
            await tx.advance_cursor(team, choice.cursor)
            await tx.save_conversation(conversation(f"v{n}", f"c{n}", assignee=choice.cursor))
            return choice.cursor

    given = await asyncio.gather(*(assign(n) for n in range(1, 21)))

    # ann had one of her two slots taken, bob had one: two slots were free, twenty asked.
    assert Counter(given) == {"ann": 1, "bob": 1, None: 18}
    async with store.transaction() as tx:
        loads = [await tx.agent_facts(a) for a in ("ann", "bob")]
    assert [(f.agent.id, f.open_count) for f in loads if f is not None] == [("ann", 2), ("bob", 1)]


async def test_round_robin_without_anyone_eligible_keeps_the_cursor(store: Backend) -> None:
    await store.sync_directory([agent("ann"), agent("bob")], {"support": ["ann", "bob"]})
    assert await pick(store, "support") == "ann"
    await store.set_agent_status("ann", AgentStatus.OFFLINE)
    await store.set_agent_status("bob", AgentStatus.AWAY)

    assert await pick(store, "support") is None

    await store.set_agent_status("ann", AgentStatus.ONLINE)
    await store.set_agent_status("bob", AgentStatus.ONLINE)
    assert await pick(store, "support") == "bob"


async def test_round_robin_of_an_empty_or_unknown_team_is_none(store: Backend) -> None:
    await store.sync_directory([agent("ann")], {"support": ["ann"], "night": []})

    assert await pick(store, "night") is None
    assert await pick(store, "nobody") is None
    assert await pick(store, "night", only_online=False) is None


async def test_sync_directory_keeps_the_round_robin_cursor(store: Backend) -> None:
    team = ["ann", "bob", "cat"]
    await store.sync_directory([agent(a) for a in team], {"support": team})
    assert await pick(store, "support") == "ann"

    await store.sync_directory([agent(a) for a in [*team, "dan"]], {"support": [*team, "dan"]})

    assert [await pick(store, "support") for _ in range(4)] == ["bob", "cat", "dan", "ann"]


async def test_queued_conversations_are_the_teams_waiting_longest_first(store: Backend) -> None:
    def waiting(
        conversation_id: str, team: str, since: float, assignee: str | None = None
    ) -> Conversation:
        conv = conversation(conversation_id, f"c-{conversation_id}", assignee=assignee)
        conv.team, conv.queued_at = team, seconds(since)
        return conv

    later, first = waiting("v1", "support", 20), waiting("v2", "sales", 10)
    taken = waiting("v3", "support", 5, assignee="ann")
    elsewhere = waiting("v4", "night", 1)
    ended = waiting("v5", "support", 2)
    never_queued = conversation("v6", "c-v6")
    never_queued.team = "support"
    await seed(store, later, first, taken, elsewhere, ended, never_queued)
    ended.status, ended.closed_at, ended.version = ConversationStatus.CLOSED, seconds(30), 2
    await save(store, ended)

    assert await store.queued_conversations(["support", "sales"], 10) == [first, later]
    assert await store.queued_conversations(["support", "sales"], 1) == [first]
    assert await store.queued_conversations(["night"], 10) == [elsewhere]
    assert await store.queued_conversations([], 10) == []


async def test_a_conversation_queued_for_one_agent_is_read_by_him_alone(store: Backend) -> None:
    def waiting(
        conversation_id: str, team: str | None, since: float, agent: str | None
    ) -> Conversation:
        conv = conversation(conversation_id, f"c-{conversation_id}")
        conv.team, conv.queued_at, conv.queued_for = team, seconds(since), agent
        return conv

    team_wide = waiting("w1", "support", 30, None)
    davids = waiting("w2", "support", 20, "dave")
    teamless = waiting("w3", None, 10, "dave")
    anns = waiting("w4", "support", 5, "ann")
    await seed(store, team_wide, davids, teamless, anns)

    assert await store.queued_conversations(["support"], 10) == [team_wide]
    assert await store.queued_conversations(["support"], 10, agent_id="dave") == [
        teamless,
        davids,
        team_wide,
    ]
    assert await store.queued_conversations([], 1, agent_id="dave") == [teamless]
    assert await store.queued_conversations([], 10, agent_id="ann") == [anns]
    # Taken: it waits for nobody any more.
    teamless.assignee, teamless.queued_at, teamless.queued_for = "dave", None, None
    teamless.version = 2
    await save(store, teamless)
    assert await store.queued_conversations([], 10, agent_id="dave") == [davids]


# cursors ----------------------------------------------------------------------------------


async def test_a_cursor_round_trips(store: Backend) -> None:
    await store.save_cursor("telegram:tg:offset", "41")

    assert await store.load_cursor("telegram:tg:offset") == "41"


async def test_saving_a_cursor_again_overwrites_it(store: Backend) -> None:
    await store.save_cursor("poller", "1")
    await store.save_cursor("other", "x")
    await store.save_cursor("poller", "2")

    assert await store.load_cursor("poller") == "2"
    assert await store.load_cursor("other") == "x"


async def test_an_unknown_cursor_is_none(store: Backend) -> None:
    assert await store.load_cursor("never-saved") is None


async def test_a_cursor_survives_a_restart(store: Backend, store_maker: StoreMaker) -> None:
    await store.save_cursor("poller", "1001")
    await store.close()

    reopened = store_maker()
    await reopened.open()
    try:
        assert await reopened.load_cursor("poller") == "1001"
    finally:
        await reopened.close()


# durability -------------------------------------------------------------------------------


async def test_a_reopened_store_sees_the_same_data(store: Backend, store_maker: StoreMaker) -> None:
    inbound_id = await store.record_inbound(event(1), T0)
    await seed(store, conversation())
    async with store.transaction() as tx:
        await tx.add_transcript([entry("v1", "hi", T0)])
        await tx.enqueue([message("m1", "v1")], T0)
        await tx.schedule_timer(
            Timer(
                id="t1",
                conversation_id="v1",
                conversation_key=ConversationKey("webhook", "k"),
                due_at=T0,
            )
        )
    await store.sync_directory([agent("ann"), agent("bob")], {"support": ["ann", "bob"]})
    await store.set_agent_status("bob", AgentStatus.AWAY)
    assert await pick(store, "support", only_online=False) == "ann"
    await store.close()

    reopened = store_maker()
    await reopened.open()
    try:
        assert [s.id for s in await reopened.pending_inbound(10)] == [inbound_id]
        assert await reopened.record_inbound(event(1), T0) is None
        assert await reopened.contact_at("webhook", "c1") == contact("c1", "c1")
        assert await reopened.load_conversation("v1") == conversation()
        assert [e.text for e in await reopened.transcript("v1")] == ["hi"]
        assert names(await reopened.claim_due_outbound(T0, 10, 30)) == ["m1"]
        assert [t.id for t in await reopened.due_timers(T0, 10)] == ["t1"]
        assert [a.status for a in await reopened.list_agents()] == [
            AgentStatus.ONLINE,
            AgentStatus.AWAY,
        ]
        assert await pick(reopened, "support", only_online=False) == "bob"
    finally:
        await reopened.close()


async def test_a_contact_marked_unreachable_keeps_the_first_time_until_saved_again(
    store: Backend,
) -> None:
    async with store.transaction() as tx:
        await tx.save_contact(contact())
    await store.mark_unreachable("webhook", "u1", seconds(5))
    await store.mark_unreachable("webhook", "u1", seconds(9))
    await store.mark_unreachable("webhook", "nobody", seconds(9))  # unknown: nothing happens
    stored = await store.contact_at("webhook", "u1")
    assert stored is not None
    assert stored.unreachable_since == seconds(5)
    stored.unreachable_since = None
    async with store.transaction() as tx:
        await tx.save_contact(stored)
    again = await store.contact_at("webhook", "u1")
    assert again is not None
    assert again.unreachable_since is None
    assert await store.contact_at("webhook", "nobody") is None


async def test_an_event_set_aside_is_no_longer_pending_and_keeps_its_reason(
    store: Backend,
) -> None:
    inbound_id = await store.record_inbound(event(1), T0)
    assert inbound_id is not None
    assert await store.inbound_error(inbound_id) is None
    await store.set_inbound_aside(inbound_id, seconds(1), "RuntimeError('boom')")
    assert await store.pending_inbound(10) == []
    assert await store.inbound_error(inbound_id) == "RuntimeError('boom')"
    assert await store.inbound_processed(inbound_id) is True  # no turn runs for it either


async def test_parked_events_are_listed_and_made_pending_again(store: Backend) -> None:
    stored = [await store.record_inbound(event(n), T0) for n in (1, 2, 3)]
    first, second, processed = (inbound_id or 0 for inbound_id in stored)
    assert all(stored)
    await store.set_inbound_aside(first, seconds(1), "RuntimeError('one')")
    await store.set_inbound_aside(second, seconds(2), "RuntimeError('two')")
    async with store.transaction() as tx:
        await tx.mark_processed(processed, seconds(3))

    parked = await store.parked_inbound(10)
    assert [(p.id, p.error, p.parked_at) for p in parked] == [
        (second, "RuntimeError('two')", seconds(2)),
        (first, "RuntimeError('one')", seconds(1)),
    ]
    assert parked[1].event == event(1)
    assert [p.id for p in await store.parked_inbound(1)] == [second]

    again = await store.unpark_inbound(first)
    assert again is not None
    assert (again.id, again.event) == (first, event(1))
    assert [p.id for p in await store.pending_inbound(10)] == [first]
    assert await store.inbound_error(first) is None
    assert [p.id for p in await store.parked_inbound(10)] == [second]
    # Only a parked event: not one pending, processed, or unknown.
    for not_parked in (first, processed, 999):
        assert await store.unpark_inbound(not_parked) is None


async def test_the_fields_a_workflow_saved_are_kept_with_the_contact(store: Backend) -> None:
    saved = contact().model_copy(update={"language": "fr", "workflow_fields": ["language"]})
    async with store.transaction() as tx:
        await tx.save_contact(saved)
    stored = await store.contact_at("webhook", "u1")
    assert stored is not None
    assert (stored.language, stored.workflow_fields) == ("fr", ["language"])

    stored.workflow_fields = []
    async with store.transaction() as tx:
        await tx.save_contact(stored)
    again = await store.contact_at("webhook", "u1")
    assert again is not None
    assert again.workflow_fields == []
