"""The inbound endpoint: `POST /<slug>/events`, from raw HTTP to an event in the inbox.

Checks run cheapest and least trusting first: size, then signature, and only then is the
body parsed, so an unsigned sender cannot make frontdesk parse anything.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from adapters.webhook.payload import EventBody, describe
from adapters.webhook.settings import WebhookSettings
from adapters.webhook.signing import SIGNATURE_HEADER, verify
from adapters.webhook.streams import read_at_most
from core.errors import BadInbound, PayloadTooLarge, StoreUnavailable, Unauthorized
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
        except PayloadTooLarge as exc:
            return self._refuse(413, str(exc))
        except Unauthorized as exc:
            return self._refuse(401, str(exc))
        except BadInbound as exc:
            return self._refuse(400, str(exc))

        try:
            accepted = await self._inbox.accept(event)
        except StoreUnavailable:
            log.exception(
                "webhook %s: could not store event %s; answering 503 so it is sent again",
                self._slug,
                event.event_id,
                extra={"channel": self._slug},
            )
            return _error(503, "store unavailable, retry later")
        return web.json_response({"status": "accepted" if accepted else "duplicate"})

    async def _read_event(self, request: web.Request) -> Inbound:
        limit = self._settings.max_body_bytes
        too_large = PayloadTooLarge(f"body is over {limit} bytes")
        # The header is checked first so an honest oversized request is refused unread; a
        # chunked or lying body is cut at limit + 1 bytes, just enough to know it is over.
        if request.content_length is not None and request.content_length > limit:
            raise too_large
        body = await read_at_most(request.content, limit + 1)
        if len(body) > limit:
            raise too_large

        secret = self._settings.secret.get_secret_value()
        if not verify(secret, body, request.headers.get(SIGNATURE_HEADER)):
            raise Unauthorized(f"missing or wrong {SIGNATURE_HEADER}")

        try:
            data: Any = json.loads(body)
        except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for non-UTF-8 bytes
            raise BadInbound("body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise BadInbound("body: must be a JSON object")
        try:
            parsed = EventBody.model_validate(data)
        except ValidationError as exc:
            raise BadInbound(describe(exc)) from exc
        return parsed.to_inbound(self._slug, raw=data)

    def _refuse(self, status: int, reason: str) -> web.Response:
        # The reason never holds the secret, the signature or the body; it is safe to log.
        log.warning(
            "webhook %s: refused an event with %d: %s",
            self._slug,
            status,
            reason,
            extra={"channel": self._slug},
        )
        return _error(status, reason)


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)
