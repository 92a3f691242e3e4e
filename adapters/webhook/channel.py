"""`WebhookChannel`: the generic JSON channel, for any system that can POST and be POSTed to."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from aiohttp import web
from pydantic import BaseModel

from adapters.webhook.inbound import EventEndpoint
from adapters.webhook.outbound import CallbackSender
from adapters.webhook.settings import WebhookSettings
from core.deliveries import Delivery
from core.models import Outbound
from core.ports import Clock, Inbox


class WebhookChannel:
    """Events come in on `POST /<slug>/events`; messages go out to the `callback_url`.

    Both bodies are described in `adapters.webhook.payload`; both are signed with the shared
    secret as `adapters.webhook.signing` says.
    """

    settings_model: ClassVar[type[BaseModel]] = WebhookSettings

    def __init__(self, slug: str, settings: WebhookSettings, inbox: Inbox, clock: Clock) -> None:
        self.slug = slug
        self._endpoint = EventEndpoint(slug, settings, inbox)
        self._sender = CallbackSender(settings, clock)

    def routes(self) -> Iterable[web.RouteDef]:
        return [web.post(f"/{self.slug}/events", self._endpoint.handle)]

    async def start(self) -> None:
        await self._sender.start()

    async def close(self) -> None:
        await self._sender.close()

    async def send(self, message: Outbound) -> Delivery:
        return await self._sender.send(message)
