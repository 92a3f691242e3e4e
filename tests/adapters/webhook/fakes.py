"""Fakes and helpers for the webhook channel's tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from adapters.webhook import WebhookSettings

SECRET = "s3cret-s3cret-s3cret"
SLUG = "hooks"
NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
MAX_BODY = 1024


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def answer_ok(request: web.Request) -> web.StreamResponse:
    return web.json_response({"ok": True})


@dataclass
class Receiver:
    """A callback URL: records every POST and answers it with `answer`."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answer: Answer = answer_ok

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Received(dict(request.headers), await request.read()))
        return await self.answer(request)


def make_settings(callback_url: str, **overrides: object) -> WebhookSettings:
    return WebhookSettings.model_validate(
        {"secret": SECRET, "callback_url": callback_url, "max_body_bytes": MAX_BODY, **overrides}
    )
