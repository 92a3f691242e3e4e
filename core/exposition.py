"""Serving the metrics, and measuring the channels' endpoints for them.

`/metrics` answers without authentication: it shows counts and durations by channel, team,
agent status and workflow step, never contact data or a secret. Set `metrics.port` to serve
it on a port of its own (one a firewall can keep private) instead of the main one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler

from core.config_sections import MetricsSettings
from core.metrics import CONTENT_TYPE
from core.ports import Clock, Records
from core.reporting import Reporter

log = logging.getLogger("frontdesk.metrics")
PATH = "/metrics"


def metrics_route(reporter: Reporter, records: Records | None, clock: Clock) -> web.RouteDef:
    async def scrape(_: web.Request) -> web.Response:
        body = await reporter.metrics.exposition(records, clock.now())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    return web.get(PATH, scrape)


def instrumented(
    channel: str, routes: Iterable[web.RouteDef], reporter: Reporter
) -> list[web.RouteDef]:
    """The channel's routes, each counting its refusals (4xx, 5xx) and timing its 2xx
    answers: from the request's arrival to the handler's answer, which a channel gives once
    the event is stored."""
    return [
        web.route(
            route.method, route.path, _timed(channel, route.handler, reporter), **route.kwargs
        )
        for route in routes
    ]


def _timed(channel: str, handler: Handler, reporter: Reporter) -> Handler:
    async def timed(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            _count(reporter, channel, exc.status, started)
            raise
        _count(reporter, channel, response.status, started)
        return response

    return timed


def _count(reporter: Reporter, channel: str, status: int, started: float) -> None:
    if status >= 400:
        reporter.refused(channel, status)
    elif status < 300:
        reporter.acknowledged(channel, time.perf_counter() - started)


class MetricsServer:
    """`/metrics` alone, on `metrics.host`:`metrics.port`."""

    def __init__(self, settings: MetricsSettings, route: web.RouteDef) -> None:
        self._settings = settings
        self._app = web.Application()
        self._app.add_routes([route])
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._settings.host, self._settings.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        log.info("metrics on http://%s:%d%s", host, port, PATH)

    @property
    def url(self) -> str:
        assert self._runner is not None, "not started"
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
