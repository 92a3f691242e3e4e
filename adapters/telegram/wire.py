"""sendMessage on the wire: one JSON body posted with the channel's own aiohttp session, and
only the answer's `ok`, `error_code`, `description` and `parameters` read.

aiogram's `Bot.send_message` builds a pydantic method object, a multipart form, and then
validates the whole answer into a `Message` that the sender never looks at; on a busy bot
that was about a third of the server's CPU. Failures still come out as aiogram's own
exceptions, classified as aiogram does (aiogram/client/session/base.py, check_response),
so the rest of the sender reads them as before. https://core.telegram.org/bots/api#making-requests
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import aiohttp
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage, TelegramMethod

from adapters.telegram.settings import TelegramSettings

HEADERS = {"Content-Type": "application/json"}
ERRORS: dict[int, type[TelegramAPIError]] = {
    HTTPStatus.BAD_REQUEST: TelegramBadRequest,
    HTTPStatus.UNAUTHORIZED: TelegramUnauthorizedError,
    HTTPStatus.FORBIDDEN: TelegramForbiddenError,
    HTTPStatus.NOT_FOUND: TelegramNotFound,
    HTTPStatus.CONFLICT: TelegramConflictError,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: TelegramEntityTooLarge,
}


class WireSender:
    """Holds one aiohttp session for the channel's sends; whoever starts it closes it."""

    def __init__(self, settings: TelegramSettings, timeout_seconds: float) -> None:
        # The URL holds the token: it is never logged, and aiohttp's errors name only the host.
        self._url = TelegramAPIServer.from_base(settings.base_url).api_url(
            settings.token.get_secret_value(), "sendMessage"
        )
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send_message(self, chat_id: str, text: str, markup: dict[str, Any] | None) -> None:
        """Send one message; raises aiogram's exception for each way Telegram can refuse."""
        if self._session is None:
            raise RuntimeError("the telegram sender was not started")
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if markup is not None:
            params["reply_markup"] = markup
        try:
            async with self._session.post(
                self._url, data=json.dumps(params).encode(), headers=HEADERS
            ) as response:
                status, content = response.status, await response.read()
        except aiohttp.ClientError as exc:
            raise TelegramNetworkError(_method(params), f"{type(exc).__name__}: {exc}") from exc
        _check(params, status, content)


def _method(params: dict[str, Any]) -> SendMessage:
    # Only for the exception's text; the values were built here, so nothing is validated.
    return SendMessage.model_construct(chat_id=params["chat_id"], text=params["text"])


def _check(params: dict[str, Any], status: int, content: bytes) -> None:
    try:
        answer = json.loads(content)
        ok = answer["ok"]
    except (ValueError, TypeError, KeyError) as exc:
        text = content.decode(errors="replace")
        raise ClientDecodeError("Failed to decode object", exc, text) from exc
    if HTTPStatus.OK <= status <= HTTPStatus.IM_USED and ok is True:
        return
    description = str(answer.get("description") or "")
    parameters = answer.get("parameters") or {}
    method: TelegramMethod[Any] = _method(params)
    if retry_after := parameters.get("retry_after"):
        raise TelegramRetryAfter(method=method, message=description, retry_after=retry_after)
    if migrate_to := parameters.get("migrate_to_chat_id"):
        raise TelegramMigrateToChat(
            method=method, message=description, migrate_to_chat_id=migrate_to
        )
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise TelegramServerError(method=method, message=description)
    error: type[TelegramAPIError] = ERRORS.get(status, TelegramAPIError)
    raise error(method, description)
