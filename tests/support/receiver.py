"""A stand-in for the system behind a webhook channel's callback URL, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.webhook.signing import SIGNATURE_HEADER, verify
from tests.support.serve import start_app

Answer = int | tuple[int, dict[str, str]]


class Receiver:
    """Records every POST; answers from `script` (status codes, or (status, headers)) first,
    then from `answer` if set (which may take its time, as a slow receiver does), else 200.
    Only 2xx answers count as received messages; repeats of a message id are kept in
    `attempts` but not again in `messages`."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.attempts: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.repeats = 0
        self.bad_signatures = 0
        self.script: list[Answer] = []
        self.answer: Callable[[dict[str, Any]], Awaitable[Answer]] | None = None
        self._received: set[str] = set()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/callback", self._handle)
        self._runner, base = await start_app(app)
        self.url = f"{base}/callback"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(self.secret, body, request.headers.get(SIGNATURE_HEADER)):
            self.bad_signatures += 1
            return web.Response(status=401)
        message = json.loads(body)
        async with self._changed:
            self.attempts.append(message)
            self._changed.notify_all()
            step: Answer | None = self.script.pop(0) if self.script else None
        if step is None:
            step = 200 if self.answer is None else await self.answer(message)
        status, headers = step if isinstance(step, tuple) else (step, {})
        async with self._changed:
            if 200 <= status < 300:
                if message["message_id"] in self._received:
                    self.repeats += 1
                else:
                    self._received.add(message["message_id"])
                    self.messages.append(message)
            self._changed.notify_all()
        return web.Response(status=status, headers=headers)

    def texts(self, contact_id: str) -> list[str]:
        return [m["text"] for m in self.messages if m["contact_id"] == contact_id]

    async def wait_until(self, predicate: Callable[[Receiver], bool], limit: float = 10.0) -> None:
        """Wait for a condition on what arrived; the timeout only bounds a broken test."""

        async def waiting() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self))

        await asyncio.wait_for(waiting(), limit)

    async def wait_for_texts(self, contact_id: str, count: int, limit: float = 10.0) -> list[str]:
        await self.wait_until(lambda r: len(r.texts(contact_id)) >= count, limit)
        return self.texts(contact_id)
