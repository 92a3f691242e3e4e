"""A test CRM on 127.0.0.1 that answers customer lookups the way the VIP workflow expects."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tests.support.serve import start_app


class Crm:
    """`GET /customers?email=...` → `{"customerType": ...}`; `POST /notes` records bodies.

    `types` maps emails to customer types (unknown: 404); `mode` can make every answer
    "slow" (held until `release` is set), "garbage" (not JSON), "empty" (JSON without a
    customerType), "big", "chunked" (a 30 KB answer sent in 8 KB pieces, one at a time) or
    "down" (500).
    """

    def __init__(self) -> None:
        self.types: dict[str, str] = {}
        self.mode = "normal"
        self.requests: list[dict[str, Any]] = []
        self.release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/customers", self._lookup)
        app.router.add_post("/notes", self._note)
        self._runner, self.url = await start_app(app)
        return self.url

    async def close(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _lookup(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            {
                "query": dict(request.query),
                "authorization": request.headers.get("Authorization"),
                "raw_query": request.raw_path,
            }
        )
        if self.mode == "slow":
            await self.release.wait()
        if self.mode == "down":
            return web.json_response({"error": "down"}, status=500)
        if self.mode == "garbage":
            return web.Response(text="<html>oops</html>")
        if self.mode == "empty":
            return web.json_response({"id": 7})  # found, but says nothing of the type
        if self.mode == "chunked":
            return await self._in_pieces(request)
        if self.mode == "big":
            return web.json_response({"customerType": "VIP", "padding": "x" * 100_000})
        email = request.query.get("email", "")
        if email not in self.types:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"customerType": self.types[email], "id": 7})

    async def _in_pieces(self, request: web.Request) -> web.StreamResponse:
        body = json.dumps({"customerType": "VIP", "id": 7, "padding": "x" * 30_000}).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 8192):
            await response.write(body[start : start + 8192])
            await asyncio.sleep(0.02)  # a slow network: the reader sees one piece at a time
        await response.write_eof()
        return response

    async def _note(self, request: web.Request) -> web.Response:
        self.requests.append({"body": json.loads(await request.read())})
        return web.json_response({"ok": True})
