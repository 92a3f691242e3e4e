"""Three `frontdesk serve` processes on one PostgreSQL schema behind a round-robin sender:
every conversation is assigned once, fairly and within capacity, every customer gets each of
their messages, and a replica killed with SIGKILL half way loses nothing (the others take its
work over once its heartbeat stops).

The size is FRONTDESK_REPLICA_CONVERSATIONS (400 here; 2000 by hand)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path

import aiohttp
import asyncpg

from core.keys import ConversationKey
from storage.postgres import PostgresStore
from tests.support.harness import event, post_event
from tests.support.postgres import DATABASE_URL, scratch_schema
from tests.support.receiver import Receiver
from tests.support.replicas import cluster, desk, desk_config

CONVERSATIONS = int(os.environ.get("FRONTDESK_REPLICA_CONVERSATIONS", "400"))
AGENTS = ("a1", "a2", "a3", "a4")
CAPACITY = CONVERSATIONS // len(AGENTS) + 5
REPLICAS = 3
# The dead replica's inbound events move once its heartbeat has been silent for the owner
# timeout (3 s here); this bounds a broken test only.
LIMIT = 90.0
# A survivor's sweep comes every 30 s (`core.loops.SWEEP_INTERVAL`); a dead replica's events
# must move well before it, on the heartbeat's cadence.
TAKEOVER_LIMIT = 15.0


async def test_replicas_share_the_work_and_survive_a_killed_one(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with (
        scratch_schema(heartbeat_seconds=0.5, owner_timeout_seconds=3) as settings,
        aiohttp.ClientSession() as session,
    ):
        config = desk_config(tmp_path, receiver.url, desk(AGENTS, CAPACITY), settings)
        async with cluster(config, REPLICAS, session) as replicas:
            contacts = [f"c{n}" for n in range(CONVERSATIONS)]
            slots = asyncio.Semaphore(32)

            async def write(contact: str) -> None:
                async with slots:
                    await replicas.balancer.post(event(contact, "hi"))
                    if contact == contacts[CONVERSATIONS // 2]:
                        os.kill(replicas.processes[1].pid, signal.SIGKILL)

            await asyncio.gather(*(write(contact) for contact in contacts))
            await receiver.wait_until(lambda r: len(r.messages) >= 2 * CONVERSATIONS, LIMIT)
        store = PostgresStore(settings, tmp_path)
        await store.open()
        try:
            loads = {load.agent.id: load.open_conversations for load in await store.agent_loads()}
            assigned = Counter[str | None]()
            for contact in contacts:
                [conversation] = await store.conversations_of("webhook", contact)
                assigned[conversation.assignee] += 1
        finally:
            await store.close()
    logs = "".join(log.read_text() for log in replicas.logs)

    assert sum(assigned[a] for a in AGENTS) == CONVERSATIONS, assigned
    assert max(loads.values()) - min(loads.values()) <= 1, loads
    assert max(loads.values()) <= CAPACITY, loads
    by_contact: dict[str, list[str]] = {}
    for message in receiver.messages:
        by_contact.setdefault(message["contact_id"], []).append(message["text"])
    for contact in contacts:
        [agent] = [a for a in AGENTS if f"You have {a}" in by_contact[contact]]
        assert by_contact[contact] == ["Welcome", f"You have {agent}"], contact
    assert "Traceback" not in logs


async def test_a_killed_replicas_accepted_event_is_processed_by_another_within_seconds(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with (
        scratch_schema(heartbeat_seconds=0.5, owner_timeout_seconds=3) as settings,
        aiohttp.ClientSession() as session,
    ):
        config = desk_config(tmp_path, receiver.url, desk(AGENTS, 10), settings)
        async with cluster(config, 2, session) as replicas:
            # The conversation's turn lock, held here: the first replica stores the event
            # (200) and its turn waits, so the event is still pending when it is killed.
            blocker = await asyncpg.connect(DATABASE_URL)
            try:
                key = str(ConversationKey("webhook", "held"))
                await blocker.execute("SELECT pg_advisory_lock(hashtext($1))", key)
                status, _ = await post_event(session, replicas.urls[0], event("held", "hi"))
                os.kill(replicas.processes[0].pid, signal.SIGKILL)
                killed_at = time.monotonic()
                await blocker.execute("SELECT pg_advisory_unlock(hashtext($1))", key)
            finally:
                await blocker.close()
            await receiver.wait_until(lambda r: len(r.messages) >= 2, LIMIT)
            taken_after = time.monotonic() - killed_at
    survivor = replicas.logs[1].read_text()

    assert status == 200
    assert [m["text"] for m in receiver.messages] == ["Welcome", "You have a1"]
    assert taken_after < TAKEOVER_LIMIT, taken_after
    assert "took over events of a replica that stopped: 1" in survivor


async def test_a_killed_replicas_delivery_in_flight_is_made_by_another_within_seconds(
    tmp_path: Path, receiver: Receiver
) -> None:
    hold = asyncio.Event()

    async def first_attempt_hangs(message: dict[str, object]) -> int:
        if len(receiver.attempts) == 1:
            await hold.wait()  # the receiver never answers the first: the sender dies first
        return 200

    receiver.answer = first_attempt_hangs
    async with (
        scratch_schema(heartbeat_seconds=0.5, owner_timeout_seconds=3) as settings,
        aiohttp.ClientSession() as session,
    ):
        config = desk_config(tmp_path, receiver.url, desk(AGENTS, 10), settings)
        async with cluster(config, 2, session) as replicas:
            status, _ = await post_event(session, replicas.urls[0], event("slow", "hi"))
            await receiver.wait_until(lambda r: len(r.attempts) == 1, LIMIT)
            # The replica whose outbox leased the message (its id names its pid) dies.
            conn = await asyncpg.connect(DATABASE_URL)
            try:
                owner = await conn.fetchval(
                    f"SELECT owner FROM {settings.schema_name}.outbox WHERE status = 'pending'"
                )
            finally:
                await conn.close()
            [sender] = [p for p in replicas.processes if f":{p.pid}:" in str(owner)]
            os.kill(sender.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            await receiver.wait_until(lambda r: len(r.messages) >= 2, LIMIT)
            taken_after = time.monotonic() - killed_at
            hold.set()

    assert status == 200
    assert [m["text"] for m in receiver.messages] == ["Welcome", "You have a1"]
    # The lease (60 s) is not waited out: the survivor claims it once the owner is stale.
    assert taken_after < TAKEOVER_LIMIT, taken_after
