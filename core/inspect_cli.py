"""`frontdesk conversations list|show`, `frontdesk queues`, `frontdesk agents`: what operators
see, as tables for people or `--json` for scripts.

They ask the running server's API (its address and token from the config) and, when nothing
answers there, read the store directly and say so in one line on stderr. Either way they
print the documents of `views`, so a script never needs to know which one answered.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiohttp
import click

from core import plugins
from core.addresses import DeskAddresses
from core.clock import SystemClock
from core.config import Config, load_config
from core.errors import ConfigError
from core.listing import BadQuery, parse_query
from core.ports import Records
from core.records_api import agent_queues_of, conversations_page, find_record, queue_of
from core.tables import agents_table, conversation_text, conversations_table, queues_text
from core.views import JSON, agent, detail

T = TypeVar("T")
TIMEOUT_SECONDS = 10.0
# What a wildcard bind address is reached through from the same machine.
_LOOPBACK_FOR = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


class Failed(click.ClickException):
    """The server answered with an error: its reason, exit status 1."""


class Reader(Protocol):
    async def conversations(self, params: dict[str, str]) -> JSON: ...

    async def conversation(self, conversation_id: str) -> JSON | None: ...

    async def queue(self, team: str) -> JSON | None: ...

    async def agent_queues(self) -> list[JSON]: ...

    async def agents(self) -> list[JSON]: ...


class ServerDown(Exception):
    pass


class ApiReader:
    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self._session = session
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        try:
            async with self._session.get(
                self._url + path, params=params, headers=self._headers
            ) as response:
                if response.status == 404:
                    return None
                body = await response.json(content_type=None)
                if response.status != 200:
                    reason = body.get("error") if isinstance(body, dict) else None
                    raise Failed(f"the server answered {response.status}: {reason}")
                return body
        except aiohttp.ClientConnectorError as exc:
            raise ServerDown(str(exc)) from exc

    async def conversations(self, params: dict[str, str]) -> JSON:
        found: JSON = await self._get("/api/conversations", params)
        return found

    async def conversation(self, conversation_id: str) -> JSON | None:
        found: JSON | None = await self._get(f"/api/conversations/{conversation_id}")
        return found

    async def queue(self, team: str) -> JSON | None:
        found: JSON | None = await self._get(f"/api/teams/{team}/queue")
        return found

    async def agent_queues(self) -> list[JSON]:
        found: list[JSON] = await self._get("/api/agents/queues")
        return found

    async def agents(self) -> list[JSON]:
        found: list[JSON] = await self._get("/api/agents")
        return found


class StoreReader:
    def __init__(self, records: Records, addresses: DeskAddresses) -> None:
        self._records = records
        self._addresses = addresses
        self._clock = SystemClock()

    async def conversations(self, params: dict[str, str]) -> JSON:
        return await conversations_page(self._records, parse_query(params))

    async def conversation(self, conversation_id: str) -> JSON | None:
        record = await find_record(self._records, conversation_id)
        return None if record is None else detail(record)

    async def queue(self, team: str) -> JSON | None:
        return await queue_of(self._records, "team", team, self._clock)

    async def agent_queues(self) -> list[JSON]:
        return await agent_queues_of(self._records, self._clock)

    async def agents(self) -> list[JSON]:
        return [agent(load, self._addresses) for load in await self._records.agent_loads()]


@asynccontextmanager
async def _store_reader(config: Config) -> AsyncIterator[StoreReader]:
    store_type = plugins.store_type(config.store.type)
    assert store_type is not None  # the config loader checked it
    store = store_type(config.store.settings, config.base_dir)
    if not isinstance(store, Records):
        raise click.ClickException(f"a {config.store.type} store cannot list what it holds")
    await store.open()
    try:
        yield StoreReader(store, config.addresses)
    finally:
        await store.close()


async def _ask(config: Config, work: Callable[[Reader], Awaitable[T]]) -> T:
    """`work` done through the server's API, or on the store when the server is down."""
    token = config.api.token
    server = config.server
    url = f"http://{_LOOPBACK_FOR.get(server.host, server.host)}:{server.port}"
    if token is None:
        click.echo("api.token is not set: reading the store directly", err=True)
    else:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                return await work(ApiReader(session, url, token.get_secret_value()))
            except ServerDown:
                click.echo(
                    f"frontdesk is not answering at {url}: reading the store directly", err=True
                )
    async with _store_reader(config) as reader:
        return await work(reader)


def _config(path: Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(f"the config is wrong:\n{exc}") from exc


def _print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


config_option = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The frontdesk config file: the server's address and API token, and its store.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="One JSON document.")


@click.group()
def conversations() -> None:
    """List and show conversations."""


@conversations.command("list")
@config_option
@json_option
@click.option("--status", help="open, waiting, queued or closed")
@click.option("--team")
@click.option("--assignee", help="an agent id")
@click.option("--channel", help="a channel's name in the config")
@click.option("--contact", help="the contact's id on their channel (a Telegram chat id...)")
@click.option("--since", help="opened at or after this ISO-8601 time (UTC unless it says)")
@click.option("--until", help="opened before this ISO-8601 time")
@click.option("--limit", help="at most this many (1-500, default 50)")
@click.option("--cursor", help="the page after the one that printed this cursor")
def list_conversations(config_path: Path, as_json: bool, **filters: str | None) -> None:
    """Conversations, newest first."""
    params = {name: value for name, value in filters.items() if value is not None}
    try:
        parse_query(params)  # the same refusal whichever side answers
    except BadQuery as exc:
        raise click.UsageError(f"--{exc}") from exc
    config = _config(config_path)
    page = asyncio.run(_ask(config, lambda reader: reader.conversations(params)))
    if as_json:
        _print_json(page)
        return
    click.echo(conversations_table(page["conversations"], SystemClock().now()))
    if page["next"] is not None:
        click.echo(f"more: --cursor {page['next']}")


@conversations.command("show")
@config_option
@json_option
@click.argument("conversation_id")
def show_conversation(config_path: Path, as_json: bool, conversation_id: str) -> None:
    """One conversation: contact, workflow position, history and transcript. The id may be
    shortened to a prefix only one conversation has."""
    config = _config(config_path)
    found = asyncio.run(_ask(config, lambda reader: reader.conversation(conversation_id)))
    if found is None:
        click.echo(f"no conversation {conversation_id!r}", err=True)
        sys.exit(1)
    if as_json:
        _print_json(found)
    else:
        click.echo(conversation_text(found, SystemClock().now()))


@click.command()
@config_option
@json_option
def queues(config_path: Path, as_json: bool) -> None:
    """Each team's queue: conversations waiting for an agent, in arrival order; then each
    agent's own, for those with somebody waiting for them alone."""
    config = _config(config_path)

    async def every_queue(reader: Reader) -> list[JSON]:
        found = [await reader.queue(team) for team in sorted(config.teams)]
        return [queue for queue in found if queue is not None] + await reader.agent_queues()

    found = asyncio.run(_ask(config, every_queue))
    if as_json:
        _print_json(found)
    else:
        click.echo(queues_text(found))


@click.command()
@config_option
@json_option
def agents(config_path: Path, as_json: bool) -> None:
    """Agents with their status, teams and open conversations."""
    config = _config(config_path)
    found = asyncio.run(_ask(config, lambda reader: reader.agents()))
    if as_json:
        _print_json(found)
    else:
        click.echo(agents_table(found))
