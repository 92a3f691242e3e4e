"""`frontdesk migrate-store`: copy a SQLite store into PostgreSQL, as often as needed.

Registered through the `frontdesk.cli` entry point, like the channels' commands, so that core
imports no store.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import click
from pydantic import SecretStr, ValidationError

from core.errors import StoreUnavailable
from storage.postgres.copying import SourceError, copy, open_source
from storage.postgres.pool import DRIVER_ERRORS, create_pool
from storage.postgres.schema import migrate
from storage.postgres.settings import PostgresSettings


@click.command("migrate-store")
@click.option("--from", "source", required=True, help="sqlite:PATH of the SQLite store's file")
@click.option(
    "--to",
    "target",
    required=True,
    envvar="FRONTDESK_DATABASE_URL",
    help="postgresql://user@host/db (or FRONTDESK_DATABASE_URL)",
)
@click.option("--schema", "schema", default="frontdesk", show_default=True)
def migrate_store(source: str, target: str, schema: str) -> None:
    """Copy contacts, conversations (with transcripts, history, outbox, timers and desk
    threads), the inbox, cursors, agents, teams and workflow versions from a SQLite store
    into PostgreSQL. Running it again copies only what is new."""
    if not source.startswith("sqlite:"):
        raise click.BadParameter("give the SQLite store as sqlite:PATH", param_hint="--from")
    try:
        settings = PostgresSettings(dsn=SecretStr(target), schema_name=schema)
    except ValidationError as exc:
        raise click.BadParameter(str(exc.errors()[0]["msg"]), param_hint="--schema") from None
    try:
        conn = open_source(Path(source.removeprefix("sqlite:")))
    except SourceError as exc:
        click.echo(f"frontdesk: {exc}", err=True)
        sys.exit(1)
    try:
        copied = asyncio.run(_run(conn, settings))
    except (StoreUnavailable, *DRIVER_ERRORS) as exc:
        click.echo(f"frontdesk: migrate-store failed: {exc}", err=True)
        sys.exit(1)
    finally:
        conn.close()
    for table, count in copied.items():
        click.echo(f"{table}: {count} copied")
    click.echo(f"copied into {settings.where()} schema {schema}")


async def _run(conn: sqlite3.Connection, settings: PostgresSettings) -> dict[str, int]:
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as target:
            await migrate(target, settings.schema_name)
        return await copy(conn, pool)
    finally:
        await pool.close()
