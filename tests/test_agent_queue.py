"""A conversation that waits for one named agent, outside any team, as an operator sees it:
the agent's queue over the REST API, in `frontdesk queues`, on the console's queues page and
in /metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from core.cli import main
from tests.console.signing import CONSOLE, client, sign_in
from tests.support.harness import API_TOKEN, Running, records_of, running, write_config
from tests.support.process import listen_on
from tests.support.receiver import Receiver
from tests.test_metrics import scrape, value

DIRECTORY = """
agents:
  dave: {name: Dave, status: away}
  erin: {name: Erin, status: online}
teams:
  sales: {agents: [erin]}
"""
FOR_DAVE = """
name: for-dave
trigger: conversation_opened
steps:
  - {id: give, type: assign, agent: dave, timeout_seconds: 3600}
  - {id: told, type: send_message, text: "Dave is here."}
"""


async def get(fd: Running, path: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with fd.session.get(f"{fd.url}{path}", headers=headers) as response:
        return response.status, await response.json()


async def queues_page(fd: Running) -> str:
    """The console's queues page, signed in."""
    async with client() as http:
        await sign_in(http, fd.url)
        async with http.get(f"{fd.url}/console/queues") as response:
            assert response.status == 200
            return await response.text()


async def test_a_conversation_waiting_for_an_agent_without_a_team_is_in_his_queue(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"for-dave": FOR_DAVE}, DIRECTORY, CONSOLE)
    async with running(config) as fd:
        await fd.say("c-1", "hi", name="Ana")
        fd.clock.advance(30)
        await fd.say("c-2", "hi", name="Bea")
        fd.clock.advance(60)
        [first] = await records_of(fd.frontdesk).conversations_of("webhook", "c-1")
        assert (first.team, first.assignee, first.queued_for) == (None, None, "dave")

        status, queue = await get(fd, "/api/agents/dave/queue")
        assert status == 200
        assert queue["agent"] == "dave"
        assert [(c["contact"]["id"], c["waiting_seconds"]) for c in queue["conversations"]] == [
            ("c-1", 90.0),
            ("c-2", 60.0),
        ]
        assert await get(fd, "/api/agents/erin/queue") == (
            200,
            {"agent": "erin", "conversations": []},
        )
        assert (await get(fd, "/api/agents/nobody/queue"))[0] == 404
        assert (await get(fd, "/api/teams/sales/queue"))[1]["conversations"] == []

        samples = await scrape(fd.session, fd.url)
        assert value(samples, "frontdesk_agent_queue_depth", agent="dave") == 2
        assert value(samples, "frontdesk_agent_queue_oldest_seconds", agent="dave") == 90
        assert value(samples, "frontdesk_queued_for_agent_total", agent="dave") == 2
        # Nothing is labelled with an empty team any more.
        assert value(samples, "frontdesk_queue_depth", team="") is None
        assert value(samples, "frontdesk_queued_total", team="") is None

        page = await queues_page(fd)
        section = page[page.index('data-agent="dave"') :]
        section = section[: section.index("</section>")]
        assert "2 waiting" in section
        assert section.index(">Ana<") < section.index(">Bea<")
        assert 'data-agent="erin"' not in page.split("<h1>Agents</h1>")[0]

        # The CLI asks the running server (the config now names its port).
        listen_on(config, int(fd.url.rsplit(":", 1)[1]))
        result: Result = await asyncio.to_thread(
            CliRunner().invoke, main, ["queues", "--config", str(config)]
        )
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        blocks = result.stdout.split("\n\n")
        assert blocks[0] == "sales: 0 waiting"
        assert blocks[1].startswith("agent dave: 2 waiting\nID ")
        assert [line.split()[2] for line in blocks[1].splitlines()[2:]] == ["c-1", "c-2"]

        # Once Dave is online his conversations are his, and his queue is empty everywhere.
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with fd.session.put(
            f"{fd.url}/api/agents/dave/status", json={"status": "online"}, headers=headers
        ) as response:
            assert response.status == 200
        await fd.frontdesk.runtime.idle()
        [first] = await records_of(fd.frontdesk).conversations_of("webhook", "c-1")
        assert (first.assignee, first.queued_for) == ("dave", None)
        assert await get(fd, "/api/agents/dave/queue") == (
            200,
            {"agent": "dave", "conversations": []},
        )
        fd.clock.advance(1)  # past the second for which a scrape reuses the last count
        samples = await scrape(fd.session, fd.url)
        assert value(samples, "frontdesk_agent_queue_depth", agent="dave") is None


async def test_the_queues_page_the_cli_and_the_api_read_every_agents_queue_at_once(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, receiver.url, {"for-dave": FOR_DAVE}, DIRECTORY, CONSOLE)
    async with running(config) as fd:
        await fd.say("c-1", "hi", name="Ana")
        fd.clock.advance(30)
        store, asked = fd.frontdesk.store, []
        for name in ("agent_queue", "agent_queues"):
            read = getattr(store, name)

            async def counted(*args: Any, name: str = name, read: Any = read) -> Any:
                asked.append(name)
                return await read(*args)

            monkeypatch.setattr(store, name, counted)

        page = await queues_page(fd)
        section = page[page.index('data-agent="dave"') :]
        assert "1 waiting" in section[: section.index("</section>")]
        assert asked == ["agent_queues"]

        listen_on(config, int(fd.url.rsplit(":", 1)[1]))
        result: Result = await asyncio.to_thread(
            CliRunner().invoke, main, ["queues", "--config", str(config)]
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.split("\n\n")[1].startswith("agent dave: 1 waiting\nID ")
        assert asked == ["agent_queues"] * 2

        status, queues = await get(fd, "/api/agents/queues")
        assert status == 200
        assert [(q["agent"], len(q["conversations"])) for q in queues] == [("dave", 1)]
        assert queues[0]["conversations"][0]["waiting_seconds"] == 30.0
        assert asked == ["agent_queues"] * 3
