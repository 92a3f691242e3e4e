"""What holds across replicas on one PostgreSQL schema: two stores on it play two replicas.

Work in flight (inbound events, timers, outbound leases) stays with a live owner and moves to
another replica only once its owner has signed off or its heartbeat has stopped; one replica
leads a job; assignment stays fair and within capacity when both pick at once."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from core.assignment import Rules, choose_agent
from core.errors import ConcurrentUpdate, StoreUnavailable, Unstorable
from core.keys import ConversationKey
from core.models import Timer
from storage.postgres import PostgresSettings, PostgresStore
from tests.storage.builders import (
    T0,
    agent,
    contact,
    conversation,
    enqueue,
    event,
    message,
    seconds,
    seed,
)
from tests.support.postgres import DATABASE_URL, scratch_schema
from tests.support.process import FRONTDESK, free_port
from tests.support.waiting import until

# Long enough that a live store never misses a beat during a test; a "dead" one is made by
# putting its last beat in the past.
SLOW_BEAT = {"heartbeat_seconds": 60.0, "owner_timeout_seconds": 5.0}


@asynccontextmanager
async def replicas(tmp_path: Path, count: int = 2) -> AsyncIterator[list[PostgresStore]]:
    async with scratch_schema(**SLOW_BEAT) as settings:
        stores = [PostgresStore(settings, tmp_path) for _ in range(count)]
        for store in stores:
            await store.open()
        try:
            yield stores
        finally:
            for store in stores:
                await store.close()


async def stop_beating(store: PostgresStore) -> None:
    """As if the replica had crashed: its last beat long ago, and never another."""
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        schema = store._settings.schema_name
        await conn.execute(
            f"UPDATE {schema}.replicas SET beat_at = now() - interval '1 hour' WHERE id = $1",
            store.replica,
        )
    finally:
        await conn.close()


async def test_an_event_stays_with_its_live_owner_and_moves_when_it_dies(
    tmp_path: Path,
) -> None:
    async with replicas(tmp_path, 3) as (first, second, third):
        inbound_id = await first.record_inbound(event(1), T0)

        assert await second.pending_inbound(10) == []
        assert [item.id for item in await first.pending_inbound(10)] == [inbound_id]
        await stop_beating(first)
        assert [item.id for item in await second.pending_inbound(10)] == [inbound_id]
        # Now the second's: the third does not take it too.
        assert await third.pending_inbound(10) == []


async def test_only_the_events_of_a_dead_replica_are_orphaned(tmp_path: Path) -> None:
    async with replicas(tmp_path, 3) as (first, second, third):
        dead_ones = [await first.record_inbound(event(n), T0) for n in (1, 2)]
        own = await second.record_inbound(event(3), T0)
        live_ones = await third.record_inbound(event(4), T0)

        assert await second.orphaned_inbound(10) == []  # everyone still beats
        await stop_beating(first)
        taken = [item.id for item in await second.orphaned_inbound(10)]
        # Now the second's: the third does not take them too, and the rest stay where they are.
        assert await third.orphaned_inbound(10) == []
        assert [item.id for item in await second.pending_inbound(10)] == [*dead_ones, own]
        assert [item.id for item in await third.pending_inbound(10)] == [live_ones]

    assert taken == dead_ones
    assert second.takeover_seconds == SLOW_BEAT["heartbeat_seconds"]


async def test_a_replica_that_signs_off_leaves_its_events_at_once(tmp_path: Path) -> None:
    async with replicas(tmp_path) as (first, second):
        inbound_id = await first.record_inbound(event(1), T0)
        await first.close()

        assert [item.id for item in await second.pending_inbound(10)] == [inbound_id]


async def test_an_event_processed_elsewhere_is_not_processed_again(tmp_path: Path) -> None:
    async with replicas(tmp_path) as (first, second):
        inbound_id = await first.record_inbound(event(1), T0)
        assert inbound_id is not None
        async with first.transaction() as tx:
            await tx.mark_processed(inbound_id, T0)

        async def second_turn() -> None:
            async with second.transaction() as tx:
                await tx.save_contact(contact("late", external_id="late"))
                await tx.save_conversation(conversation("late", "late"))
                await tx.mark_processed(inbound_id, seconds(1))

        # A second turn for the same event (its owner was wrongly thought dead) is undone.
        with pytest.raises(ConcurrentUpdate):
            await second_turn()
        assert await second.load_conversation("late") is None


async def test_a_lease_of_a_live_owner_is_kept_and_one_of_a_dead_owner_is_taken_over(
    tmp_path: Path,
) -> None:
    async with replicas(tmp_path) as (first, second):
        await seed(first, conversation("v1"))
        await enqueue(first, message("m1", "v1"))
        [claimed] = await first.claim_due_outbound(seconds(1), 10, lease_seconds=600)

        assert await second.claim_due_outbound(seconds(2), 10, lease_seconds=600) == []
        await stop_beating(first)
        [taken] = await second.claim_due_outbound(seconds(3), 10, lease_seconds=600)
        assert taken.id == claimed.id


async def test_a_due_timer_fires_on_one_replica_and_moves_when_it_dies(tmp_path: Path) -> None:
    async with replicas(tmp_path) as (first, second):
        await seed(first, conversation("v1"))
        async with first.transaction() as tx:
            await tx.schedule_timer(
                Timer(
                    id="t1",
                    conversation_id="v1",
                    conversation_key=ConversationKey("webhook", "k"),
                    due_at=T0,
                )
            )

        assert [t.id for t in await first.due_timers(seconds(1), 10)] == ["t1"]
        assert await second.due_timers(seconds(1), 10) == []
        await stop_beating(first)
        assert [t.id for t in await second.due_timers(seconds(2), 10)] == ["t1"]


async def test_one_replica_leads_a_job_and_another_takes_over_when_it_dies(
    tmp_path: Path,
) -> None:
    async with replicas(tmp_path) as (first, second):
        assert await first.lead("telegram:bot")
        assert await first.lead("telegram:bot")  # asked again: still the leader
        assert not await second.lead("telegram:bot")
        assert await second.lead("telegram:other")
        # The leader's connection ends as a crash would end it.
        conn = await asyncpg.connect(DATABASE_URL)
        try:
            await conn.execute("SELECT pg_terminate_backend($1)", first.leader_pid())
        finally:
            await conn.close()
        await until(lambda: second.lead("telegram:bot"))
        assert not await first.lead("telegram:bot")


async def test_round_robin_stays_fair_and_within_capacity_across_replicas(
    tmp_path: Path,
) -> None:
    async with replicas(tmp_path) as (first, second):
        await first.sync_directory(
            [agent(name, capacity=10) for name in ("a", "b", "c")], {"crew": ["a", "b", "c"]}
        )

        async def assign(store: PostgresStore, n: int) -> str | None:
            # As the engine does: the pick and the assignment in one transaction.
            async with store.transaction() as tx:
                choice = choose_agent(await tx.team_facts("crew"), Rules())
                if choice is not None:
                    await tx.advance_cursor("crew", choice.cursor)
                await tx.save_contact(contact(f"k{n}", external_id=f"k{n}"))
                assignee = None if choice is None else choice.agent.id
                await tx.save_conversation(conversation(f"v{n}", f"k{n}", assignee=assignee))
            return assignee

        picks = await asyncio.gather(*(assign(first if n % 2 else second, n) for n in range(40)))
        assert Counter(picks) == {"a": 10, "b": 10, "c": 10, None: 10}


async def test_an_unreachable_server_is_named_without_its_password(tmp_path: Path) -> None:
    settings = PostgresSettings(
        dsn=SecretStr("postgresql://frontdesk:s3cret-pw@127.0.0.1:9/crm"), schema_name="x"
    )
    store = PostgresStore(settings, tmp_path)

    with pytest.raises(StoreUnavailable) as raised:
        await store.open()
    assert "127.0.0.1:9/crm" in str(raised.value)
    assert "s3cret-pw" not in str(raised.value)


async def test_serve_says_which_server_it_cannot_reach_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "frontdesk.yaml"
    config.write_text(
        f"""
