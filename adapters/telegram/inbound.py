"""From an update to the inbox: `UpdateHandler`, shared by the webhook endpoint
(`POST /<slug>/updates`, here) and the poller (`polling`).

The endpoint's checks run cheapest and least trusting first: the secret token header (no body
read), then size, and only then is the body parsed.
https://core.telegram.org/bots/api#setwebhook
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any, Literal

from aiohttp import web
from pydantic import ValidationError

from adapters.telegram.payloads import CallbackQuery, Update
from adapters.telegram.settings import TelegramSettings
from adapters.telegram.updates import to_inbound
from core.bodies import backlogged, describe, error_response, json_object, read_limited, refused
from core.errors import Backlogged, BadInbound, Refused, StoreUnavailable, Unauthorized
from core.ports import Inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

ButtonPressed = Callable[[CallbackQuery], None]
Handled = Literal["accepted", "duplicate", "ignored"]


class UpdateHandler:
    """One update, however it came: normalised, handed to the inbox, and a button press
    followed up once its event is stored. Raises `StoreUnavailable` from the inbox, and then
    the update must come again (the webhook answers 503; the poller asks again); `Refused`
    for an update frontdesk can never take (text that is not valid Unicode, say)."""

    def __init__(
        self, slug: str, settings: TelegramSettings, inbox: Inbox, pressed: ButtonPressed
    ) -> None:
        self._slug = slug
        self._private_chats_only = settings.private_chats_only
        self._inbox = inbox
        self._pressed = pressed

    async def handle(self, raw: dict[str, Any], update: Update | None = None) -> Handled:
        """`raw` is the update's JSON as the Bot API sent it (or a host bot's client gives it
        back), kept with the event; `update` is `raw` read already, when the caller has it.
        Raises `BadInbound` when it is not an update."""
        if update is None:
            update = read_update(raw)
        try:
            event = to_inbound(update, self._slug, raw, self._private_chats_only)
        except ValidationError as exc:
            raise BadInbound(describe(exc)) from exc
        if event is None:
            return "ignored"
        accepted = await self._inbox.accept(event)
        if accepted and update.callback_query is not None:
            self._pressed(update.callback_query)
        return "accepted" if accepted else "duplicate"


def read_update(raw: dict[str, Any]) -> Update:
    try:
        return Update.model_validate(raw)
    except ValidationError as exc:
        raise BadInbound(describe(exc)) from exc


class UpdateEndpoint:
    """Answers one POST of an update: 200 once it is durably in the inbox (or ignored), 4xx
    for a bad request, 503 when the store is down so that Telegram delivers it again."""

    def __init__(self, slug: str, settings: TelegramSettings, handler: UpdateHandler) -> None:
        if settings.secret_token is None:  # the settings require it in webhook mode
            raise ValueError("the webhook endpoint needs a secret_token")
        self._slug = slug
        self._settings = settings
        self._secret = settings.secret_token.get_secret_value().encode("ascii")
        self._handler = handler

    async def handle(self, request: web.Request) -> web.Response:
        data: dict[str, Any] = {}
        try:
            data = await self._read_update(request)
            handled = await self._handler.handle(data)
        except Refused as exc:
            return self._refuse(exc.status, str(exc))
        except Backlogged as exc:
            # Telegram sends an update again after any status other than 2xx ("we will repeat
            # the request and give up after a reasonable amount of attempts"; it does not
            # read Retry-After): https://core.telegram.org/bots/api#setwebhook
            return backlogged(exc)
        except StoreUnavailable:
            log.exception(
                "telegram %s: could not store update %s; answering 503 so it is sent again",
                self._slug,
                data.get("update_id"),
                extra={"channel": self._slug},
            )
            return error_response(503, "store unavailable, retry later")
        return web.json_response({"status": handled})

    async def _read_update(self, request: web.Request) -> dict[str, Any]:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", errors="replace")
        if not hmac.compare_digest(given, self._secret):
            raise Unauthorized(f"missing or wrong {SECRET_HEADER}")

        body = await read_limited(request, self._settings.max_body_bytes)
        return json_object(body)

    def _refuse(self, status: int, reason: str) -> web.Response:
        return refused(f"telegram {self._slug}", "an update", status, reason)
