"""Bot API calls on the wire: one JSON body posted with the channel's own aiohttp session, and
only the answer's `ok`, `result`, `error_code`, `description` and `parameters` read.

A client library would build a method object, then validate the whole answer into its types
(a `Message` the sender never looks at): on a busy bot that was about a third of the
server's CPU, and importing its types alone took some 100 MB. Failures come out as the
exceptions of `adapters.telegram.errors`, told apart by status and parameters as the Bot API
documents them. https://core.telegram.org/bots/api#making-requests
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

import aiohttp

from adapters.telegram.errors import (
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
from adapters.telegram.settings import TelegramSettings

HEADERS = {"Content-Type": "application/json"}


def _json_codec() -> tuple[Callable[[Any], bytes], Callable[[bytes], Any]]:
    """orjson's dumps and loads when it is installed (`frontdesk[speed]`), else the standard
    library's; the bodies mean the same either way."""
    try:
        orjson = importlib.import_module("orjson")
    except ImportError:
        return (lambda value: json.dumps(value).encode()), json.loads

    # Where orjson refuses what the standard library takes (a lone surrogate, which json
    # escapes as "\ud83d" and reads back), the standard library has the last word: an
    # update with such text must reach the inbox to be refused there, alone, rather than
    # fail its whole getUpdates batch at every round.
    def dumps(value: Any) -> bytes:
        try:
            encoded: bytes = orjson.dumps(value)
        except TypeError:
            return json.dumps(value).encode()
        return encoded

    def loads(content: bytes) -> Any:
        try:
            return orjson.loads(content)
        except ValueError:
            return json.loads(content)

    return dumps, loads


dumps, loads = _json_codec()
ERRORS: dict[int, type[TelegramAPIError]] = {
    HTTPStatus.BAD_REQUEST: TelegramBadRequest,
    HTTPStatus.UNAUTHORIZED: TelegramUnauthorizedError,
    HTTPStatus.FORBIDDEN: TelegramForbiddenError,
    HTTPStatus.NOT_FOUND: TelegramNotFound,
    HTTPStatus.CONFLICT: TelegramConflictError,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: TelegramEntityTooLarge,
}


class BotApi:
    """The channel's bot at its `base_url`, over one aiohttp session; whoever starts it
    closes it."""

    def __init__(self, settings: TelegramSettings, timeout_seconds: float) -> None:
        # The URL holds the token: it is never logged, and aiohttp's errors name only the host.
        token = settings.token.get_secret_value()
        self._base = f"{settings.base_url.rstrip('/')}/bot{token}/"
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    @property
    def started(self) -> bool:
        return self._session is not None

    def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self, method: str, params: dict[str, Any], timeout_seconds: float | None = None
    ) -> Any:
        """The `result` of one call (JSON as Telegram sent it); raises `BotApiFailure`'s
        kinds for each way it can fail. `timeout_seconds` replaces the usual limit (a long
        poll waits longer).

        The parameters go as a form, each value that is not a string as JSON (numbers,
        booleans, and objects such as `allowed_updates`), which the Bot API reads as it
        reads a JSON body."""
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        return await self._post(method, form, None, timeout_seconds)

    async def send_message(
        self, chat_id: str, text: str, markup: Mapping[str, object] | None
    ) -> None:
        """Send one message as plain text (no parse_mode: nothing in it is markup), as one
        JSON body: the busiest call, so the cheapest to build."""
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if markup is not None:
            params["reply_markup"] = markup
        await self._post("sendMessage", dumps(params), HEADERS, None)

    async def _post(
        self,
        method: str,
        body: bytes | dict[str, str],
        headers: dict[str, str] | None,
        timeout_seconds: float | None,
    ) -> Any:
        if self._session is None:
            raise RuntimeError("the telegram bot client was not started")
        timeout = self._timeout
        if timeout_seconds is not None:
            timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        try:
            async with self._session.post(
                self._base + method, data=body, headers=headers, timeout=timeout
            ) as response:
                status, content = response.status, await response.read()
        except aiohttp.ClientError as exc:
            raise TelegramNetworkError(method, f"{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:
            raise TelegramNetworkError(method, "Request timeout error") from exc
        return _result(method, status, content)


def _result(method: str, status: int, content: bytes) -> Any:
    try:
        answer = loads(content)
        ok = answer["ok"]
    except (ValueError, TypeError, KeyError) as exc:
        raise ClientDecodeError(method, "Failed to decode object") from exc
    if HTTPStatus.OK <= status <= HTTPStatus.IM_USED and ok is True:
        return answer.get("result")
    description = str(answer.get("description") or "")
    parameters = answer.get("parameters") or {}
    if retry_after := parameters.get("retry_after"):
        raise TelegramRetryAfter(method, description, int(retry_after))
    if migrate_to := parameters.get("migrate_to_chat_id"):
        raise TelegramMigrateToChat(method, description, int(migrate_to))
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise TelegramServerError(method, description)
    error = ERRORS.get(status, TelegramAPIError)
    raise error(method, description)
