"""`frontdesk telegram ...`: point a bot's webhook at frontdesk, take it off, and look at it.

Each command calls the Bot API (through aiogram) at the channel's `base_url`, with the token
and secret_token of the channel's block in the config.
https://core.telegram.org/bots/api#getting-updates
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import AiogramError, TelegramUnauthorizedError

from adapters.telegram.hints import token_refused
from adapters.telegram.outbound import REQUEST_TIMEOUT_SECONDS
from adapters.telegram.settings import TelegramSettings
from adapters.telegram.updates import ALLOWED_UPDATES
from core.channel_commands import channel_settings

T = TypeVar("T")

config_option = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The frontdesk config file with the channel's token and secret_token.",
)
channel_option = click.option(
    "--channel",
    "slug",
    default="telegram",
    show_default=True,
    help="The telegram channel's name in the config.",
)


@click.group()
def telegram() -> None:
    """Manage the webhook of a telegram channel's bot."""


@telegram.command("set-webhook")
@config_option
@channel_option
@click.option(
    "--url",
    required=True,
    help="The public HTTPS URL of the channel's endpoint, e.g. https://fd.example.com/telegram/updates.",
)
@click.option("--drop-pending-updates", is_flag=True, help="Discard updates Telegram is holding.")
def set_webhook(config_path: Path, slug: str, url: str, drop_pending_updates: bool) -> None:
    """Tell Telegram to deliver the bot's updates to URL, with the channel's secret_token."""
    settings = _settings(config_path, slug)
    if settings.mode != "webhook" or settings.secret_token is None:
        raise click.UsageError(
            f"channel '{slug}' is in {settings.mode} mode; a webhook needs mode: webhook "
            "and a secret_token"
        )
    secret_token = settings.secret_token.get_secret_value()
    if not url.rstrip("/").endswith(f"/{slug}/updates"):
        click.echo(f"note: the channel's endpoint path is /{slug}/updates", err=True)
    _call(
        slug,
        settings,
        lambda bot: bot.set_webhook(
            url=url,
            secret_token=secret_token,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=drop_pending_updates,
        ),
    )
    click.echo(f"webhook set to {url}")


@telegram.command("delete-webhook")
@config_option
@channel_option
@click.option("--drop-pending-updates", is_flag=True, help="Discard updates Telegram is holding.")
def delete_webhook(config_path: Path, slug: str, drop_pending_updates: bool) -> None:
    """Stop Telegram delivering the bot's updates to any webhook."""
    settings = _settings(config_path, slug)
    _call(slug, settings, lambda bot: bot.delete_webhook(drop_pending_updates=drop_pending_updates))
    click.echo("webhook deleted")


@telegram.command()
@config_option
@channel_option
def info(config_path: Path, slug: str) -> None:
    """Show the bot and where Telegram delivers its updates."""
    settings = _settings(config_path, slug)

    async def both(bot: Bot) -> tuple[str, list[str]]:
        me = await bot.get_me()
        hook = await bot.get_webhook_info()
        lines = [
            f"url: {hook.url or '(none: updates are not pushed)'}",
            f"pending updates: {hook.pending_update_count}",
        ]
        if hook.last_error_message:
            lines.append(f"last error: {hook.last_error_message}")
        return f"bot: @{me.username} ({me.id})", lines

    bot_line, lines = _call(slug, settings, both)
    click.echo(bot_line)
    for line in lines:
        click.echo(line)


def new_bot(settings: TelegramSettings) -> Bot:
    """An aiogram client of the channel's bot at its `base_url` (these commands run outside
    the server, so aiogram's import costs nothing there); whoever makes it closes it."""
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(settings.base_url), timeout=REQUEST_TIMEOUT_SECONDS
    )
    return Bot(settings.token.get_secret_value(), session=session)


def _settings(config_path: Path, slug: str) -> TelegramSettings:
    return channel_settings(config_path, slug, TelegramSettings, "telegram")[1]


def _call(slug: str, settings: TelegramSettings, call: Callable[[Bot], Awaitable[T]]) -> T:
    async def run() -> T:
        async with new_bot(settings) as bot:
            return await call(bot)

    try:
        return asyncio.run(run())
    except TelegramUnauthorizedError as exc:
        raise click.ClickException(token_refused(slug)) from exc
    except AiogramError as exc:  # the token is never part of aiogram's messages
        raise click.ClickException(f"the Bot API said no: {exc}") from exc
