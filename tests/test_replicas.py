"""Three `frontdesk serve` processes on one PostgreSQL schema behind a round-robin sender:
every conversation is assigned once, fairly and within capacity, every customer gets each of
their messages, and a replica killed with SIGKILL half way loses nothing (the others take its
work over once its heartbeat stops).

The size is FRONTDESK_REPLICA_CONVERSATIONS (400 here; 2000 by hand)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import aiohttp

from storage.postgres import PostgresStore
from tests.support.harness import event
from tests.support.postgres import scratch_schema
from tests.support.receiver import Receiver
from tests.support.replicas import cluster, desk, desk_config

CONVERSATIONS = int(os.environ.get("FRONTDESK_REPLICA_CONVERSATIONS", "400"))
AGENTS = ("a1", "a2", "a3", "a4")
CAPACITY = CONVERSATIONS // len(AGENTS) + 5
REPLICAS = 3
# The dead replica's inbound events wait for a survivor's sweep (every 30 s) once its
# heartbeat has been silent for the owner timeout; this bounds a broken test only.
LIMIT = 90.0


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