server: {{host: 127.0.0.1, port: {free_port()}}}
store: {{type: postgres, dsn: "${{FRONTDESK_DATABASE_URL}}"}}
api: {{token: abcdefghijklmnopqrstuvwxyz0123456789}}
channels:
  webhook:
    type: webhook
    secret: abcdefghijklmnopqrstuvwxyz0123456789
    callback_url: http://127.0.0.1:9/callback
workflows: []
"""
    )
    process = await asyncio.create_subprocess_exec(
        str(FRONTDESK),
        "serve",
        "--config",
        str(config),
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "FRONTDESK_DATABASE_URL": "postgresql://fd:s3cret-pw@127.0.0.1:9/prod"},
    )
    _, err = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == 1
    [line] = err.decode().splitlines()
    assert "cannot connect to PostgreSQL at 127.0.0.1:9/prod" in line
    assert "s3cret-pw" not in line


async def test_an_event_postgresql_cannot_hold_is_unstorable_and_stores_nothing(
    tmp_path: Path,
) -> None:
    async with replicas(tmp_path, 1) as (store,):
        # PostgreSQL's text holds no NUL character; JSON escapes it, a plain column cannot.
        bad = event(1).model_copy(update={"event_id": "e\x001"})

        with pytest.raises(Unstorable):
            await store.record_inbound(bad, T0)
        assert await store.pending_inbound(10) == []
        assert await store.record_inbound(event(2), T0) is not None


async def test_a_starting_replica_takes_back_only_what_dead_ones_held(tmp_path: Path) -> None:
    async with replicas(tmp_path) as (first, second):
        await seed(first, conversation("v1"))
        await enqueue(first, message("m1", "v1"))
        async with first.transaction() as tx:
            await tx.schedule_timer(
                Timer(
                    id="request",
                    conversation_id="v1",
                    conversation_key=ConversationKey("webhook", "k"),
                    due_at=seconds(60),
                    lease=True,
                )
            )
        [claimed] = await first.claim_due_outbound(seconds(1), 10, lease_seconds=600)

        nothing = await second.take_back(seconds(2), ())
        assert (nothing.resent, nothing.uncertain, nothing.requests) == (0, [], 0)
        assert await second.claim_due_outbound(seconds(2), 10, lease_seconds=600) == []
        await stop_beating(first)
        taken = await second.take_back(seconds(3), ())

        assert (taken.resent, taken.uncertain, taken.requests) == (1, [], 1)
        [again] = await second.claim_due_outbound(seconds(3), 10, lease_seconds=600)
        assert again.id == claimed.id
        assert [t.id for t in await second.due_timers(seconds(3), 10)] == ["request"]


async def test_a_message_in_flight_when_its_replica_died_is_not_sent_again_on_skip(
    tmp_path: Path,
) -> None:
    async with replicas(tmp_path) as (first, second):
        await second.take_back(T0, {"webhook"})  # as serve does at start, after_crash: skip
        await seed(first, conversation("v1"))
        await enqueue(first, message("m1", "v1"), message("m2", "v1"))
        await first.claim_due_outbound(seconds(1), 10, lease_seconds=600)
        await stop_beating(first)  # it dies while the second runs

        # A claim neither sends it again nor passes it, even once its lease has run out:
        # it is the takeover's.
        assert await second.claim_due_outbound(seconds(2), 10, lease_seconds=600) == []
        assert await second.claim_due_outbound(seconds(700), 10, lease_seconds=600) == []
        [m1, m2] = await second.outbox("v1")
        assert (m1.status, m2.status) == ("pending", "pending")
        [forsaken] = await second.orphaned_outbound()
        assert forsaken.message.message_id == "m1"
        assert await second.orphaned_outbound() == []

        [after] = await second.claim_due_outbound(seconds(2), 10, lease_seconds=600)

        assert after.message.message_id == "m2"
        [m1, _] = await second.outbox("v1")
        assert (m1.status, m1.sent_at) == ("uncertain", None)


async def test_without_skip_channels_a_dead_replicas_message_is_claimed_again(
    tmp_path: Path,
) -> None:
    async with replicas(tmp_path) as (first, second):
        await second.take_back(T0, ())  # every channel sends again after a crash
        await seed(first, conversation("v1"))
        await enqueue(first, message("m1", "v1"))
        [claimed] = await first.claim_due_outbound(seconds(1), 10, lease_seconds=600)
        await stop_beating(first)

        assert await second.orphaned_outbound() == []
        [again] = await second.claim_due_outbound(seconds(2), 10, lease_seconds=600)

        assert again.id == claimed.id
