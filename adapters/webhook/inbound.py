"""The inbound endpoint: `POST /<slug>/events`, from raw HTTP to an event in the inbox.

Checks run cheapest and least trusting first: size, then signature, and only then is the
body parsed, so an unsigned sender cannot make frontdesk parse anything.
"""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import ValidationError

from adapters.webhook.payload import EventBody
from adapters.webhook.settings import WebhookSettings
from adapters.webhook.signing import SIGNATURE_HEADER, verify
from core.bodies import backlogged, describe, error_response, json_object, read_limited, refused
from core.errors import Backlogged, BadInbound, Refused, StoreUnavailable, Unauthorized
from core.models import Inbound
from core.ports import Inbox

log = logging.getLogger(__name__)


class EventEndpoint:
    """Answers one POST of an event: 200 once it is durably in the inbox, 4xx/503 otherwise."""

    def __init__(self, slug: str, settings: WebhookSettings, inbox: Inbox) -> None:
        self._slug = slug
        self._settings = settings
        self._inbox = inbox

    async def handle(self, request: web.Request) -> web.Response:
        try:
            event = await self._read_event(request)
            accepted = await self._inbox.accept(event)
        except Refused as exc:
            return self._refuse(exc.status, str(exc))
        except Backlogged as exc:
            return backlogged(exc)
        except StoreUnavailable:
            log.exception(
                "webhook %s: could not store event %s; answering 503 so it is sent again",
                self._slug,
                event.event_id,
                extra={"channel": self._slug},
            )
            return error_response(503, "store unavailable, retry later")
        return web.json_response({"status": "accepted" if accepted else "duplicate"})

    async def _read_event(self, request: web.Request) -> Inbound:
        body = await read_limited(request, self._settings.max_body_bytes)

        secret = self._settings.secret.get_secret_value()
        if not verify(secret, body, request.headers.get(SIGNATURE_HEADER)):
            raise Unauthorized(f"missing or wrong {SIGNATURE_HEADER}")

        data = json_object(body)
        try:
            return EventBody.model_validate(data).to_inbound(self._slug, raw=data)
        except ValidationError as exc:
            raise BadInbound(describe(exc)) from exc

    def _refuse(self, status: int, reason: str) -> web.Response:
        return refused(f"webhook {self._slug}", "an event", status, reason)
