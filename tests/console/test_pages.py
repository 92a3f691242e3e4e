"""The console's pages and forms over HTTP: what they show and what they change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import pytest

from core.agents import AgentStatus
from tests.console.signing import client, console_config, sign_in
from tests.support.harness import SECRET, Running, records_of, running
from tests.support.receiver import Receiver


@dataclass
class Desk:
    running: Running
    receiver: Receiver
    http: aiohttp.ClientSession
    csrf: str

    async def page(self, path: str, status: int = 200) -> str:
        async with self.http.get(f"{self.running.url}{path}") as response:
            text = await response.text()
            assert response.status == status, text
            return text

    async def form(self, path: str, expect: int = 303, **fields: str) -> str:
        async with self.http.post(
            f"{self.running.url}{path}", data={"csrf": self.csrf, **fields}, allow_redirects=False
        ) as response:
            assert response.status == expect, await response.text()
            return await response.text()

    async def conversation_id(self, contact: str = "c-1") -> str:
        [conversation] = await records_of(self.running.frontdesk).conversations_of(
            "webhook", contact
        )
        return conversation.id


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    receiver = Receiver(SECRET)
    url = await receiver.start()
    try:
        async with running(console_config(tmp_path, url)) as desk, client() as http:
            await desk.say("c-1", "hello", name="Ana")
            yield Desk(desk, receiver, http, await sign_in(http, desk.url))
    finally:
        await receiver.close()


async def test_the_list_filters_like_the_api(desk: Desk) -> None:
    await desk.running.say("c-2", "hi", name="Bea")
    both = await desk.page("/console/conversations")
    assert "Ana" in both
    assert "Bea" in both
    one = await desk.page("/console/conversations?contact=c-2&status=&team=")
    assert "Bea" in one
    assert "Ana" not in one
    none = await desk.page("/console/conversations?status=closed")
    assert "No conversation matches." in none
    refused = await desk.page("/console/conversations?since=yesterday", status=400)
    assert "since: &#39;yesterday&#39; is not an ISO-8601 time" in refused
    await desk.page("/console/conversations?colour=red", status=400)


async def test_assigning_reaches_the_customer(desk: Desk) -> None:
    conversation = await desk.conversation_id()
    await desk.form(f"/console/conversations/{conversation}/assign", agent="carol")
    texts = await desk.receiver.wait_for_texts("c-1", 2)
    assert texts == ["Hi! Let me find someone for you.", "Carol will help you."]
    page = await desk.page(f"/console/conversations/{conversation}")
    assert "assigned to carol (support, hand)" in page
    assert 'class="line customer"' in page
    assert 'class="line bot"' in page
    await desk.form(f"/console/conversations/{conversation}/assign", agent="dave")
    await desk.form(f"/console/conversations/{conversation}/unassign")
    [stored] = await records_of(desk.running.frontdesk).conversations_of("webhook", "c-1")
    assert stored.assignee is None
    page = await desk.page(f"/console/conversations/{conversation}")
    assert "assigned to dave (support, hand, from carol)" in page
    assert "unassigned from dave (hand)" in page
    await desk.form(f"/console/conversations/{conversation}/unassign", expect=409)


async def test_bad_assignments_change_nothing(desk: Desk) -> None:
    conversation = await desk.conversation_id()
    await desk.form(f"/console/conversations/{conversation}/assign", expect=400, agent="zed")
    await desk.form(f"/console/conversations/{conversation}/assign", expect=400)
    await desk.form("/console/conversations/nope/assign", expect=404, agent="carol")
    [stored] = await records_of(desk.running.frontdesk).conversations_of("webhook", "c-1")
    assert stored.assignee is None
    assert stored.run is not None
    await desk.page("/console/conversations/nope", status=404)


async def test_closing(desk: Desk) -> None:
    conversation = await desk.conversation_id()
    await desk.form(f"/console/conversations/{conversation}/close")
    [stored] = await records_of(desk.running.frontdesk).conversations_of("webhook", "c-1")
    assert stored.status.value == "closed"
    await desk.form(f"/console/conversations/{conversation}/close", expect=409)
    await desk.form(f"/console/conversations/{conversation}/assign", expect=409, agent="carol")


async def test_setting_an_agents_status(desk: Desk) -> None:
    await desk.form("/console/agents/carol/status", status="online")
    # Coming online takes the team's queue: the runtime's own setter ran.
    texts = await desk.receiver.wait_for_texts("c-1", 2)
    assert texts[-1] == "Carol will help you."
    await desk.form("/console/agents/alice/status", status="away")
    agents = {a.id: a.status for a in await desk.running.frontdesk.store.list_agents()}
    assert agents["alice"] == AgentStatus.AWAY
    await desk.form("/console/agents/alice/status", expect=400, status="asleep")
    await desk.form("/console/agents/zed/status", expect=404, status="away")
    page = await desk.page("/console/queues")
    assert 'data-agent="alice"' in page
    assert "status-away" in page


async def test_queues_in_arrival_order(desk: Desk) -> None:
    await desk.running.say("c-2", "hi", name="Bea")
    page = await desk.page("/console/queues")
    assert "2 waiting" in page
    assert page.index("Ana") < page.index("Bea")


async def test_workflow_counts_and_schedules(desk: Desk) -> None:
    page = await desk.page("/console/workflows")
    assert 'class="count" data-step="give"' in page
    assert "1 waiting" in page
    # 09:00 UTC on Monday 23 November 2026 is 10:00 in Madrid: open.
    page = await desk.page("/console/schedules")
    assert "open now" in page
    assert "Tue 24 Nov closed" in page


async def test_live_updates_reach_a_signed_in_stream(desk: Desk) -> None:
    async with desk.http.get(f"{desk.running.url}/console/events") as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"] == "text/event-stream"
        assert await stream.content.readline() == b"retry: 2000\n"
        await stream.content.readline()
        await desk.running.say("c-9", "hi")
        line = await asyncio.wait_for(stream.content.readline(), 10)
        assert line == b"event: conversation\n"
        data = await asyncio.wait_for(stream.content.readline(), 10)
        assert b'"opened"' in data


async def test_open_streams_end_when_the_server_stops(desk: Desk) -> None:
    async with desk.http.get(f"{desk.running.url}/console/events") as stream:
        assert await stream.content.readline() == b"retry: 2000\n"
        await desk.running.frontdesk.app.shutdown()

        async def drained() -> None:
            while await stream.content.readline():
                pass

        await asyncio.wait_for(drained(), 5)


async def test_the_console_shows_the_running_config(desk: Desk) -> None:
    """A reload (SIGHUP) replaces the running config: the console draws the new one."""
    frontdesk = desk.running.frontdesk
    assert "schedule-office" in await desk.page("/console/schedules")
    frontdesk.config = replace(frontdesk.config, schedules={})
    assert "No schedules in the config." in await desk.page("/console/schedules")
