"""What an operator sees of a real `frontdesk serve` process: a customer routed by team is
found by their own contact id through the API and the CLI, with its transcript and the
history of its assignment, counted in /metrics and followed in the JSON log; with the server
stopped the CLI still answers from the store."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from core.models import Attachment, ContactProfile, Inbound
from tests.support.harness import (
    API_TOKEN,
    SECRET,
    START,
    event,
    post_event,
    running,
    write_config,
)
from tests.support.process import (
    free_port,
    listen_on,
    run_frontdesk,
    serving,
    until_healthy,
)
from tests.support.receiver import Receiver

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
CLI_TIMEOUT = 30


async def cli(*args: str) -> tuple[int, str, str]:
    return await run_frontdesk(*args, limit=CLI_TIMEOUT)


async def get(session: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with session.get(url, params=params, headers=AUTH) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def counted(session: aiohttp.ClientSession, url: str) -> dict[tuple[str, str], float]:
    """The scrape's samples by name and labels (as `k=v,...`, sorted)."""
    async with session.get(f"{url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {
        (s.name, ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_an_operator_finds_a_routed_conversation_by_the_contacts_own_id(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    url = listen_on(config, free_port())
    log = tmp_path / "frontdesk.log"
    async with aiohttp.ClientSession() as session:
        async with serving(config, log, "--log-format", "json"):
            await until_healthy(session, url)
            assert (await post_event(session, url, event("c-1", "Hello", name="Ana")))[0] == 200
            await receiver.wait_for_texts("c-1", 2)
            assert (await post_event(session, url, event("c-1", "support")))[0] == 200
            texts = await receiver.wait_for_texts("c-1", 3)
            assert texts[2] == "Thanks! Carol from Support will help you shortly."
            # Another customer, still answering the question.
            assert (await post_event(session, url, event("c-2", "Hi")))[0] == 200
            await receiver.wait_for_texts("c-2", 2)

            page = await get(session, f"{url}/api/conversations", contact="c-1")
            [listed] = page["conversations"]
            assert page["next"] is None
            conversation_id = listed["id"]
            # Every message the receiver got names its conversation.
            assert {
                m["conversation_id"] for m in receiver.messages if m["contact_id"] == "c-1"
            } == {conversation_id}
            assert listed["contact"] == {"id": "c-1", "name": "Ana"}
            assert (listed["status"], listed["team"], listed["assignee"]) == (
                "open",
                "support",
                "carol",
            )
            waiting = await get(session, f"{url}/api/conversations", status="waiting")
            assert [c["contact"]["id"] for c in waiting["conversations"]] == ["c-2"]
            assert waiting["conversations"][0]["waiting_for"] == "answer"

            shown = await get(session, f"{url}/api/conversations/{conversation_id}")
            assert [e["kind"] for e in shown["history"]] == ["opened", "assigned"]
            assigned = shown["history"][1]
            assert (assigned["agent_id"], assigned["by"], assigned["strategy"]) == (
                "carol",
                "workflow",
                "round_robin",
            )
            assert assigned["team"] == "support"
            said = [
                (e["direction"], e["text"], e["option_id"], e["step_id"])
                for e in shown["transcript"]
            ]
            assert said == [
                ("in", "Hello", None, None),
                ("out", "Hi Ana! Welcome to Example Co.", None, "welcome"),
                ("out", "Which team would you like to talk to?", None, "ask_team"),
                ("in", "support", "support", None),  # typed, and taken as the option
                ("out", "Thanks! Carol from Support will help you shortly.", None, "tell_assignee"),
            ]
            assert [o["id"] for o in shown["transcript"][2]["options"]] == ["sales", "support"]
            other = await get(
                session, f"{url}/api/conversations/{waiting['conversations'][0]['id']}"
            )
            assert other["position"]["workflow"] == "route-by-team"
            assert (other["position"]["step_id"], other["position"]["waiting_for"]) == (
                "ask_team",
                "answer",
            )

            # The CLI asks the server.
            status, out, err = await cli(
                "conversations", "list", "--config", str(config), "--contact", "c-1", "--json"
            )
            assert (status, err) == (0, "")
            assert json.loads(out) == page
            status, out, err = await cli("conversations", "list", "--config", str(config))
            assert status == 0
            header, *rows = out.splitlines()
            assert header.split() == [
                "ID", "CHANNEL", "CONTACT", "STATUS", "WAITING", "TEAM", "ASSIGNEE", "OPENED"
            ]  # fmt: skip
            [row] = [r for r in rows if r.startswith(conversation_id)]
            assert row.split()[1:8] == ["webhook", "c-1", "(Ana)", "open", "-", "support", "carol"]
            assert len(rows) == 2
            status, out, err = await cli(
                "conversations", "show", conversation_id[:12], "--config", str(config), "--json"
            )
            assert status == 0
            assert json.loads(out) == shown

            # What the journey did, in numbers: three events in, the steps it ran, Carol's
            # assignment, and the five messages the receiver took.
            samples = await counted(session, url)
            assert (
                samples[("frontdesk_inbound_events_total", "channel=webhook,outcome=accepted")] == 3
            )
            steps = {k[1]: v for k, v in samples.items() if k[0] == "frontdesk_steps_total"}
            assert steps["step_type=ask_question,workflow=route-by-team"] == 2
            assert steps["step_type=assign,workflow=route-by-team"] == 1
            assignment = "by=workflow,strategy=round_robin,team=support"
            assert samples[("frontdesk_assignments_total", assignment)] == 1
            sent = samples[("frontdesk_deliveries_total", "channel=webhook,outcome=sent")]
            assert sent == len(receiver.messages) == 5

        # The log: one JSON object a line, the journey's lines under its conversation id, and
        # no configured secret anywhere in it.
        text = log.read_text()
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        mine = [line for line in lines if line.get("conversation_id") == conversation_id]
        assert {"conversation opened", "assigned to carol (support, workflow, round_robin)"} <= {
            line["message"] for line in mine
        }
        assert all(line["channel"] == "webhook" for line in mine)
        assert SECRET not in text
        assert API_TOKEN not in text

        # The server has stopped: the CLI reads the store, and says so once on stderr.
        status, out, err = await cli(
            "conversations", "list", "--config", str(config), "--contact", "c-1", "--json"
        )
        assert status == 0
        assert json.loads(out) == page
        assert len(err.splitlines()) == 1
        assert "reading the store directly" in err
        status, out, err = await cli(
            "conversations", "show", conversation_id, "--config", str(config)
        )
        assert status == 0
        assert "assigned to carol (support) by workflow, round_robin" in out
        assert "> Thanks! Carol from Support will help you shortly.  (tell_assignee)" in out
        status, out, err = await cli("agents", "--config", str(config), "--json")
        assert status == 0
        loads = {a["id"]: (a["open_conversations"], a["teams"]) for a in json.loads(out)}
        assert loads["carol"] == (1, ["support"])
        assert loads["alice"] == (0, ["sales"])
    assert "Traceback" not in log.read_text()


PAUSE = """
name: pause
trigger: conversation_opened
steps:
  - {id: hold, type: send_message, text: "One moment..."}
  - {id: pause, type: wait, seconds: 600}
  - {id: bye, type: close_conversation}
"""


async def test_show_has_the_attachment_the_timer_and_the_close(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"pause": PAUSE})
    async with running(config) as fd:
        where = Attachment(kind="location", latitude=40.4, longitude=-3.7)
        accepted = await fd.frontdesk.runtime.accept(
            Inbound(
                channel="webhook",
                event_id="e-1",
                contact=ContactProfile(external_id="c-9"),
                attachment=where,
            )
        )
        assert accepted
        await fd.frontdesk.runtime.idle()
        page = await get(fd.session, f"{fd.url}/api/conversations", contact="c-9")
        [listed] = page["conversations"]
        path = f"{fd.url}/api/conversations/{listed['id']}"

        shown = await get(fd.session, path)
        assert shown["transcript"][0]["attachment"] == {
            "kind": "location",
            "latitude": 40.4,
            "longitude": -3.7,
        }
        assert shown["position"] == {
            "workflow": "pause",
            "step_id": "pause",
            "waiting_for": "timer",
            "until": (START + timedelta(seconds=600)).isoformat(),
        }
        await fd.advance(600)
        await fd.frontdesk.runtime.idle()
        shown = await get(fd.session, path)
        assert [e["kind"] for e in shown["history"]] == ["opened", "closed"]
        assert shown["status"] == "closed"
        assert shown["position"] is None
