"""Talking to a running frontdesk as Slack does: signed events, button presses and slash
commands, built the way Slack's documentation shows them."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from core.desk_port import Desk
from tests.adapters.slack.fake_web_api import TOKEN, FakeWebApi, Message, serving
from tests.support.harness import Running, running, write_config
from tests.support.waiting import until

SIGNING_SECRET = "test-slack-signing-secret-0123456789"
TEAM = "T0001"

# Asks Sales or Support, then gives the conversation to the support team.
ROUTE_TO_SUPPORT = """
name: route
trigger: conversation_opened
steps:
  - id: ask_team
    type: ask_question
    text: "Sales or support?"
    answer: multiple_choice
    options:
      - {id: sales, label: Sales}
      - {id: support, label: Support}
    save_to: vars.team
  - id: assign
    type: assign
    team: support
  - id: thanks
    type: send_message
    text: "{{ agent.name }} will help you."
"""


def slack_channel(web_api_url: str, slug: str = "slack") -> str:
    """The `channels` entry of a Slack channel whose Web API is the fake at `web_api_url`."""
    return f"""
  {slug}:
    type: slack
    bot_token: {TOKEN}
    signing_secret: {SIGNING_SECRET}
    base_url: {web_api_url}
    per_channel_interval_seconds: 0
"""


def signed_headers(
    body: str, content_type: str, secret: str = SIGNING_SECRET, at: float | None = None
) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


def message_event(
    user: str,
    channel: str,
    text: str,
    *,
    thread_ts: str | None = None,
    channel_type: str = "im",
    **more: Any,
) -> dict[str, Any]:
    """A `message` event: `user` wrote `text` in `channel` (a DM by default)."""
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "channel": channel,
        "channel_type": channel_type,
        "text": text,
        "ts": f"{time.time():.6f}",
        **more,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def event_body(event: dict[str, Any], event_id: str | None = None) -> str:
    """The Events API request body that delivers `event`."""
    return json.dumps(
        {
            "token": "unused",
            "team_id": TEAM,
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "event": event,
        }
    )


class SlackClient:
    """Posts to a frontdesk Slack channel's endpoint as Slack would."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url  # http://127.0.0.1:<port>/<slug>/events

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        secret: str = SIGNING_SECRET,
        at: float | None = None,
        retry: int | None = None,
    ) -> tuple[int, str]:
        headers = signed_headers(body, content_type, secret, at)
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        async with self.session.post(self.url, data=body.encode(), headers=headers) as response:
            return response.status, await response.text()

    async def event(
        self, event: dict[str, Any], event_id: str | None = None, retry: int | None = None
    ) -> tuple[int, str]:
        return await self.post(event_body(event, event_id), "application/json", retry=retry)

    async def message(
        self,
        user: str,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        channel_type: str = "im",
        event_id: str | None = None,
        retry: int | None = None,
        **more: Any,
    ) -> tuple[int, str]:
        event = message_event(
            user, channel, text, thread_ts=thread_ts, channel_type=channel_type, **more
        )
        return await self.event(event, event_id, retry)

    async def press(
        self,
        user: str,
        action_id: str,
        value: str,
        *,
        channel: str,
        message_ts: str,
        action_ts: str | None = None,
        label: str = "",
        message_text: str = "",
    ) -> tuple[int, str]:
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A0001",
            "container": {"type": "message", "channel_id": channel, "message_ts": message_ts},
            "channel": {"id": channel},
            "message": {"ts": message_ts, "text": message_text},
            "trigger_id": "1.2.3",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "text": {"type": "plain_text", "text": label},
                    "action_ts": action_ts or f"{time.time():.6f}",
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def command(self, user: str, text: str) -> tuple[int, str]:
        body = urlencode(
            {
                "command": "/frontdesk",
                "text": text,
                "user_id": user,
                "team_id": TEAM,
                "channel_id": "D0999",
                "response_url": "http://127.0.0.1:9/unused",
                "trigger_id": "1.2.3",
            }
        )
        return await self.post(body, "application/x-www-form-urlencoded")


def buttons(blocks: list[dict[str, Any]] | None) -> dict[str, str]:
    """action_id → value of every button in `blocks`."""
    found = {}
    for block in blocks or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button":
                found[element["action_id"]] = element.get("value", "")
    return found


def shown(blocks: list[dict[str, Any]] | None) -> str:
    """Every text in `blocks`, joined: what a person sees of them."""
    return json.dumps(blocks or [], ensure_ascii=False)


async def handoff_notice(api: FakeWebApi, channel: str) -> Message:
    """The handoff notice once posted in `channel`; chat.update changes it in place."""

    def posted() -> Message | None:
        found = (m for m in api.in_channel(channel) if "fd_accept" in buttons(m.blocks))
        return next(found, None)

    notice: Message = await until(posted)
    return notice


async def recorded_notice(api: FakeWebApi, channel: str, desk: Desk) -> Message:
    """The handoff notice once posted in `channel` and recorded by frontdesk as a thread: an
    agent who answers in it sooner is asked by frontdesk to send it again later (503)."""
    notice = await handoff_notice(api, channel)
    await until(lambda: desk.thread_at("slack", channel, notice.ts))
    return notice


DESK = "desk: {channel: slack}"
# A running frontdesk with Slack as its desk, the fake Web API, and a client posting as Slack.
SlackDesk = AbstractAsyncContextManager[tuple[Running, FakeWebApi, SlackClient]]


def slack_desk_config(
    folder: Path,
    callback_url: str,
    web_api_url: str,
    directory: str,
    *,
    workflows: dict[str, str] | None = None,
    desk: str = DESK,
    channels: str = "",
) -> Path:
    """`harness.write_config` with Slack as the agents' desk (`desk`, its top-level section):
    the Slack channel talks to the fake Web API at `web_api_url`, beside the webhook channel
    whose replies go to `callback_url`; `channels` follows the Slack channel's entry (more of
    its settings, indented by four, or more channels, by two); the agents and teams of
    `directory`; `workflows` or else ROUTE_TO_SUPPORT."""
    return write_config(
        folder,
        callback_url,
        workflows or {"route": ROUTE_TO_SUPPORT},
        directory=directory,
        extra=desk,
        channels=slack_channel(web_api_url) + channels,
    )


@asynccontextmanager
async def slack_desk(
    folder: Path,
    callback_url: str,
    directory: str,
    *,
    workflows: dict[str, str] | None = None,
    desk: str = DESK,
    channels: str = "",
    api: FakeWebApi | None = None,
) -> AsyncIterator[tuple[Running, FakeWebApi, SlackClient]]:
    """A running frontdesk of `slack_desk_config`, the fake Web API (`api`, with the users it
    knows already, or a new one) and a client that posts to it as Slack does."""
    async with serving(api) as web_api:
        config = slack_desk_config(
            folder,
            callback_url,
            web_api.url,
            directory,
            workflows=workflows,
            desk=desk,
            channels=channels,
        )
        async with running(config) as run:
            yield run, web_api, SlackClient(run.session, f"{run.url}/slack/events")
