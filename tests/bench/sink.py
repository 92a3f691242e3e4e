"""Where replies land, in the load generator's process: a minimal fake Telegram Bot API
(sendMessage answers at once with a message id) and a receiver for the webhook channel's
callbacks. Each reply's arrival is matched, oldest first, with the send to the same chat,
which gives end-to-end latency."""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque

from aiohttp import web


class Sink:
    def __init__(self) -> None:
        self.replies = 0
        self.last_reply = 0.0
        self.latencies: list[float] = []
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._ids = 0
        self.retry_after: int | None = None  # answer every sendMessage with a 429

    def sent(self, chat: str, at: float) -> None:
        self._sent[chat].append(at)

    def reset(self) -> None:
        self.replies = 0
        self.latencies.clear()
        self._sent.clear()

    def _arrived(self, chat: str) -> None:
        now = time.perf_counter()
        self.replies += 1
        self.last_reply = now
        waiting = self._sent.get(chat)
        if waiting:
            self.latencies.append(now - waiting.popleft())

    async def bot_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method.lower() != "sendmessage":
            return web.json_response({"ok": True, "result": True})
        if self.retry_after is not None:
            answer = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests",
                "parameters": {"retry_after": self.retry_after},
            }
            return web.json_response(answer, status=429)
        if request.content_type == "application/json":
            form: dict[str, str] = {k: str(v) for k, v in (await request.json()).items()}
        else:
            form = {k: str(v) for k, v in (await request.post()).items()}
        chat = form["chat_id"]
        self._arrived(chat)
        self._ids += 1
        result = {
            "message_id": self._ids,
            "date": 1_714_996_800,
            "chat": {"id": int(chat), "type": "private"},
            "text": form.get("text", ""),
        }
        return web.json_response({"ok": True, "result": result})

    async def callback(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self._arrived(str(body["contact_id"]))
        return web.json_response({"status": "ok"})

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.post("/bot{token}/{method}", self.bot_api),
                web.post("/callback", self.callback),
            ]
        )
        return app
