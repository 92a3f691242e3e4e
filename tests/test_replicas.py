"""Three `frontdesk serve` processes on one PostgreSQL schema behind a round-robin sender:
every conversation is assigned once, fairly and within capacity, every customer gets each of
their messages, and a replica killed with SIGKILL half way loses nothing (the others take its
work over once its heartbeat stops).

The size is FRONTDESK_REPLICA_CONVERSATIONS (400 here; 2000 by hand)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp

from storage.postgres import PostgresStore
from tests.support.harness import event, post_event, write_config
from tests.support.postgres import DATABASE_URL, scratch_schema
from tests.support.process import free_port, listen_on, serving, until_healthy
from tests.support.receiver import Receiver

CONVERSATIONS = int(os.environ.get("FRONTDESK_REPLICA_CONVERSATIONS", "400"))
AGENTS = ("a1", "a2", "a3", "a4")
CAPACITY = CONVERSATIONS // len(AGENTS) + 5
REPLICAS = 3
# Inbound events of the dead replica wait for the survivors' sweep (every 30 s) after its
# heartbeat has been silent for the owner timeout.
LIMIT = 90.0

_MEMBER = "  {0}: {{name: {1}, status: online, capacity: {2}}}"
DESK = "\n".join(
    [
        "agents:",
        *(_MEMBER.format(a, a.upper(), CAPACITY) for a in AGENTS),
        "teams:",
        f"  desk: {{agents: [{', '.join(AGENTS)}]}}",
    ]
)

WORKFLOW = """
name: desk
trigger: conversation_opened
steps:
  - {id: hello, type: send_message, text: "Welcome"}
  - {id: give, type: assign, team: desk, strategy: round_robin}
  - {id: told, type: send_message, text: "You have {{ agent.id }}"}
"""


class RoundRobin:
    """The load balancer: each request to the next replica; a replica that does not answer
    (killed) is passed over and the same event goes to the next, as a platform retries."""

    def __init__(self, session: aiohttp.ClientSession, urls: list[str]) -> None:
        self._session = session
        self._next = itertools.cycle(urls)

    async def post(self, body: dict[str, Any]) -> int:
        for _ in range(20):
            url = next(self._next)
            try:
                status, _ = await post_event(self._session, url, body)
            except aiohttp.ClientError:
                continue
            if status == 200:
                return status
        raise AssertionError(f"no replica accepted {body['event_id']}")


async def test_replicas_share_the_work_and_survive_a_killed_one(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"desk": WORKFLOW}, DESK)
    async with scratch_schema(heartbeat_seconds=0.5, owner_timeout_seconds=3) as settings:
        store_line = (
            "store: {type: postgres, dsn: '${FRONTDESK_DATABASE_URL}', "
            f"schema: {settings.schema_name}, heartbeat_seconds: 0.5, owner_timeout_seconds: 3}}"
        )
        config.write_text(
            config.read_text().replace("store: {type: sqlite, path: frontdesk.db}", store_line)
        )
        env = {"FRONTDESK_DATABASE_URL": DATABASE_URL}
        async with AsyncExitStack() as stack, aiohttp.ClientSession() as session:
            urls, processes = [], []
            for n in range(REPLICAS):
                replica = tmp_path / f"replica{n}.yaml"
                replica.write_text(config.read_text())
                urls.append(listen_on(replica, free_port()))
                log = tmp_path / f"replica{n}.log"
                processes.append(await stack.enter_async_context(serving(replica, log, env=env)))
            for url in urls:
                await until_healthy(session, url)
            balancer = RoundRobin(session, urls)
            contacts = [f"c{n}" for n in range(CONVERSATIONS)]
            slots = asyncio.Semaphore(32)

            async def write(contact: str) -> None:
                async with slots:
                    await balancer.post(event(contact, "hi"))
                    if contact == contacts[CONVERSATIONS // 2]:
                        os.kill(processes[1].pid, signal.SIGKILL)

            await asyncio.gather(*(write(contact) for contact in contacts))
            await receiver.wait_until(lambda r: len(r.messages) >= 2 * CONVERSATIONS, limit=LIMIT)
            store = PostgresStore(settings, tmp_path)
            await store.open()
            try:
                loads = {
                    load.agent.id: load.open_conversations for load in await store.agent_loads()
                }
                assigned = Counter[str | None]()
                for contact in contacts:
                    [conversation] = await store.conversations_of("webhook", contact)
                    assigned[conversation.assignee] += 1
            finally:
                await store.close()
        logs = "".join((tmp_path / f"replica{n}.log").read_text() for n in range(REPLICAS))

    assert sum(assigned[a] for a in AGENTS) == CONVERSATIONS, assigned
    assert max(loads.values()) - min(loads.values()) <= 1, loads
    assert max(loads.values()) <= CAPACITY, loads
    by_contact: dict[str, list[str]] = {}
    for message in receiver.messages:
        by_contact.setdefault(message["contact_id"], []).append(message["text"])
    for contact in contacts:
        [conversation_agent] = [a for a in AGENTS if f"You have {a}" in by_contact[contact]]
        assert by_contact[contact] == ["Welcome", f"You have {conversation_agent}"], contact
    assert "Traceback" not in logs
