"""The contract of the Records port (what operators read), run on every store backend of the
contract suite: a store must answer each listing exactly as `ConversationFilter.matches`
says, in order, paged without gaps, and keep each conversation's history with its turn."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.agents import AgentStatus
from core.events import AssignedBy, ConversationAssigned, ConversationOpened, ConversationQueued
from core.keys import ConversationKey
from core.listing import ConversationFilter, ListedConversation, ListQuery, ListStatus, Position
from core.models import (
    Attachment,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Notice,
    NoticeKind,
    Run,
    Timer,
    TranscriptEntry,
    Waiting,
)
from core.ports import Records, Store
from core.ports import Waiting as Waiting_
from tests.storage.builders import T0, agent, conversation, enqueue, message, seconds, seed


def records(store: Store) -> Records:
    assert isinstance(store, Records)
    return store


def waiting_run(kind: str = "answer", timer_id: str | None = None) -> Run:
    return Run(
        workflow="w",
        workflow_hash="h",
        trigger="conversation_opened",
        waiting=Waiting(kind=kind, step_id="ask", timer_id=timer_id),
    )


def variety() -> list[Conversation]:
    """Conversations of every kind the filters tell apart; several opened at the same time."""
    made = []
    for n in range(24):
        v = conversation(f"v{n:02}", f"c{n % 6}", opened_at=seconds(60 * (n // 3)))
        v.channel = "telegram" if n % 4 == 0 else "webhook"
        v.team = ("sales", "support", None)[n % 3]
        if n % 5 == 0:
            v.status = ConversationStatus.CLOSED
            v.closed_at = seconds(10_000)
        elif n % 5 == 1:
            v.assignee = "ann" if n % 2 else "bob"
        elif n % 5 == 2:
            v.queued_at = seconds(5_000 - n)
        if n % 7 in (1, 2):
            v.run = waiting_run()
        made.append(v)
    return made


async def seed_variety(store: Store) -> dict[str, tuple[Conversation, Contact]]:
    """`variety()` stored, each with a contact of its own. A contact's id on their channel
    repeats on the other channel: telegram's u1 is not webhook's u1."""
    made: dict[str, tuple[Conversation, Contact]] = {}
    async with store.transaction() as tx:
        for n, v in enumerate(variety()):
            external_id = f"u{n + 1}" if v.channel == "telegram" else f"u{n}"
            person = Contact(
                id=f"k{n:02}", channel=v.channel, external_id=external_id, created_at=T0
            )
            v.contact_id = person.id
            await tx.save_contact(person)
            await tx.save_conversation(v)
            made[v.id] = (v, person)
    return made


def expected(made: dict[str, tuple[Conversation, Contact]], where: ConversationFilter) -> list[str]:
    chosen = [v for v, person in made.values() if where.matches(v, person)]
    chosen.sort(key=lambda v: (v.opened_at, v.id), reverse=True)
    return [v.id for v in chosen]


def ids(listed: list[ListedConversation]) -> list[str]:
    return [item.conversation.id for item in listed]


FILTERS = [
    ConversationFilter(),
    *(ConversationFilter(status=status) for status in ListStatus),
    ConversationFilter(team="sales"),
    ConversationFilter(assignee="ann"),
    ConversationFilter(channel="telegram"),
    ConversationFilter(contact="u1"),
    ConversationFilter(contact="u1", channel="telegram"),
    ConversationFilter(since=seconds(120), until=seconds(300)),
    ConversationFilter(status=ListStatus.OPEN, team="support", since=seconds(60)),
    ConversationFilter(status=ListStatus.WAITING, channel="webhook"),
    ConversationFilter(team="nobody"),
]


@pytest.mark.parametrize("where", FILTERS, ids=lambda f: repr(f.model_dump(exclude_none=True)))
async def test_a_listing_is_what_the_filter_matches_newest_first(
    store: Store, where: ConversationFilter
) -> None:
    made = await seed_variety(store)

    listed = await records(store).list_conversations(ListQuery(filter=where, limit=500))

    assert ids(listed) == expected(made, where)
    assert all(item.contact.id == item.conversation.contact_id for item in listed)


@pytest.mark.parametrize(
    "where", [ConversationFilter(), ConversationFilter(status=ListStatus.OPEN)]
)
async def test_pages_cover_a_listing_once_even_among_equal_times(
    store: Store, where: ConversationFilter
) -> None:
    made = await seed_variety(store)
    seen: list[str] = []
    after: Position | None = None
    for _ in range(30):
        page = await records(store).list_conversations(
            ListQuery(filter=where, after=after, limit=4)
        )
        seen += ids(page)
        if len(page) < 4:
            break
        after = page[-1].position

    assert seen == expected(made, where)


async def test_history_is_kept_with_its_turn_in_order(store: Store) -> None:
    opened = ConversationOpened(at=T0)
    assigned = ConversationAssigned(
        at=seconds(1), agent_id="ann", team="sales", by=AssignedBy.WORKFLOW, strategy="least_open"
    )
    await seed(store, conversation("v1"))

    async def turn_that_fails() -> None:
        async with store.transaction() as tx:
            await tx.add_history("v1", [ConversationQueued(at=seconds(2), team="sales")])
            raise RuntimeError("the turn fails")

    async with store.transaction() as tx:
        await tx.add_history("v1", [opened, assigned])
    with pytest.raises(RuntimeError):
        await turn_that_fails()

    record = await records(store).conversation_record("v1")
    assert record is not None
    assert record.history == [opened, assigned]
    assert await records(store).conversation_record("nope") is None


async def test_a_record_has_its_contact_transcript_and_the_due_time_it_waits_for(
    store: Store,
) -> None:
    waiting = conversation("v1")
    waiting.run = waiting_run("timer", timer_id="v1.1")
    photo = Attachment(kind="photo", file_id="f-1", latitude=None)
    place = Attachment(kind="location", latitude=40.4, longitude=-3.7)
    entries = [
        TranscriptEntry(
            conversation_id="v1",
            direction=Direction.IN,
            text=None,
            message_id=f"v1.{n}",
            at=seconds(n),
            attachment=attachment,
        )
        for n, attachment in enumerate((photo, place, None), start=2)
    ]
    async with store.transaction() as tx:
        await tx.save_contact(Contact(id="c1", channel="webhook", external_id="u1", created_at=T0))
        await tx.save_conversation(waiting)
        await tx.add_transcript(entries)
        await tx.schedule_timer(
            Timer(
                id="v1.1",
                conversation_id="v1",
                conversation_key=ConversationKey("webhook", "u1"),
                due_at=seconds(300),
            )
        )

    record = await records(store).conversation_record("v1")

    assert record is not None
    assert record.contact.external_id == "u1"
    assert record.transcript == entries
    assert record.timer_due == seconds(300)


async def test_ids_are_found_by_a_literal_prefix(store: Store) -> None:
    await seed(
        store,
        conversation("abc123", "c1"),
        conversation("abc456", "c2"),
        conversation("abd000", "c3"),
        conversation("a%c999", "c4"),
    )

    assert await records(store).conversation_ids("abc", 10) == ["abc123", "abc456"]
    assert await records(store).conversation_ids("abc", 1) == ["abc123"]
    assert await records(store).conversation_ids("abd000", 10) == ["abd000"]
    assert await records(store).conversation_ids("a%", 10) == ["a%c999"]
    assert await records(store).conversation_ids("b", 10) == []


async def test_a_team_queue_is_in_arrival_order(store: Store) -> None:
    await store.sync_directory([agent("ann")], {"sales": ["ann"], "support": []})
    made = []
    for n, queued_at in enumerate((30, 10, 20)):
        v = conversation(f"v{n}", f"c{n}", opened_at=seconds(n))
        v.team, v.queued_at = "sales", seconds(queued_at)
        made.append(v)
    taken = conversation("v3", "c3", assignee="ann")
    taken.team = "sales"
    other = conversation("v4", "c4")
    other.team, other.queued_at = "support", seconds(5)
    await seed(store, *made, taken, other)

    queue = await records(store).team_queue("sales")

    assert queue is not None
    assert ids(queue) == ["v1", "v2", "v0"]
    assert await records(store).team_queue("support") is not None
    assert await records(store).team_queue("nobody") is None


async def test_an_agents_queue_holds_what_waits_for_him_alone(store: Store) -> None:
    await store.sync_directory([agent("ann"), agent("dave")], {"sales": ["ann"]})
    made = []
    for n, (team, queued_at, queued_for) in enumerate(
        [(None, 30, "dave"), ("sales", 10, "dave"), ("sales", 5, None), (None, 1, "ann")]
    ):
        v = conversation(f"v{n}", f"c{n}", opened_at=seconds(n))
        v.team, v.queued_at, v.queued_for = team, seconds(queued_at), queued_for
        made.append(v)
    await seed(store, *made)

    found = records(store)
    queue = await found.agent_queue("dave")
    assert queue is not None
    assert ids(queue) == ["v1", "v0"]
    # Dave's, not the team's: nobody else in sales may take it.
    sales = await found.team_queue("sales")
    assert sales is not None
    assert ids(sales) == ["v2"]
    assert await found.agent_queue("nobody") is None
    workload = await found.workload()
    assert workload.queues == {"sales": Waiting_(count=1, oldest=seconds(5))}
    assert workload.agent_queues == {
        "ann": Waiting_(count=1, oldest=seconds(1)),
        "dave": Waiting_(count=2, oldest=seconds(10)),
    }


async def test_every_agents_queue_is_read_at_once(store: Store) -> None:
    await store.sync_directory(
        [agent("ann"), agent("bob"), agent("dave")], {"sales": ["ann", "bob"]}
    )
    made = []
    for n, (team, queued_at, queued_for) in enumerate(
        [
            (None, 30, "dave"),
            ("sales", 10, "dave"),
            ("sales", 5, None),
            (None, 1, "ann"),
            (None, 2, "gone"),  # an agent no longer in the directory
        ]
    ):
        v = conversation(f"v{n}", f"c{n}", opened_at=seconds(n))
        v.team, v.queued_at, v.queued_for = team, seconds(queued_at), queued_for
        made.append(v)
    taken = conversation("v5", "c5", assignee="dave")
    taken.queued_for = "dave"
    await seed(store, *made, taken)

    queues = await records(store).agent_queues()

    assert list(queues) == ["ann", "dave"]  # bob: nobody waits for him
    assert {agent_id: ids(queue) for agent_id, queue in queues.items()} == {
        "ann": ["v3"],
        "dave": ["v1", "v0"],
    }
    for agent_id, queue in queues.items():
        assert queue == await records(store).agent_queue(agent_id)


async def test_agents_come_with_their_teams_and_open_conversations(store: Store) -> None:
    await store.sync_directory(
        [agent("ann"), agent("bob"), agent("cy")], {"support": ["bob", "ann"], "sales": ["ann"]}
    )
    closed = conversation("v2", "c2", assignee="ann")
    closed.status, closed.closed_at = ConversationStatus.CLOSED, seconds(9)
    await seed(
        store,
        conversation("v0", "c0", assignee="ann"),
        conversation("v1", "c1", assignee="ann", opened_at=T0 + timedelta(hours=1)),
        closed,
        conversation("v3", "c3", assignee="bob"),
    )

    loads = await records(store).agent_loads()

    assert [(a.agent.id, a.teams, a.open_conversations) for a in loads] == [
        ("ann", ["sales", "support"], 2),
        ("bob", ["support"], 1),
        ("cy", [], 0),
    ]


async def test_workload_counts_what_is_open_and_waiting(store: Store) -> None:
    await store.sync_directory(
        [agent("ann"), agent("bob", AgentStatus.AWAY)], {"sales": ["ann", "bob"]}
    )
    queued = [conversation(f"q{n}", f"q{n}", opened_at=seconds(n)) for n in range(2)]
    for n, waiting in enumerate(queued):
        waiting.team, waiting.queued_at = "sales", seconds(10 + n)
    taken = conversation("a1", "a1", assignee="ann")
    await seed(store, *queued, taken)
    notice = Notice(kind=NoticeKind.MESSAGE, conversation_id="a1", handoff_id="h1", at=T0)
    desk = message("d1", "a1").model_copy(update={"channel": "slack", "notice": notice})
    await enqueue(store, message("m1", "a1"), message("m2", "q0"), at=seconds(20))
    await enqueue(store, desk, at=seconds(30))

    found = await records(store).workload()

    assert found.queues == {"sales": Waiting_(count=2, oldest=seconds(10))}
    assert found.open_conversations == {"webhook": 3}
    assert found.agents == {AgentStatus.ONLINE: 1, AgentStatus.AWAY: 1, AgentStatus.OFFLINE: 0}
    assert found.outbox == {
        ("webhook", "customer"): Waiting_(count=2, oldest=seconds(20)),
        ("slack", "desk"): Waiting_(count=1, oldest=seconds(30)),
    }
