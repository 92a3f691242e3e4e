"""`frontdesk slack check`: before going live, see that the Slack app is set up right.

It asks the Web API (at the channel's `base_url`, with its bot token) who the bot is
(auth.test), then looks up every agent's Slack user id (`agents.<id>.desk.<slug>`) with
users.info, and says what is wrong with each. The exit status is 1 when anything is.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import click
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.settings import SlackSettings
from core.channel_commands import channel_settings
from core.config import Config

REQUEST_TIMEOUT_SECONDS = 15


@click.group()
def slack() -> None:
    """Check a slack channel's app and the agents' Slack ids."""


@slack.command()
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The frontdesk config file with the channel's bot token.",
)
@click.option(
    "--channel", "slug", default="slack", show_default=True, help="The slack channel's name."
)
def check(config_path: Path, slug: str) -> None:
    """Check the bot token and that every agent's Slack id is a person in the workspace."""
    config, settings = channel_settings(config_path, slug, SlackSettings, "slack")
    lines, problems = asyncio.run(_check(config, settings, slug))
    for line in lines:
        click.echo(line)
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        raise SystemExit(1)


async def _check(config: Config, settings: SlackSettings, slug: str) -> tuple[list[str], list[str]]:
    client = AsyncWebClient(
        token=settings.bot_token.get_secret_value(),
        base_url=settings.base_url,
        timeout=REQUEST_TIMEOUT_SECONDS,
        retry_handlers=[],
    )
    lines: list[str] = []
    problems: list[str] = []
    try:
        me = await client.auth_test()
    except SlackApiError as exc:
        return lines, [f"auth.test said {exc.response.get('error')}: check bot_token"]
    except (OSError, aiohttp.ClientError) as exc:
        return lines, [f"cannot reach {settings.base_url}: {type(exc).__name__}"]
    lines.append(f"bot: {me.get('user_id')} in team {me.get('team') or me.get('team_id')}")
    for agent in config.agents:
        user_id = config.addresses.of_agent(slug, agent.id)
        if not user_id:
            problems.append(
                f"agent {agent.id} has no Slack id (agents.{agent.id}.desk.{slug}): "
                "they get no notices"
            )
            continue
        try:
            found = await client.users_info(user=user_id)
        except SlackApiError as exc:
            error = exc.response.get("error")
            problems.append(f"agent {agent.id}: {user_id} is {error}")
            continue
        except (OSError, aiohttp.ClientError) as exc:
            problems.append(f"cannot reach {settings.base_url}: {type(exc).__name__}")
            return lines, problems
        user = found.get("user") or {}
        if user.get("deleted"):
            problems.append(f"agent {agent.id}: {user_id} is deactivated")
        else:
            lines.append(f"agent {agent.id}: {user_id} ({user.get('real_name')})")
    return lines, problems
