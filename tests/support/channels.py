"""A frontdesk with all three channels at once (webhook, telegram, slack), each platform a
fake on 127.0.0.1, and a client that posts to each as its platform does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.telegram.inbound import SECRET_HEADER
from tests.adapters.slack import fake_web_api
from tests.adapters.slack.fake_web_api import FakeWebApi
from tests.adapters.telegram import fake_bot_api
from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fakes import SECRET_TOKEN
from tests.support.harness import Running, running, write_config
from tests.support.receiver import Receiver
from tests.support.slack import SlackClient, slack_channel
from tests.support.telegram import telegram_channel

# Greets, asks a free-text question, and closes: a journey every channel can finish.
JOURNEY = """
name: journey
trigger: conversation_opened
steps:
  - {id: hello, type: send_message, text: "Hello!"}
  - {id: ask, type: ask_question, text: "What is your name?", save_to: vars.name}
  - {id: bye, type: send_message, text: "Thanks {{ vars.name }}, bye."}
  - {id: done, type: close_conversation}
"""


@dataclass
class Everywhere:
    """A running frontdesk and the fakes of the platforms it talks to."""

    run: Running
    receiver: Receiver
    bot_api: FakeBotApi
    web_api: FakeWebApi
    slack: SlackClient

    async def telegram(self, body: bytes, secret: str = SECRET_TOKEN) -> tuple[int, str]:
        """POST an update (any bytes) to the telegram channel: the status and the answer."""
        headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}
        url = f"{self.run.url}/telegram/updates"
        async with self.run.session.post(url, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def telegram_update(self, update: dict[str, Any]) -> tuple[int, str]:
        return await self.telegram(json.dumps(update).encode())


@asynccontextmanager
async def everywhere(
    folder: Path, receiver: Receiver, workflow: str = JOURNEY
) -> AsyncIterator[Everywhere]:
    """The three channels, served until the block ends; `workflow` answers every customer."""
    async with AsyncExitStack() as stack:
        bot_api = await stack.enter_async_context(fake_bot_api.serving())
        web_api = await stack.enter_async_context(fake_web_api.serving())
        config = write_config(
            folder,
            receiver.url,
            {"journey": workflow},
            channels=telegram_channel(bot_api.url) + slack_channel(web_api.url),
        )
        run = await stack.enter_async_context(running(config))
        slack = SlackClient(run.session, f"{run.url}/slack/events")
        yield Everywhere(run, receiver, bot_api, web_api, slack)
