"""A fake Telegram Bot API server on 127.0.0.1, speaking what aiogram's client expects.

aiogram calls `POST {base}/bot{token}/{method}` with the parameters as form fields (nested
values, such as reply_markup, JSON-encoded), and reads `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}` with the HTTP
status equal to error_code (aiogram/client/session/base.py: check_response).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from core.ports import Clock
from tests.support.serve import serving_app

TOKEN = "123456:TEST-token_for-the-fake-bot-api"
BOT_ID = 123456
# getUpdates waits at most this long for an update (Telegram: `timeout` seconds), so that
# tests stay fast.
MAX_POLL_WAIT_SECONDS = 0.2
# Parameters that aiogram sends JSON-encoded; every other form field is kept as text.
JSON_PARAMS = frozenset({"reply_markup", "allowed_updates", "entities", "link_preview_options"})
DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
}


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when it arrived
    clock_at: datetime | None = None  # the injected clock's time then, given a clock


@dataclass
class Failure:
    status: int
    retry_after: int | None = None


@dataclass
class FakeBotApi:
    """Answers the Bot API methods frontdesk uses; records every call; can be told to fail."""

    token: str = TOKEN
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    webhook_url: str = ""
    webhook_secret: str | None = None
    _failures: dict[str, list[Failure]] = field(default_factory=dict)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _queued: asyncio.Event = field(default_factory=asyncio.Event)
    clock: Clock | None = None
    held: int = 0  # calls on their way while `hold` holds them
    _open: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._open.set()

    def hold(self) -> None:
        """Hold every call on its way here, as a busy network or event loop does, until
        `release`: a held call arrives (is recorded, stamped and answered) only then."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def queue_update(self, *updates: dict[str, Any]) -> None:
        """Hold updates for getUpdates to return, as Telegram holds them for a bot without a
        webhook, until a later call's `offset` confirms them."""
        self._updates.extend(updates)
        self._queued.set()

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """The updates not confirmed yet."""
        return list(self._updates)

    def fail_next(
        self, method: str, status: int, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next `times` calls of `method` with an error `status` (429 with a
        `retry_after`, as Telegram does when flooded)."""
        self._failures.setdefault(method, []).extend([Failure(status, retry_after)] * times)

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, within: float = 5.0) -> list[Call]:
        """The calls of `method` once there are at least `count` of them."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.of(method)) >= count)
        return self.of(method)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        if not self._open.is_set():
            self.held += 1
            try:
                await self._open.wait()
            finally:
                self.held -= 1
        clock_at = self.clock.now() if self.clock is not None else None
        async with self._changed:
            self.calls.append(Call(method, params, time.monotonic(), clock_at))
            self._changed.notify_all()
        script = self._failures.get(method)
        if script:
            failure = script.pop(0)
            return _error(failure.status, retry_after=failure.retry_after)
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
            return web.json_response({"ok": True, "result": result})
        answer = getattr(self, f"_{method}", None)
        if answer is None:
            return _error(404, "Not Found: method not found")
        result = answer(params)
        return web.json_response({"ok": True, "result": result})

    # The methods, named as Telegram names them.

    def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Frontdesk", "username": "fd_bot"}

    def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Frontdesk"},
            "text": params["text"],
        }
        # A message shows only an inline keyboard; a reply keyboard is the chat's.
        if "inline_keyboard" in params.get("reply_markup", {}):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    def _editMessageReplyMarkup(self, params: dict[str, Any]) -> bool:
        return True

    def _editMessageText(self, params: dict[str, Any]) -> bool:
        return True

    def _setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = params["url"]
        self.webhook_secret = params.get("secret_token")
        return True

    def _deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        self.webhook_secret = None
        return True

    def _getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": 0}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        # https://core.telegram.org/bots/api#getupdates: an offset confirms every update
        # with a lower update_id; those are forgotten.
        if "offset" in params:
            offset = int(params["offset"])
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._queued.clear()
            wait = min(float(params.get("timeout", 0)), MAX_POLL_WAIT_SECONDS)
            try:
                async with asyncio.timeout(wait):
                    await self._queued.wait()
            except TimeoutError:
                return []
        limit = int(params.get("limit", 100))
        return list(self._updates[:limit])


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":  # what other clients (and curl) send
        body: dict[str, Any] = await request.json()
        return body
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        text = value if isinstance(value, str) else repr(value)
        params[key] = json.loads(text) if key in JSON_PARAMS else text
    return params


def _error(
    status: int, description: str | None = None, retry_after: int | None = None
) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": status,
        "description": description
        or DESCRIPTIONS.get(status, "Error").format(retry_after=retry_after),
    }
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


@asynccontextmanager
async def serving(api: FakeBotApi | None = None) -> AsyncIterator[FakeBotApi]:
    """A fake Bot API listening on 127.0.0.1 on a free port; `api.url` is its base URL."""
    api = api or FakeBotApi()
    async with serving_app(api.app()) as url:
        api.url = url
        yield api
