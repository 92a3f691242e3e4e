"""`SlackChannel`'s endpoint on its own: requests it refuses or ignores, and a customer Slack
says nothing more about."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import test_utils, web

from adapters.slack import SlackChannel
from core.clock import ManualClock
from core.models import ContactProfile
from tests.adapters.slack.fake_web_api import FakeWebApi
from tests.adapters.slack.fakes import SLUG, FakeDesk, make_settings
from tests.support.inbox import FakeInbox
from tests.support.slack import SlackClient


class DeskInbox(FakeInbox, FakeDesk):
    """The inbox and the desk ports, as the runtime gives both to the channel."""

    def __init__(self) -> None:
        FakeInbox.__init__(self)
        FakeDesk.__init__(self)


@pytest.fixture
def inbox() -> DeskInbox:
    return DeskInbox()


@pytest.fixture
async def slack(
    web_api: FakeWebApi, inbox: DeskInbox, clock: ManualClock
) -> AsyncIterator[SlackClient]:
    """A client posting to the channel's endpoint, served on 127.0.0.1."""
    channel = SlackChannel(SLUG, make_settings(web_api.url), inbox, clock)
    app = web.Application()
    app.add_routes(channel.routes())
    async with (
        test_utils.TestServer(app, host="127.0.0.1") as server,
        aiohttp.ClientSession() as session,
    ):
        yield SlackClient(session, str(server.make_url(f"/{SLUG}/events")))
    await channel.close()


def test_the_channel_needs_the_desk_port(web_api: FakeWebApi, clock: ManualClock) -> None:
    with pytest.raises(TypeError, match="desk port"):
        SlackChannel(SLUG, make_settings(web_api.url), FakeInbox(), clock)


async def test_a_body_that_is_not_utf8_is_refused(slack: SlackClient, inbox: DeskInbox) -> None:
    async with slack.session.post(slack.url, data=b"\xff\xfe{}") as response:
        assert response.status == 400
        assert await response.json() == {"error": "body is not UTF-8"}
    assert inbox.events == []


async def test_a_customer_slack_says_nothing_about_is_known_by_their_id(
    slack: SlackClient, inbox: DeskInbox, web_api: FakeWebApi
) -> None:
    status, _ = await slack.message("UANA", "DANA", "hola")

    assert status == 200
    [event] = inbox.events
    assert event.contact == ContactProfile(external_id="UANA")
    assert event.text == "hola"
    assert len(web_api.of("users.info")) == 1


@pytest.mark.parametrize(
    "value",
    ["not json", '{"c": "conv-1"}', '{"c": "conv-gone", "h": "h-1"}'],
    ids=["not-ours", "incomplete", "unknown-conversation"],
)
async def test_a_notice_button_frontdesk_cannot_act_on_is_answered_and_ignored(
    slack: SlackClient, inbox: DeskInbox, value: str
) -> None:
    status, _ = await slack.press("UCAROL", "fd_accept", value, channel="C1", message_ts="1.1")

    assert status == 200
    assert inbox.events == []


async def test_a_message_the_store_cannot_take_is_not_acknowledged(
    slack: SlackClient, inbox: DeskInbox
) -> None:
    inbox.unavailable = True

    status, body = await slack.message("UANA", "DANA", "hola")

    assert status == 503  # not acknowledged: Slack sends it again
    assert json.loads(body) == {"error": "the fake store is down"}


async def test_a_listener_that_fails_otherwise_is_a_500_and_not_acknowledged(
    slack: SlackClient, inbox: DeskInbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(event: object) -> bool:
        raise RuntimeError("a bug")

    monkeypatch.setattr(inbox, "accept", broken)

    status, body = await slack.message("UANA", "DANA", "hola")

    assert status == 500
    assert json.loads(body) == {"error": "the request could not be handled"}


@pytest.mark.parametrize(
    ("event", "said"),
    [
        ({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, "tokens were revoked"),
        ({"type": "app_uninstalled"}, "the app was uninstalled"),
    ],
)
async def test_a_lost_token_is_an_error_saying_what_to_do(
    slack: SlackClient,
    inbox: DeskInbox,
    caplog: pytest.LogCaptureFixture,
    event: dict[str, object],
    said: str,
) -> None:
    status, _ = await slack.event(event)

    assert status == 200
    assert inbox.events == []
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage().startswith(f"slack {SLUG}: ")
    assert said in error.getMessage()
    assert "reinstall the app" in error.getMessage()
    assert f"channels.{SLUG}.bot_token" in error.getMessage()
