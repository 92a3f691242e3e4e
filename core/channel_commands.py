"""What a channel's own CLI commands share: finding the channel's settings in a config."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import click
from pydantic import BaseModel

from core.config import Config, load_channel, load_config
from core.config_sections import ServerSettings
from core.errors import ConfigError

S = TypeVar("S", bound=BaseModel)


def channel_settings(
    config_path: Path, slug: str, settings_type: type[S], kind: str
) -> tuple[Config, S]:
    """The config and the settings of its `kind` channel named `slug`, or a click error that
    says what is wrong (the config, no such channel, a channel of another type)."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"the config is wrong:\n{exc}") from exc
    channel = config.channels.get(slug)
    if channel is None:
        raise click.UsageError(f"{config_path} has no channel '{slug}'; pick one with --channel")
    if not isinstance(channel.settings, settings_type):
        raise click.UsageError(f"channel '{slug}' is a {channel.type} channel, not a {kind} one")
    return config, channel.settings


def channel_section(
    config_path: Path, slug: str, settings_type: type[S], kind: str
) -> tuple[ServerSettings, S]:
    """Like `channel_settings`, from the server section and that one channel only: the
    environment variables the rest of the config names need not be set."""
    try:
        server, channel = load_channel(config_path, slug)
    except ConfigError as exc:
        raise click.ClickException(f"the config is wrong:\n{exc}") from exc
    if channel is None:
        raise click.UsageError(f"{config_path} has no channel '{slug}'; pick one with --channel")
    if not isinstance(channel.settings, settings_type):
        raise click.UsageError(f"channel '{slug}' is a {channel.type} channel, not a {kind} one")
    return server, channel.settings
