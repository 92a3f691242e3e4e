"""The aiohttp application: what the config names, wired together."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from core import plugins
from core.api import AgentApi
from core.clock import SystemClock
from core.config import Config
from core.ports import Channel, Clock, Store
from core.runtime import Runtime

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


def build(config: Config, clock: Clock | None = None) -> Frontdesk:
    clock = clock or SystemClock()
    store_type = plugins.store_type(config.store.type)
    assert store_type is not None  # the config loader checked it
    store = store_type(config.store.settings, config.base_dir)
    # The outbox reads this mapping when it delivers, so filling it after the runtime exists
    # is fine; the runtime is the Inbox every channel hands its events to.
    channels: dict[str, Channel] = {}
    runtime = Runtime(
        store,
        clock,
        config.workflows,
        channels,
        config.outbox,
        config.server.concurrency,
        schedules=config.schedules,
        settings=config.settings,
        secrets=config.secret_values(),
        desk=config.desk,
        away_outside=config.away_outside,
        after_crash=config.after_crash(),
    )
    for slug, channel_config in config.channels.items():
        channel_type = plugins.channel_type(channel_config.type)
        assert channel_type is not None  # the config loader checked it
        channels[slug] = channel_type(slug, channel_config.settings, runtime, clock)

    app = web.Application(client_max_size=MAX_BODY)
    for channel in channels.values():
        app.add_routes(list(channel.routes()))
    api = AgentApi(
        store,
        config.api.token,
        runtime.set_agent_status,
        runtime.close_conversation,
        runtime.assign_conversation,
    )
    app.add_routes(api.routes())
    frontdesk = Frontdesk(config, store, channels, runtime, app)

    async def startup(_: web.Application) -> None:
        await start(frontdesk)

    async def cleanup(_: web.Application) -> None:
        await stop(frontdesk)

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return frontdesk


async def start(frontdesk: Frontdesk) -> None:
    """Open the store, then start the channels and the runtime: what `build`'s application
    does on startup and `embedded` on entry."""
    config, store, runtime = frontdesk.config, frontdesk.store, frontdesk.runtime
    await store.open()
    # Before any channel or worker starts, so nothing new is mistaken for the old work.
    await runtime.take_back()
    await store.sync_directory(config.agents, config.teams)
    # Workflow versions are stored before any channel can hand over an event.
    await runtime.engine.prepare()
    for channel in frontdesk.channels.values():
        await channel.start()
    await runtime.start()
    log.info(
        "frontdesk started: channels=%s workflows=%s",
        ",".join(frontdesk.channels) or "-",
        ",".join(w.name for w in config.workflows) or "-",
    )


async def stop(frontdesk: Frontdesk) -> None:
    """Undo `start`: the runtime first, then the channels, the store last."""
    await frontdesk.runtime.stop()
    for channel in frontdesk.channels.values():
        await channel.close()
    await frontdesk.store.close()


@asynccontextmanager
async def embedded(config: Config, clock: Clock | None = None) -> AsyncIterator[Frontdesk]:
    """A running frontdesk inside another program (such as a host bot, through a channel's
    plug-ins), without an HTTP server: its channels' routes and the agent API are not served.
    Stopped when the block exits."""
    frontdesk = build(config, clock)
    await start(frontdesk)
    try:
        yield frontdesk
    finally:
        await stop(frontdesk)


async def serve(config: Config) -> None:
    """Run until SIGINT or SIGTERM, then stop cleanly (in-flight work stays in the store)."""
    frontdesk = build(config)
    runner = web.AppRunner(frontdesk.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.server.host, config.server.port)
    await site.start()
    log.info("listening on http://%s:%d", config.server.host, config.server.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await runner.cleanup()
