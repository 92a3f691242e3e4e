"""`frontdesk webhook ...`: tools for a developer wiring a system to the webhook channel.

`send` plays the integrated system posting an event to frontdesk; `listen` plays its callback
URL and prints what frontdesk says. Both sign and verify exactly as the channel does.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp
import click
from aiohttp import web
from pydantic import ValidationError

from adapters.webhook.listener import listener_app
from adapters.webhook.payload import EventBody
from adapters.webhook.settings import WebhookSettings
from adapters.webhook.signing import SIGNATURE_HEADER, sign
from core.bodies import describe
from core.channel_commands import channel_section
from core.config_sections import ServerSettings

SEND_TIMEOUT_SECONDS = 10.0
# What a wildcard bind address is reached through from the same machine.
_LOOPBACK_FOR = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A frontdesk config file to take the address and secret from.",
)
channel_option = click.option(
    "--channel",
    "slug",
    default="webhook",
    show_default=True,
    help="The webhook channel's name in the config.",
)


@click.group()
def webhook() -> None:
    """Try the webhook channel by hand: post events to frontdesk, receive its messages."""


@webhook.command()
@config_option
@channel_option
@click.option("--url", help="The events URL, e.g. http://127.0.0.1:8080/webhook/events.")
@click.option("--secret", help="The channel's shared secret.")
@click.option("--contact", "contact_id", required=True, help="The sender's contact id.")
@click.option("--name", help="The contact's name.")
@click.option("--language", help="The contact's language, e.g. es.")
@click.option("--option", "option_id", help="The id of an option being chosen.")
@click.option("--event-id", help="The event's id (default: a fresh one).")
@click.argument("text", required=False)
@click.pass_context
def send(
    ctx: click.Context,
    config_path: Path | None,
    slug: str,
    url: str | None,
    secret: str | None,
    contact_id: str,
    name: str | None,
    language: str | None,
    option_id: str | None,
    event_id: str | None,
    text: str | None,
) -> None:
    """Sign and POST one inbound event, as the integrated system would.

    Exits 0 when frontdesk answers 2xx, 1 on any other answer, 2 when it cannot be reached.
    """
    if url is None or secret is None:
        server, settings = _channel_settings(config_path, slug, "--url and --secret")
        host = _LOOPBACK_FOR.get(server.host, server.host)
        if ":" in host:  # an IPv6 literal goes in brackets in a URL
            host = f"[{host}]"
        url = url or f"http://{host}:{server.port}/{slug}/events"
        secret = secret or settings.secret.get_secret_value()
    if text is None and option_id is None:
        raise click.UsageError("give the message text, or --option, or both")
    try:
        # Validated as a whole, as the endpoint will, so that a reason names the full field.
        event = EventBody.model_validate(
            {
                "event_id": event_id or str(uuid.uuid4()),
                "contact": {"id": contact_id, "name": name, "language": language},
                "message": {"text": text, "option_id": option_id},
            }
        )
    except ValidationError as exc:
        raise click.UsageError(describe(exc)) from exc

    body = event.model_dump_json(exclude_none=True).encode("utf-8")
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
    try:
        status, reason, answer = asyncio.run(_post(url, body, headers))
    except (aiohttp.ClientError, TimeoutError) as exc:
        if isinstance(exc, TimeoutError):
            why = f"no answer within {SEND_TIMEOUT_SECONDS:g}s"
        else:
            why = str(exc) or type(exc).__name__
        click.echo(f"could not reach {url}: {why}", err=True)
        ctx.exit(2)
    click.echo(f"{status} {reason}".rstrip())
    if answer:
        click.echo(answer)
    ctx.exit(0 if 200 <= status < 300 else 1)


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
    timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT_SECONDS)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        return response.status, response.reason or "", await response.text(errors="replace")


@webhook.command()
@config_option
@channel_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to bind.")
@click.option("--port", type=click.IntRange(1, 65535), help="The port (default: callback_url's).")
@click.option("--path", help="The path to answer (default: callback_url's, else any path).")
@click.option("--secret", help="The channel's shared secret.")
def listen(
    config_path: Path | None,
    slug: str,
    host: str,
    port: int | None,
    path: str | None,
    secret: str | None,
) -> None:
    """Stand in for the callback URL: verify and print each message frontdesk sends.

    Repeats of a message (same message_id) are answered 200 and not printed. Ctrl-C stops.
    """
    if port is None or secret is None:
        _, settings = _channel_settings(config_path, slug, "--port and --secret")
        callback = settings.callback_url
        if callback.scheme == "https":
            click.echo("note: this listener speaks plain http", err=True)
        port = port or callback.port
        path = path or callback.path or "/"
        secret = secret or settings.secret.get_secret_value()
    if port is None:  # only when a callback_url had none, which pydantic fills in by scheme
        raise click.UsageError("give --port")
    if path is not None and not path.startswith("/"):
        path = "/" + path

    app = listener_app(secret, path, echo=click.echo, warn=lambda line: click.echo(line, err=True))
    where = f"http://{host}:{port}{path or '/'}" + ("" if path else " (any path)")
    try:
        web.run_app(
            app,
            host=host,
            port=port,
            access_log=None,  # the listener prints each message; access lines are noise here
            print=lambda _banner: click.echo(f"listening on {where}; Ctrl-C to stop", err=True),
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc


def _channel_settings(
    config_path: Path | None, slug: str, instead: str
) -> tuple[ServerSettings, WebhookSettings]:
    """The server section and the webhook channel `slug` of the config (only the variables
    those name need be set), or a usage error that says what to give."""
    if config_path is None:
        raise click.UsageError(f"give --config, or {instead}")
    return channel_section(config_path, slug, WebhookSettings, "webhook")
