"""Serving an aiohttp application on 127.0.0.1, on a free port, for a test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


async def start_app(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve `app`: its runner (clean it up when done) and its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@asynccontextmanager
async def serving_app(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` for the block; its base URL."""
    runner, url = await start_app(app)
    try:
        yield url
    finally:
        await runner.cleanup()
