"""The aiohttp application: what the config names, wired together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from core import heap, logs, plugins
from core.api import AgentApi
from core.clock import SystemClock
from core.config import Config
from core.console.live import Feed, LiveReporter
from core.console.site import PREFIX, Console
from core.errors import StoreUnavailable
from core.exposition import MetricsServer, instrumented, metrics_route
from core.health import Readiness
from core.parked_api import ParkedApi
from core.ports import Channel, Clock, Records, Store
from core.records_api import RecordsApi
from core.reload import reload
from core.runtime import Runtime
from core.server import CannotStart, GuardedSite, bind, body_deadline, cannot_listen

log = logging.getLogger("frontdesk")

MAX_BODY = 1024 * 1024  # aiohttp's own cap; each channel enforces its tighter limit


@dataclass
class Frontdesk:
    """Everything one running frontdesk holds."""

    config: Config
    store: Store
    channels: dict[str, Channel]
    runtime: Runtime
    app: web.Application
    records: Records | None  # the store's read side, when it has one
    metrics_server: MetricsServer | None = None  # with `metrics.port` set
    started: set[str] = field(default_factory=set)  # channels started, for readiness


def build(config: Config, clock: Clock | None = None) -> Frontdesk:
    clock = clock or SystemClock()
    logs.hide(config.hidden_values())
    feed = Feed()  # the console's live updates: the reporter tells it every committed turn
    reporter = LiveReporter(feed)
    store_type = plugins.store_type(config.store.type)
    assert store_type is not None  # the config loader checked it
    store = store_type(config.store.settings, config.base_dir)
    # The outbox reads this mapping when it delivers, so filling it after the runtime exists
    # is fine; the runtime is the Inbox every channel hands its events to.
    channels: dict[str, Channel] = {}
    runtime = Runtime(
        store=store,
        clock=clock,
        workflows=config.workflows,
        channels=channels,
        outbox=config.outbox,
        concurrency=config.server.concurrency,
        max_backlog=config.server.max_backlog,
        schedules=config.schedules,
        settings=config.settings,
        secrets=config.secret_values(),
        desk=config.desk,
        addresses=config.addresses,
        away_outside=config.away_outside,
        reporter=reporter,
        retention=config.retention,
        after_crash=config.after_crash(),
    )
    for slug, channel_config in config.channels.items():
        channel_type = plugins.channel_type(channel_config.type)
        assert channel_type is not None  # the config loader checked it
        channels[slug] = channel_type(slug, channel_config.settings, runtime, clock)

    app = web.Application(
        client_max_size=MAX_BODY, middlewares=[body_deadline(config.server.body_timeout_seconds)]
    )
    for slug, channel in channels.items():
        app.add_routes(instrumented(slug, channel.routes(), reporter))
    api = AgentApi(
        config.api.token,
        runtime.set_agent_status,
        runtime.close_conversation,
        runtime.assign_conversation,
    )
    app.add_routes(api.routes())
    records = store if isinstance(store, Records) else None
    app.add_routes(ParkedApi(records, config.api.token, runtime.retry_parked).routes())
    records_api = RecordsApi(
        records, config.api.token, clock, addresses=lambda: runtime.engine.addresses
    )
    app.add_routes(records_api.routes())
    frontdesk = Frontdesk(config, store, channels, runtime, app, records)
    console = Console(
        config=lambda: frontdesk.config, records=records, controls=runtime, clock=clock, feed=feed
    )
    app.add_subapp(PREFIX, console.app())
    readiness = Readiness(store, channels, lambda: frontdesk.started, runtime.loops)
    app.add_routes(readiness.routes())
    if config.metrics.enabled:
        scrape = metrics_route(reporter, records, clock)
        if config.metrics.port is None:
            app.add_routes([scrape])
        else:
            frontdesk.metrics_server = MetricsServer(config.metrics, scrape)

    async def startup(_: web.Application) -> None:
        await start(frontdesk)
        if frontdesk.metrics_server is not None:
            try:
                await frontdesk.metrics_server.start()
            except OSError as exc:
                await stop(frontdesk)
                metrics = config.metrics
                raise cannot_listen(metrics.host, metrics.port or 0, exc, " (metrics)") from exc

    async def cleanup(_: web.Application) -> None:
        if frontdesk.metrics_server is not None:
            await frontdesk.metrics_server.stop()
        await stop(frontdesk)

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return frontdesk


async def start(frontdesk: Frontdesk) -> None:
    """Open the store, then start the channels and the runtime: what `build`'s application
    does on startup and `embedded` on entry. If a part fails, what started is stopped."""
    config, store, runtime = frontdesk.config, frontdesk.store, frontdesk.runtime
    await store.open()
    try:
        # Before any channel or worker starts, so nothing new is mistaken for the old work.
        await runtime.take_back()
        await store.sync_directory(config.agents, config.teams)
        # Workflow versions are stored before any channel can hand over an event.
        await runtime.engine.prepare()
        # Events a previous run left are handed over, and so counted in the backlog, before
        # any channel takes a new one.
        await runtime.recover()
        for slug, channel in frontdesk.channels.items():
            await channel.start()
            frontdesk.started.add(slug)
        await runtime.start()
    except BaseException:
        await stop(frontdesk)
        raise


async def stop(frontdesk: Frontdesk) -> None:
    """Undo `start`: the runtime first, then the channels, the store last. Work under way
    has `server.shutdown_grace_seconds` to finish."""
    await frontdesk.runtime.stop(frontdesk.config.server.shutdown_grace_seconds)
    for slug, channel in frontdesk.channels.items():
        if slug in frontdesk.started:
            frontdesk.started.discard(slug)
            await channel.close()
    await frontdesk.store.close()


def _started(frontdesk: Frontdesk, where: str) -> None:
    config = frontdesk.config
    log.info(
        "frontdesk started: %s channels=%s workflows=%s",
        where,
        ",".join(frontdesk.channels) or "-",
        ",".join(w.name for w in config.workflows) or "-",
    )


@asynccontextmanager
async def embedded(config: Config, clock: Clock | None = None) -> AsyncIterator[Frontdesk]:
    """A running frontdesk inside another program (such as a host bot, through a channel's
    plug-ins), without an HTTP server: its channels' routes and the agent API are not served.
    Stopped when the block exits."""
    frontdesk = build(config, clock)
    await start(frontdesk)
    _started(frontdesk, "embedded")
    try:
        yield frontdesk
    finally:
        await stop(frontdesk)


async def serve(config: Config, load: Callable[[], Config] | None = None) -> None:
    """Listen, start, and run until SIGINT or SIGTERM, then stop cleanly (in-flight work
    stays in the store). SIGHUP reloads the config through `load` (see `core.reload`).

    The port is bound before anything starts and the store opened before a connection is
    accepted; either failing raises CannotStart with a one-line reason."""
    sock = bind(config.server.host, config.server.port)
    try:
        await _run(build(config), sock, load)
    finally:
        sock.close()


async def _run(
    frontdesk: Frontdesk, sock: socket.socket, load: Callable[[], Config] | None
) -> None:
    server = frontdesk.config.server
    runner = web.AppRunner(
        frontdesk.app,
        access_log=None,
        keepalive_timeout=server.header_timeout_seconds,
        shutdown_timeout=server.shutdown_grace_seconds,
    )
    try:
        await runner.setup()  # the application's startup: `start`
    except StoreUnavailable as exc:
        raise CannotStart(f"cannot open the store: {exc}") from exc
    try:
        site = GuardedSite(runner, sock, server.max_connections)
        await site.start()
        _started(frontdesk, f"listening on {site.name}")
        heap.settle()  # only in `serve`: a host program embedding frontdesk keeps its own
        await _until_stopped(frontdesk, load)
    finally:
        log.info("stopping (grace %g s)", server.shutdown_grace_seconds)
        await runner.cleanup()
        log.info("stopped")


async def _until_stopped(frontdesk: Frontdesk, load: Callable[[], Config] | None) -> None:
    stopping = asyncio.Event()
    reloads: asyncio.Queue[None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    if load is not None:
        loop.add_signal_handler(signal.SIGHUP, reloads.put_nowait, None)

    async def reloading() -> None:
        assert load is not None
        while True:
            await reloads.get()
            try:
                await reload(frontdesk, load)
            except Exception:  # the next SIGHUP must still be heard
                log.exception("reload failed; the running config may be partly replaced")

    reloader = asyncio.create_task(reloading(), name="frontdesk:reload")
    try:
        await stopping.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        reloader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reloader
