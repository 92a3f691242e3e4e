"""`TelegramChannel`: a Telegram bot, with updates in through a webhook or by polling."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import ClassVar

from aiohttp import web
from pydantic import BaseModel

from adapters.telegram.followups import ButtonFollowUps
from adapters.telegram.inbound import UpdateEndpoint, UpdateHandler
from adapters.telegram.keyboards import PhoneKeyboards
from adapters.telegram.outbound import BotSender
from adapters.telegram.polling import UpdatePoller
from adapters.telegram.settings import TelegramSettings
from core.deliveries import Delivery
from core.models import Outbound
from core.pacing import SendLimits, pacing_for
from core.ports import Clock, Inbox
from core.tasks import TaskSet

log = logging.getLogger(__name__)


class TelegramChannel:
    """In webhook mode, updates come in on `POST /<slug>/updates` (point the bot's webhook
    there with the channel's secret_token, e.g. `frontdesk telegram set-webhook`); in polling
    mode, a background task asks for them with getUpdates; in embedded mode, a host bot's
    plug-in hands them to `handler` (`adapters.telegram.plugins`). Messages go out through
    the Bot API at `base_url`."""

    settings_model: ClassVar[type[BaseModel]] = TelegramSettings

    def __init__(self, slug: str, settings: TelegramSettings, inbox: Inbox, clock: Clock) -> None:
        self.slug = slug
        # Shared by every replica on a store that can share it (see `core.pacing`).
        limits = SendLimits(settings.per_chat_interval_seconds, settings.per_bot_per_second)
        limiter = pacing_for(inbox, clock, slug, limits)
        keyboards = PhoneKeyboards(slug, inbox)
        self._sender = BotSender(slug, settings, limiter=limiter, keyboards=keyboards)
        self._follow_ups = ButtonFollowUps(slug, lambda: self._sender.api, limiter, clock)
        self._handler = UpdateHandler(slug, settings, inbox, self._follow_ups.pressed)
        self._endpoint: UpdateEndpoint | None = None
        self._poller: UpdatePoller | None = None
        if settings.mode == "webhook":
            self._endpoint = UpdateEndpoint(slug, settings, self._handler)
        elif settings.mode == "polling":
            self._poller = UpdatePoller(
                slug, settings.poll_timeout_seconds, inbox, self._handler, lambda: self._sender.api
            )
        self._tasks = TaskSet()  # the poller, while it runs

    @property
    def handler(self) -> UpdateHandler:
        """The path every update takes into frontdesk, however it came."""
        return self._handler

    def routes(self) -> Iterable[web.RouteDef]:
        if self._endpoint is None:  # polling or embedded: Telegram does not call frontdesk
            return []
        return [web.post(f"/{self.slug}/updates", self._endpoint.handle)]

    async def start(self) -> None:
        await self._sender.start()
        if self._poller is not None and not self._tasks:
            task = self._tasks.spawn(self._poller.run(), name=f"telegram-poller:{self.slug}")
            task.add_done_callback(self._poller_done)

    async def close(self) -> None:
        # The poller first, so that no new button press starts a follow-up.
        await self._tasks.cancel()
        await self._follow_ups.close()
        await self._sender.close()

    def failure(self) -> str | None:
        """For readiness: in polling mode, the poller must be running."""
        if self._poller is not None and not self._tasks:
            return "its poller is not running"
        return None

    def _poller_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("telegram %s: the poller stopped", self.slug, exc_info=task.exception())

    async def send(self, message: Outbound) -> Delivery:
        return await self._sender.send(message)

    async def idle(self) -> None:
        """Wait for the follow-ups of button presses started so far (tests)."""
        await self._follow_ups.idle()
