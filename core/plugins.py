"""Channels, stores and CLI groups are found by name through entry points.

A third party ships a new channel as its own package by declaring, in its pyproject.toml:
`[project.entry-points."frontdesk.channels"] mychannel = "mypkg:MyChannel"`.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, cast

from core.ports import ChannelType, StoreType

CHANNELS = "frontdesk.channels"
STORES = "frontdesk.stores"
CLI = "frontdesk.cli"


def _named(group: str) -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=group)}


def available(group: str) -> list[str]:
    return sorted(_named(group))


def channel_type(name: str) -> ChannelType | None:
    ep = _named(CHANNELS).get(name)
    return cast(ChannelType, ep.load()) if ep is not None else None


def store_type(name: str) -> StoreType | None:
    ep = _named(STORES).get(name)
    return cast(StoreType, ep.load()) if ep is not None else None


def cli_group(name: str) -> Any:
    """A plug-in's click group, imported only when that command runs (an SDK can take
    seconds to import; `frontdesk validate` should not wait for it)."""
    ep = _named(CLI).get(name)
    return ep.load() if ep is not None else None
