"""`SlackChannel`: the agents' desk, and a channel for customers who write to the app."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import ClassVar

from aiohttp import web
from pydantic import BaseModel, RootModel, ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.inbound import SlackInbound, ThreadNotRecorded
from adapters.slack.outbound import SlackSender
from adapters.slack.requests import checked, verify
from adapters.slack.settings import SlackPlace, SlackSettings, SlackUserId
from core.bodies import backlogged, describe, error_response, read_limited, refused
from core.deliveries import Delivery
from core.desk_port import Desk
from core.errors import Backlogged, BadInbound, Refused, StoreUnavailable
from core.models import Outbound
from core.pacing import SendLimits, pacing_for
from core.ports import Clock, Inbox

log = logging.getLogger(__name__)


# What reading a dict of an unexpected shape raises.
SHAPE_ERRORS = (KeyError, IndexError, TypeError, AttributeError)


class SlackChannel:
    """Slack calls `POST /<slug>/events` for events, interactivity (buttons) and the
    `/frontdesk` slash command alike: set that URL in the app's config for all three.
    Messages go out through the Web API at `base_url`, paced by the outbox."""

    settings_model: ClassVar[type[BaseModel]] = SlackSettings
    serves_agents: ClassVar[bool] = True  # a config's `desk.channel` may name it
    agent_address: ClassVar[type[RootModel[str]]] = SlackUserId
    team_address: ClassVar[type[RootModel[str]]] = SlackPlace
    # What the config called these addresses before they went under `desk`.
    legacy_address_keys: ClassVar[dict[str, str]] = {
        "agents": "slack_user_id",
        "teams": "slack_channel",
    }

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
        self._verifier = SignatureVerifier(settings.signing_secret.get_secret_value())
        # Listeners run before bolt answers, so an event is stored before Slack's 200. Bolt
        # is handed only requests `handle` has verified and checked the shape of.
        self._app = AsyncApp(
            client=self._client,
            signing_secret=settings.signing_secret.get_secret_value(),
            process_before_response=True,
            request_verification_enabled=False,
            logger=logging.getLogger("frontdesk.slack.bolt"),
        )
        self._app.error(self._listener_failed)
        self._inbound = SlackInbound(slug, self._app, self._client, inbox, inbox)
        limits = SendLimits(settings.per_channel_interval_seconds, settings.per_bot_per_second)
        limiter = pacing_for(inbox, clock, slug, limits)  # the deployment's, when shared
        self._sender = SlackSender(self._client, inbox, slug, limiter)

    def routes(self) -> Iterable[web.RouteDef]:
        return [web.post(f"/{self.slug}/events", self.handle)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            text = await self._read(request)
            verify(self._verifier, text, request.headers)
            content_type = request.headers.get("Content-Type", "").split(";")[0] or None
            if checked(text, content_type) is None:
                return web.Response(status=200)  # nothing here listens for it
            bolt_request = AsyncBoltRequest(
                body=text, query=request.query_string, headers=dict(request.headers)
            )
        except Refused as exc:
            return refused(self.slug, "request", exc.status, str(exc))
        answer = await self._app.async_dispatch(bolt_request)
        if answer.status == 404:
            # Nothing here listens for it (an event type or a button frontdesk does not use):
            # answered, so that Slack does not send it again.
            return web.Response(status=200)
        headers = {k: v for k, v in answer.first_headers_without_set_cookie().items()}
        content_type = headers.pop("content-type", "text/plain").split(";")[0]
        return web.Response(
            status=answer.status, body=answer.body, headers=headers, content_type=content_type
        )

    async def _read(self, request: web.Request) -> str:
        body = await read_limited(request, self._settings.max_body_bytes)
        try:
            return body.decode()
        except UnicodeDecodeError as exc:
            raise BadInbound("body is not UTF-8") from exc

    async def _listener_failed(self, error: Exception) -> BoltResponse:
        """A listener raised: not acknowledged, so that Slack sends the request again. A store
        that could not take the event answers 503 with its reason, as every channel does; an
        event frontdesk can never take (text that is not valid Unicode) is refused with 400."""
        if isinstance(error, Backlogged):
            # Slack sends an event again up to three times, the first at once, then after a
            # minute and five (it does not read Retry-After); a button press or a slash
            # command is not sent again: https://api.slack.com/apis/events-api#retries
            response = backlogged(error)
        elif isinstance(error, StoreUnavailable | ThreadNotRecorded):
            response = refused(self.slug, "request", 503, str(error))
        elif isinstance(error, Refused):
            response = refused(self.slug, "request", error.status, str(error))
        elif isinstance(error, ValidationError):  # an Inbound the listener could not build
            response = refused(self.slug, "request", 400, describe(error))
        elif isinstance(error, SHAPE_ERRORS):
            # `requests.checked` pins down what bolt and the listeners read; a part it missed
            # is still the request's shape, not frontdesk's state: refused, not retried.
            reason = f"a request of a shape frontdesk cannot read ({type(error).__name__})"
            log.warning("slack %s: %s: %s", self.slug, reason, error)
            response = error_response(400, reason)
        else:
            log.error("slack %s: a listener failed", self.slug, exc_info=error)
            response = error_response(500, "the request could not be handled")
        assert isinstance(response.body, bytes)
        headers: dict[str, str | Sequence[str]] = {"content-type": "application/json"}
        if "Retry-After" in response.headers:
            headers["retry-after"] = response.headers["Retry-After"]
        return BoltResponse(status=response.status, body=response.body.decode(), headers=headers)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        await self._inbound.close()
        await self._sender.close()

    async def send(self, message: Outbound) -> Delivery:
        return await self._sender.send(message)
