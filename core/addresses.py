"""Agents' and teams' addresses on the desk: where a handoff notice reaches a person or a team.

The config says them per desk channel, under the channel's slug:

    agents:
      carol: {name: Carol, desk: {helpdesk: <carol's address there>}}
    teams:
      support: {agents: [carol], desk: {helpdesk: <the team's place there>}}

Core keeps them as opaque strings. The desk channel's type checks them (its `agent_address`
and `team_address` models, see `core.ports.DeskChannelType`), reads them from a notice's
targets when it delivers, and asks `Desk.agent_at` which agent one of them is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from pydantic import RootModel, ValidationError

from core import plugins
from core.errors import Problem
from core.sources import Loc, Source

log = logging.getLogger("frontdesk.config")

Holder = Literal["agents", "teams"]


@dataclass(frozen=True)
class DeskAddresses:
    # agent id (or team) → desk channel slug → address on that channel
    agents: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    teams: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def of_agent(self, desk: str, agent_id: str) -> str | None:
        return self.agents.get(agent_id, {}).get(desk)

    def of_team(self, desk: str, team: str | None) -> str | None:
        return self.teams.get(team, {}).get(desk) if team is not None else None

    def agent_at(self, desk: str, address: str) -> str | None:
        """The id of the agent whose address on `desk` is `address`."""
        for agent_id, places in self.agents.items():
            if places.get(desk) == address:
                return agent_id
        return None


def serves_agents(channel_type: object) -> bool:
    return bool(getattr(channel_type, "serves_agents", False))


def check_addresses(
    source: Source,
    entries: Mapping[Holder, Mapping[str, Mapping[str, str]]],
    channel_types: Mapping[str, str],
    problems: list[Problem],
) -> DeskAddresses:
    """The addresses of `entries` (agents' and teams' `desk` mappings), each checked by the
    model of the desk channel it names; `channel_types` maps the configured channels' slugs
    to their types."""
    found: dict[Holder, dict[str, dict[str, str]]] = {"agents": {}, "teams": {}}
    for holder, owners in entries.items():
        for owner, places in owners.items():
            for slug, value in places.items():
                loc = (holder, owner, "desk", slug)
                checked = _checked(source, loc, holder, slug, value, channel_types, problems)
                if checked is not None:
                    found[holder].setdefault(owner, {})[slug] = checked
    return DeskAddresses(agents=found["agents"], teams=found["teams"])


def _checked(
    source: Source,
    loc: Loc,
    holder: Holder,
    slug: str,
    value: str,
    channel_types: Mapping[str, str],
    problems: list[Problem],
) -> str | None:
    type_name = channel_types.get(slug)
    if type_name is None:
        problems.append(source.problem(loc, f"no channel '{slug}'"))
        return None
    channel_type = plugins.channel_type(type_name)
    if not serves_agents(channel_type):
        problems.append(
            source.problem(
                loc, f"channel '{slug}' is of type {type_name}, where agents cannot work"
            )
        )
        return None
    model = getattr(channel_type, "agent_address" if holder == "agents" else "team_address", None)
    if model is None:
        return value
    try:
        return cast(type[RootModel[str]], model).model_validate(value).root
    except ValidationError as exc:
        problems.extend(source.problems(exc, loc))
        return None


def upgrade_legacy_keys(
    source: Source, data: dict[str, Any], known: Mapping[Holder, set[str]]
) -> None:
    """Move the keys earlier versions read an agent's or a team's desk address from (each desk
    channel type names its own, `legacy_address_keys`) to the `desk` mapping, with a warning
    that names the first place and the key to write instead. `known` holds the keys each
    holder's entries may have; only an entry with another key can hold an old one."""
    odd = {
        (holder, key)
        for holder in known
        for entry in _entries(data, holder).values()
        for key in entry
        if key not in known[holder]
    }
    if not odd:
        return
    for (holder, key), slug in _owners(data, odd).items():
        moved = [name for name, entry in _entries(data, holder).items() if key in entry]
        for name in moved:
            _move(_entries(data, holder)[name], key, slug)
        if not moved:
            continue
        first = source.problem((holder, moved[0], key), "")
        where = f"{first.file}:{first.line}" if first.line is not None else first.file
        more = f" (and {len(moved) - 1} more)" if len(moved) > 1 else ""
        if slug is None:
            log.warning(
                "%s: %s.%s.%s is deprecated and ignored: no channel of its type is configured%s",
                where, holder, moved[0], key, more,
            )  # fmt: skip
        else:
            log.warning(
                "%s: %s.%s.%s is deprecated: write %s.%s.desk.%s instead%s",
                where, holder, moved[0], key, holder, moved[0], slug, more,
            )  # fmt: skip


def _entries(data: dict[str, Any], holder: str) -> dict[str, dict[str, Any]]:
    section = data.get(holder)
    if not isinstance(section, dict):
        return {}
    return {name: entry for name, entry in section.items() if isinstance(entry, dict)}


def _owners(
    data: dict[str, Any], odd: set[tuple[Holder, str]]
) -> dict[tuple[Holder, str], str | None]:
    """For each old key of `odd`, the slug of the configured channel whose type declares it,
    the desk's own channel first; None when only a channel type that is not configured does."""
    channels = data.get("channels")
    channels = channels if isinstance(channels, dict) else {}
    desk = data.get("desk")
    first = desk.get("channel") if isinstance(desk, dict) else None
    slugs = sorted(channels, key=lambda slug: slug != first)
    owners: dict[tuple[Holder, str], str | None] = {}
    for slug in slugs:
        body = channels[slug]
        type_name = body.get("type", slug) if isinstance(body, dict) else slug
        for holder, key in _declared(str(type_name)):
            if (holder, key) in odd:
                owners.setdefault((holder, key), slug)
    if len(owners) < len(odd):  # rare: the old key of a channel type the config does not use
        for type_name in plugins.available(plugins.CHANNELS):
            for holder, key in _declared(type_name):
                if (holder, key) in odd:
                    owners.setdefault((holder, key), None)
    return owners


def _declared(type_name: str) -> list[tuple[Holder, str]]:
    try:
        channel_type = plugins.channel_type(type_name)
    except Exception:  # a broken plug-in is reported where its channel is checked
        return []
    keys: Mapping[Holder, str] = getattr(channel_type, "legacy_address_keys", {})
    return list(keys.items())


def _move(entry: dict[str, Any], key: str, slug: str | None) -> None:
    value = entry.pop(key)
    if slug is None or value in (None, ""):  # an empty one meant no address
        return
    places = entry.setdefault("desk", {})
    if isinstance(places, dict):  # else the entry's own check says what is wrong
        places.setdefault(slug, value)
