"""`TelegramChannel`: a Telegram bot, with updates in through a webhook."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from aiohttp import web
from pydantic import BaseModel

from adapters.telegram.followups import ButtonFollowUps
from adapters.telegram.inbound import UpdateEndpoint
from adapters.telegram.outbound import BotSender
from adapters.telegram.settings import TelegramSettings
from core.models import Delivery, Outbound
from core.ports import Clock, Inbox


class TelegramChannel:
    """Updates come in on `POST /<slug>/updates` (point the bot's webhook there with the
    channel's secret_token, e.g. `frontdesk telegram set-webhook`); messages go out through
    the Bot API at `base_url`."""

    settings_model: ClassVar[type[BaseModel]] = TelegramSettings

    def __init__(self, slug: str, settings: TelegramSettings, inbox: Inbox, clock: Clock) -> None:
        self.slug = slug
        self._sender = BotSender(slug, settings)
        self._follow_ups = ButtonFollowUps(slug, lambda: self._sender.bot)
        self._endpoint = UpdateEndpoint(slug, settings, inbox, self._follow_ups.pressed)

    def routes(self) -> Iterable[web.RouteDef]:
        return [web.post(f"/{self.slug}/updates", self._endpoint.handle)]

    async def start(self) -> None:
        await self._sender.start()

    async def close(self) -> None:
        await self._follow_ups.close()
        await self._sender.close()

    async def send(self, message: Outbound) -> Delivery:
        return await self._sender.send(message)

    async def idle(self) -> None:
        """Wait for the follow-ups of button presses started so far (tests)."""
        await self._follow_ups.idle()
