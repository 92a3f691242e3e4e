"""Agents: the status API, and round robin under concurrent conversations."""

from __future__ import annotations

from pathlib import Path

from tests.support.harness import API_TOKEN, running, write_config
from tests.support.receiver import Receiver

ASSIGN_NOW = """
name: assign-now
trigger: conversation_opened
steps:
  - {id: give, type: assign, team: crew}
  - {id: told, type: send_message, text: "You have {{ agent.name }}"}
"""

CREW = """
agents:
  a1: {status: online}
  a2: {status: online}
  a3: {status: online}
  a4: {status: online}
  a5: {status: online, capacity: 3}
teams:
  crew: {agents: [a1, a2, a3, a4, a5]}
"""


async def test_concurrent_conversations_share_the_team_fairly(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"assign-now": ASSIGN_NOW}, CREW)
    async with running(config) as fd:
        contacts = [f"c{n}" for n in range(100)]
        await fd.burst(contacts)
        assignees = await fd.assignees(contacts)
        # a5 stops at its capacity of 3; the other four share the rest in turn.
        assert assignees == {"a1": 25, "a2": 24, "a3": 24, "a4": 24, "a5": 3}


async def test_status_api_changes_who_gets_the_next_conversation(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"assign-now": ASSIGN_NOW}, CREW)
    async with running(config) as fd:
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        for agent in ("a1", "a2", "a3", "a4"):
            async with fd.session.put(
                f"{fd.url}/api/agents/{agent}/status", json={"status": "away"}, headers=auth
            ) as response:
                assert response.status == 200
                assert (await response.json())["status"] == "away"
        await fd.say("x1", "hi")
        await fd.say("x2", "hi")
        assert await receiver.wait_for_texts("x1", 1) == ["You have a5"]
        assert await receiver.wait_for_texts("x2", 1) == ["You have a5"]
        async with fd.session.get(f"{fd.url}/api/agents", headers=auth) as response:
            statuses = {a["id"]: a["status"] for a in await response.json()}
        assert statuses == {"a1": "away", "a2": "away", "a3": "away", "a4": "away", "a5": "online"}


async def test_status_api_rejects_bad_requests(tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(tmp_path, receiver.url, {"assign-now": ASSIGN_NOW}, CREW)
    async with running(config) as fd:
        url = f"{fd.url}/api/agents/a1/status"
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        cases = [
            ({}, {"status": "away"}, 401),
            ({"Authorization": "Bearer wrong-token-0123456789"}, {"status": "away"}, 401),
            (auth, {"status": "asleep"}, 400),
            (auth, {"mood": "away"}, 400),
        ]
        for headers, body, expected in cases:
            async with fd.session.put(url, json=body, headers=headers) as response:
                assert response.status == expected, (headers, body)
                assert "error" in await response.json()
        async with fd.session.put(url, data=b"{", headers=auth) as response:
            assert response.status == 400
        async with fd.session.put(
            f"{fd.url}/api/agents/ghost/status", json={"status": "away"}, headers=auth
        ) as response:
            assert response.status == 404
        [a1] = [a for a in await fd.frontdesk.store.list_agents() if a.id == "a1"]
        assert a1.status == "online"
        async with fd.session.get(f"{fd.url}/healthz") as response:
            assert response.status == 200


async def test_two_hundred_at_once_share_five_agents_evenly(
    tmp_path: Path, receiver: Receiver
) -> None:
    crew = CREW.replace("a5: {status: online, capacity: 3}", "a5: {status: online}")
    config = write_config(tmp_path, receiver.url, {"assign-now": ASSIGN_NOW}, crew)
    async with running(config) as fd:
        contacts = [f"c{n}" for n in range(200)]
        await fd.burst(contacts)
        assignees = await fd.assignees(contacts)
        assert assignees == {"a1": 40, "a2": 40, "a3": 40, "a4": 40, "a5": 40}
