"""`SlackChannel`: the agents' desk, and a channel for customers who write to the app."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import ClassVar

from aiohttp import web
from pydantic import BaseModel
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.inbound import SlackInbound, ThreadNotRecorded
from adapters.slack.outbound import SlackSender
from adapters.slack.settings import SlackSettings
from core.bodies import error_response, read_limited, refused
from core.errors import PayloadTooLarge, StoreUnavailable
from core.models import Delivery, Outbound
from core.pacing import SendLimiter
from core.ports import Clock, Desk, Inbox

log = logging.getLogger(__name__)


class SlackChannel:
    """Slack calls `POST /<slug>/events` for events, interactivity (buttons) and the
    `/frontdesk` slash command alike: set that URL in the app's config for all three.
    Messages go out through the Web API at `base_url`, paced by the outbox."""

    settings_model: ClassVar[type[BaseModel]] = SlackSettings
    serves_agents: ClassVar[bool] = True  # a config's `desk.channel` may name it

    def __init__(self, slug: str, settings: SlackSettings, inbox: Inbox, clock: Clock) -> None:
        if not isinstance(inbox, Desk):
            raise TypeError("the Slack channel needs frontdesk's desk port beside the inbox")
        self.slug = slug
        self._settings = settings
        self._client = AsyncWebClient(
            token=settings.bot_token.get_secret_value(),
            base_url=settings.base_url,
            timeout=max(1, round(settings.timeout_seconds)),
            retry_handlers=[],  # the outbox retries, with backoff and Retry-After
        )
        # Listeners run before bolt answers, so an event is stored before Slack's 200.
        self._app = AsyncApp(
            client=self._client,
            signing_secret=settings.signing_secret.get_secret_value(),
            process_before_response=True,
            logger=logging.getLogger("frontdesk.slack.bolt"),
        )
        self._app.error(self._listener_failed)
        self._inbound = SlackInbound(slug, self._app, self._client, inbox, inbox)
        limiter = SendLimiter(
            clock, settings.per_channel_interval_seconds, settings.per_bot_per_second
        )
        self._sender = SlackSender(self._client, inbox, slug, limiter)

    def routes(self) -> Iterable[web.RouteDef]:
        return [web.post(f"/{self.slug}/events", self.handle)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await read_limited(request, self._settings.max_body_bytes)
        except PayloadTooLarge as exc:
            return refused(self.slug, "request", 413, str(exc))
        try:
            text = body.decode()
        except UnicodeDecodeError:
            return refused(self.slug, "request", 400, "body is not UTF-8")
        answer = await self._app.async_dispatch(
            AsyncBoltRequest(body=text, query=request.query_string, headers=dict(request.headers))
        )
        if answer.status == 404:
            # Nothing here listens for it (an event type or a button frontdesk does not use):
            # answered, so that Slack does not send it again.
            return web.Response(status=200)
        headers = {k: v for k, v in answer.first_headers_without_set_cookie().items()}
        content_type = headers.pop("content-type", "text/plain").split(";")[0]
        return web.Response(
            status=answer.status, body=answer.body, headers=headers, content_type=content_type
        )

    async def _listener_failed(self, error: Exception) -> BoltResponse:
        """A listener raised: not acknowledged, so that Slack sends the request again. A store
        that could not take the event answers 503 with its reason, as every channel does."""
        if isinstance(error, StoreUnavailable | ThreadNotRecorded):
            response = refused(self.slug, "request", 503, str(error))
        else:
            log.error("slack %s: a listener failed", self.slug, exc_info=error)
            response = error_response(500, "the request could not be handled")
        assert isinstance(response.body, bytes)
        return BoltResponse(
            status=response.status,
            body=response.body.decode(),
            headers={"content-type": "application/json"},
        )

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        await self._inbound.close()
        await self._sender.close()

    async def send(self, message: Outbound) -> Delivery:
        return await self._sender.send(message)
