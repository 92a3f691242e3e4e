"""The webhook endpoint: `POST /<slug>/updates`, from Telegram's HTTP call to the inbox.

Checks run cheapest and least trusting first: the secret token header (no body read), then
size, and only then is the body parsed.
https://core.telegram.org/bots/api#setwebhook
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from aiogram.types import CallbackQuery, Update
from aiohttp import web
from pydantic import ValidationError

from adapters.telegram.settings import TelegramSettings
from adapters.telegram.updates import to_inbound
from core.bodies import describe, json_object, read_limited
from core.errors import BadInbound, PayloadTooLarge, StoreUnavailable, Unauthorized
from core.models import Inbound
from core.ports import Inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

ButtonPressed = Callable[[CallbackQuery], None]


class UpdateEndpoint:
    """Answers one POST of an update: 200 once it is durably in the inbox (or ignored), 4xx
    for a bad request, 503 when the store is down so that Telegram delivers it again."""

    def __init__(
        self, slug: str, settings: TelegramSettings, inbox: Inbox, pressed: ButtonPressed
    ) -> None:
        self._slug = slug
        self._settings = settings
        self._secret = settings.secret_token.get_secret_value().encode("ascii")
        self._inbox = inbox
        self._pressed = pressed

    async def handle(self, request: web.Request) -> web.Response:
        try:
            update, event = await self._read_update(request)
        except Unauthorized as exc:
            return self._refuse(401, str(exc))
        except PayloadTooLarge as exc:
            return self._refuse(413, str(exc))
        except BadInbound as exc:
            return self._refuse(400, str(exc))
        if event is None:
            return web.json_response({"status": "ignored"})

        try:
            accepted = await self._inbox.accept(event)
        except StoreUnavailable:
            log.exception(
                "telegram %s: could not store update %s; answering 503 so it is sent again",
                self._slug,
                event.event_id,
                extra={"channel": self._slug},
            )
            return _error(503, "store unavailable, retry later")
        if accepted and update.callback_query is not None:
            self._pressed(update.callback_query)
        return web.json_response({"status": "accepted" if accepted else "duplicate"})

    async def _read_update(self, request: web.Request) -> tuple[Update, Inbound | None]:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", errors="replace")
        if not hmac.compare_digest(given, self._secret):
            raise Unauthorized(f"missing or wrong {SECRET_HEADER}")

        body = await read_limited(request, self._settings.max_body_bytes)
        data = json_object(body)
        try:
            # No bot in the context: the update is read, never used to call methods on.
            update = Update.model_validate(data)
        except ValidationError as exc:
            raise BadInbound(describe(exc)) from exc
        return update, to_inbound(update, self._slug, data, self._settings.private_chats_only)

    def _refuse(self, status: int, reason: str) -> web.Response:
        # The reason never holds the secret or the body; it is safe to log.
        log.warning(
            "telegram %s: refused an update with %d: %s",
            self._slug,
            status,
            reason,
            extra={"channel": self._slug},
        )
        return _error(status, reason)


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)
