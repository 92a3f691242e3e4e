"""`frontdesk parked list|retry`: events set aside because processing them kept failing.

The commands read and change the store directly, so they work with the server stopped too.
A retried event is pending again: a running server picks it up at its next sweep (within
thirty seconds), a stopped one when it starts.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from core import plugins
from core.config import load_config
from core.errors import ConfigError, FrontdeskError
from core.parked_api import LIST_LIMIT
from core.ports import Records, Store

T = TypeVar("T")

config_option = click.option(
    "--config", "config_path", required=True, type=click.Path(path_type=Path)
)


def _with_store(config_path: Path, work: Callable[[Store], Awaitable[T]]) -> T:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    store_type = plugins.store_type(config.store.type)
    assert store_type is not None  # the config loader checked it
    store = store_type(config.store.settings, config.base_dir)

    async def run() -> T:
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except FrontdeskError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _records(store: Store) -> Records:
    if not isinstance(store, Records):
        raise FrontdeskError("this store cannot list what it holds")
    return store


@click.group()
def parked() -> None:
    """Events set aside because processing them kept failing."""


@parked.command("list")
@config_option
@click.option("--limit", default=LIST_LIMIT, show_default=True, type=click.IntRange(1, 1000))
def list_parked(config_path: Path, limit: int) -> None:
    """The parked events, most recently parked first, each with its error."""
    found = _with_store(config_path, lambda store: _records(store).parked_inbound(limit))
    if not found:
        click.echo("no parked events")
    for item in found:
        when = item.parked_at.isoformat(timespec="seconds")
        click.echo(f"{item.id}  {when}  {item.event.conversation_key}  {item.event.event_id}")
        click.echo(f"    {item.error}")


@parked.command("retry")
@click.argument("inbound_id", type=click.IntRange(min=1))
@config_option
def retry(inbound_id: int, config_path: Path) -> None:
    """Make the parked event INBOUND_ID pending again, to be processed again."""
    item = _with_store(config_path, lambda store: store.unpark_inbound(inbound_id))
    if item is None:
        click.echo(f"no parked event with id {inbound_id}", err=True)
        sys.exit(1)
    click.echo(f"{inbound_id}: pending again; a running frontdesk processes it within 30 s")
