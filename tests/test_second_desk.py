"""A desk channel of another platform, installed as its own package: its agents and teams are
reached at the addresses the config gives under its name, over HTTP, with no change to core."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import core
from core import plugins
from core.agents import AgentStatus
from core.config import load_config
from core.errors import ConfigError
from core.reload import reload
from tests.support.fake_desk import TYPE, FakeDeskChannel, installed
from tests.support.harness import API_TOKEN, running, write_config
from tests.support.receiver import Receiver
from tests.support.serve import serving_app
from tests.support.waiting import until

ROUTE = """
name: route
trigger: conversation_opened
steps:
  - {id: assign, type: assign, team: support}
"""
DIRECTORY = """
agents:
  carol: {name: Carol, status: online, desk: {helpdesk: carol@desk}}
  dave: {name: Dave, status: offline}
teams:
  support: {agents: [carol, dave], desk: {helpdesk: "#support"}}
"""
DESK = "desk: {channel: helpdesk, notify: both}"


def helpdesk(url: str) -> str:
    return f"""
  helpdesk:
    type: {TYPE}
    url: {url}
"""


@pytest.fixture
def fake_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(installed(tmp_path / "site")))


@pytest.fixture
async def board() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """The desk platform's end: the URL notices are POSTed to, and what came."""
    posted: list[dict[str, Any]] = []

    async def take(request: web.Request) -> web.Response:
        posted.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/notices", take)
    async with serving_app(app) as url:
        yield f"{url}/notices", posted


@pytest.mark.usefixtures("fake_desk")
def test_the_desk_is_found_through_the_entry_point_outside_core() -> None:
    found = plugins.channel_type(TYPE)

    assert found is FakeDeskChannel
    assert not Path(inspect.getfile(FakeDeskChannel)).is_relative_to(Path(core.__file__).parent)


@pytest.mark.usefixtures("fake_desk")
async def test_handoff_relay_and_status_reach_the_second_desk_over_http(
    tmp_path: Path, receiver: Receiver, board: tuple[str, list[dict[str, Any]]]
) -> None:
    url, posted = board
    config = write_config(
        tmp_path, receiver.url, {"route": ROUTE}, DIRECTORY, DESK, channels=helpdesk(url)
    )
    async with running(config) as fd:
        await fd.say("ana", "hello", name="Ana")
        [handoff] = await until(lambda: posted)

        assert handoff["kind"] == "handoff"
        assert handoff["agent"] == "carol"
        assert handoff["agent_address"] == "carol@desk"
        assert handoff["targets"] == [
            {"kind": "user", "id": "carol@desk"},
            {"kind": "channel", "id": "#support"},
        ]
        assert handoff["text"] == "New conversation with Ana"

        await fd.say("ana", "are you there?")
        relayed = await until(lambda: posted[1:])

        assert relayed[0]["kind"] == "message"
        assert relayed[0]["text"] == "are you there?"
        assert relayed[0]["threads"] == ["carol@desk", "#support"]

        async with fd.session.post(
            f"{fd.url}/helpdesk/status", json={"from": "carol@desk", "status": "away"}
        ) as response:
            assert response.status == 200
        async with fd.session.post(
            f"{fd.url}/helpdesk/status", json={"from": "mallory@desk", "status": "online"}
        ) as response:
            assert response.status == 403
        agents = {a.id: a.status for a in await fd.frontdesk.store.list_agents()}
        assert agents == {"carol": AgentStatus.AWAY, "dave": AgentStatus.OFFLINE}
        async with fd.session.get(
            f"{fd.url}/api/agents", headers={"Authorization": f"Bearer {API_TOKEN}"}
        ) as response:
            listed = {entry["id"]: entry["desk"] for entry in await response.json()}
        assert listed == {"carol": {"helpdesk": "carol@desk"}, "dave": {}}


@pytest.mark.usefixtures("fake_desk")
def test_addresses_are_checked_by_the_desks_own_models(tmp_path: Path) -> None:
    directory = """
agents:
  carol: {name: Carol, desk: {helpdesk: Carol}}
teams:
  support: {agents: [carol], desk: {helpdesk: support, nowhere: "#x"}}
"""
    config = write_config(
        tmp_path,
        "http://127.0.0.1:9/callback",
        {"route": ROUTE},
        directory,
        DESK,
        channels=helpdesk("http://127.0.0.1:9/"),
    )
    with pytest.raises(ConfigError) as raised:
        load_config(config)

    said = [str(problem).split("frontdesk.yaml:", 1)[1] for problem in raised.value.problems]
    assert said[0].startswith("18: agents.carol.desk.helpdesk: String should match pattern")
    assert said[1].startswith("20: teams.support.desk.helpdesk: String should match pattern")
    assert said[2] == "20: teams.support.desk.nowhere: no channel 'nowhere'"


@pytest.mark.usefixtures("fake_desk")
async def test_addresses_changed_in_the_config_apply_at_reload(
    tmp_path: Path, receiver: Receiver, board: tuple[str, list[dict[str, Any]]]
) -> None:
    url, posted = board
    config = write_config(
        tmp_path, receiver.url, {"route": ROUTE}, DIRECTORY, DESK, channels=helpdesk(url)
    )
    async with running(config) as fd:
        changed = config.read_text().replace("carol@desk", "caroline@desk")
        config.write_text(changed.replace("#support", "#helpers"))
        assert await reload(fd.frontdesk, lambda: load_config(config))

        await fd.say("ana", "hello", name="Ana")
        [handoff] = await until(lambda: posted)

        assert handoff["targets"] == [
            {"kind": "user", "id": "caroline@desk"},
            {"kind": "channel", "id": "#helpers"},
        ]
        async with fd.session.post(
            f"{fd.url}/helpdesk/status", json={"from": "caroline@desk", "status": "away"}
        ) as response:
            assert response.status == 200
        async with fd.session.post(
            f"{fd.url}/helpdesk/status", json={"from": "carol@desk", "status": "online"}
        ) as response:
            assert response.status == 403  # the old address is no one's any more
        agents = {a.id: a.status for a in await fd.frontdesk.store.list_agents()}
        assert agents["carol"] == AgentStatus.AWAY
