"""The configuration: one YAML file, validated once at start.

With `core.config_files`, the only place that reads the environment: any string value may say
`${NAME}` or `${NAME:-default}`, read from the environment or else from a `.env` file beside the
config (`frontdesk init` writes one with fresh secrets). The sections' models are in
`core.config_sections`. Secrets are SecretStr and never logged.
Every problem found is reported together, each with its file, line and field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from core import plugins
from core.addresses import (
    DeskAddresses,
    Holder,
    check_addresses,
    serves_agents,
    upgrade_legacy_keys,
)
from core.agents import Agent
from core.config_files import DOTENV, interpolate, listening, read_dotenv
from core.config_sections import (
    AfterCrash,
    AgentSettings,
    ApiSettings,
    ChannelRecovery,
    ConfigFile,
    ConsoleSettings,
    MetricsSettings,
    OutboxSettings,
    ServerSettings,
    TeamSettings,
)
from core.crosscheck import Directory, workflow_problems
from core.desk import DeskRules
from core.errors import ConfigError, Problem
from core.retention import RetentionSettings
from core.schedules import Schedule
from core.sources import Loc, Source, load_yaml
from core.workflow import Workflow, parse_workflow

SLUG = r"^[a-z][a-z0-9_-]{0,31}$"


@dataclass(frozen=True)
class ChannelConfig:
    slug: str
    type: str
    settings: BaseModel
    after_crash: AfterCrash = "resend"


@dataclass(frozen=True)
class StoreConfig:
    type: str
    settings: BaseModel


@dataclass(frozen=True)
class Config:
    source: str
    base_dir: Path
    server: ServerSettings
    api: ApiSettings
    outbox: OutboxSettings
    store: StoreConfig
    channels: dict[str, ChannelConfig]
    agents: list[Agent]
    teams: dict[str, list[str]]
    workflows: list[Workflow] = field(default_factory=list)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    settings: dict[str, str | int | float | bool] = field(default_factory=dict)
    secrets: dict[str, SecretStr] = field(default_factory=dict)
    desk: DeskRules | None = None
    addresses: DeskAddresses = field(default_factory=DeskAddresses)
    # Teams whose online agents go away while the named schedule is closed.
    away_outside: dict[str, str] = field(default_factory=dict)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)

    def secret_values(self) -> dict[str, str]:
        return {name: value.get_secret_value() for name, value in self.secrets.items()}

    def after_crash(self) -> dict[str, AfterCrash]:
        return {slug: channel.after_crash for slug, channel in self.channels.items()}

    def hidden_values(self) -> set[str]:
        """Every secret the config holds, wherever it is (`secrets`, the API token, each
        channel's and the store's settings), for the logs to mask."""
        found = set(self.secret_values().values())
        models: list[BaseModel] = [self.api, self.console, self.store.settings]
        models.extend(channel.settings for channel in self.channels.values())
        for model in models:
            found |= _secrets_in(model)
        return {value for value in found if value}


def _secrets_in(value: Any) -> set[str]:
    if isinstance(value, SecretStr):
        return {value.get_secret_value()}
    if isinstance(value, BaseModel):
        return set().union(*(_secrets_in(v) for v in dict(value).values()))
    if isinstance(value, dict):
        return set().union(*(_secrets_in(v) for v in value.values()))
    if isinstance(value, list | tuple | set | frozenset):
        return set().union(*(_secrets_in(v) for v in value))
    return set()


def load_config(path: Path, *, host: str | None = None, port: int | None = None) -> Config:
    """The config in `path`. Where the server listens comes from `host`/`port` (the command
    line's flags) if given, else from FRONTDESK_HOST/FRONTDESK_PORT if set, else the file."""
    source = load_yaml(path)
    problems: list[Problem] = []
    environ = {**read_dotenv(path.parent / DOTENV, problems), **os.environ}
    source.data = interpolate(source, source.data, (), environ, problems)
    if problems:  # an unset variable would only cause confusing follow-up errors
        raise ConfigError(problems)
    if not isinstance(source.data, dict):
        raise ConfigError([source.problem((), "the config must be a mapping")])
    known: dict[Holder, set[str]] = {
        "agents": set(AgentSettings.model_fields),
        "teams": set(TeamSettings.model_fields),
    }
    upgrade_legacy_keys(source, source.data, known)
    try:
        raw = ConfigFile.model_validate(source.data)
    except ValidationError as exc:
        raise ConfigError(source.problems(exc)) from exc
    base_dir = path.parent
    server = listening(raw.server, host, port, environ, problems)
    store = _store(source, raw, problems)
    channels = _channels(source, raw, problems)
    agents, teams = _directory(source, raw, problems)
    workflows = _workflows(source, raw, base_dir, path, channels, agents, teams, problems)
    for name in raw.schedules:
        if not re.fullmatch(SLUG, name):
            problems.append(source.problem(("schedules", name), "a schedule is a lowercase slug"))
    for team, team_settings in raw.teams.items():
        if team_settings.schedule is not None and team_settings.schedule not in raw.schedules:
            problems.append(
                source.problem(
                    ("teams", team, "schedule"), f"no schedule '{team_settings.schedule}'"
                )
            )
    desk = _desk(source, raw, channels, problems)
    addresses = check_addresses(
        source,
        {
            "agents": {agent_id: a.desk for agent_id, a in raw.agents.items()},
            "teams": {team: t.desk for team, t in raw.teams.items()},
        },
        {slug: c.type for slug, c in channels.items()},
        problems,
    )
    if problems:
        raise ConfigError(problems)
    assert store is not None
    return Config(
        source=str(path),
        base_dir=base_dir,
        server=server,
        api=raw.api,
        outbox=raw.outbox,
        store=store,
        channels=channels,
        agents=agents,
        teams=teams,
        workflows=workflows,
        schedules=raw.schedules,
        settings=raw.settings,
        secrets=raw.secrets,
        desk=desk,
        addresses=addresses,
        metrics=raw.metrics,
        console=raw.console,
        away_outside={
            team: t.schedule
            for team, t in raw.teams.items()
            if t.away_outside_schedule and t.schedule is not None
        },
        retention=raw.retention,
    )


def load_channel(path: Path, slug: str) -> tuple[ServerSettings, ChannelConfig | None]:
    """The server section (with FRONTDESK_HOST/FRONTDESK_PORT applied, as `load_config` does)
    and the channel `slug` of the config at `path` (None when it has no such channel),
    reading only the variables those two name: a tool for one channel needs neither the
    other channels' secrets nor the rest of the config."""
    source = load_yaml(path)
    if not isinstance(source.data, dict):
        raise ConfigError([source.problem((), "the config must be a mapping")])
    problems: list[Problem] = []
    environ = {**read_dotenv(path.parent / DOTENV, problems), **os.environ}
    channels = source.data.get("channels")
    body = channels.get(slug) if isinstance(channels, dict) else None
    server = interpolate(source, source.data.get("server") or {}, ("server",), environ, problems)
    if isinstance(body, dict):
        body = interpolate(source, body, ("channels", slug), environ, problems)
    if problems:
        raise ConfigError(problems)
    try:
        settings = ServerSettings.model_validate(server)
    except ValidationError as exc:
        raise ConfigError(source.problems(exc, ("server",))) from exc
    settings = listening(settings, None, None, environ, problems)  # as `serve` would listen
    if problems:
        raise ConfigError(problems)
    if not isinstance(body, dict):
        return settings, None
    found = _settings(source, ("channels", slug), "channel", body, problems)
    if found is None:
        raise ConfigError(problems)
    return settings, ChannelConfig(slug, *found)


def _settings(
    source: Source, loc: Loc, kind: str, raw: dict[str, Any], problems: list[Problem]
) -> tuple[str, BaseModel] | None:
    """Find the plug-in named by `type` and validate the rest of the section with its model."""
    type_name = raw.get("type", loc[-1] if kind == "channel" else None)
    known = plugins.available(plugins.CHANNELS if kind == "channel" else plugins.STORES)
    try:
        found = (
            plugins.channel_type(str(type_name))
            if kind == "channel"
            else plugins.store_type(str(type_name))
        )
    except Exception as exc:  # a broken plug-in is a config problem, not a traceback
        problems.append(source.problem((*loc, "type"), f"cannot load {kind} {type_name!r}: {exc}"))
        return None
    if found is None:
        problems.append(
            source.problem(
                (*loc, "type"), f"unknown {kind} type {type_name!r} (installed: {', '.join(known)})"
            )
        )
        return None
    body = {k: v for k, v in raw.items() if k != "type"}
    try:
        return str(type_name), found.settings_model.model_validate(body)
    except ValidationError as exc:
        problems.extend(source.problems(exc, loc))
        return None


def _store(source: Source, raw: ConfigFile, problems: list[Problem]) -> StoreConfig | None:
    found = _settings(source, ("store",), "store", {"type": "sqlite", **raw.store}, problems)
    return StoreConfig(*found) if found else None


def _channels(source: Source, raw: ConfigFile, problems: list[Problem]) -> dict[str, ChannelConfig]:
    channels = {}
    for slug, body in raw.channels.items():
        loc = ("channels", slug)
        if not re.fullmatch(SLUG, slug):
            problems.append(source.problem(loc, "a channel name is a lowercase slug"))
            continue
        core_keys = {k: v for k, v in body.items() if k in ChannelRecovery.model_fields}
        try:
            recovery = ChannelRecovery.model_validate(core_keys)
        except ValidationError as exc:
            problems.extend(source.problems(exc, loc))
            continue
        own = {k: v for k, v in body.items() if k not in core_keys}
        found = _settings(source, loc, "channel", own, problems)
        if found:
            channels[slug] = ChannelConfig(slug, *found, after_crash=recovery.after_crash)
    return channels


def _desk(
    source: Source, raw: ConfigFile, channels: dict[str, ChannelConfig], problems: list[Problem]
) -> DeskRules | None:
    if raw.desk is None:
        return None
    found = channels.get(raw.desk.channel)
    if found is None:
        problems.append(source.problem(("desk", "channel"), f"no channel '{raw.desk.channel}'"))
        return None
    if not serves_agents(plugins.channel_type(found.type)):
        problems.append(
            source.problem(
                ("desk", "channel"),
                f"channel '{raw.desk.channel}' is of type {found.type}, where agents cannot work",
            )
        )
        return None
    return DeskRules(
        settings=raw.desk,
        channel_types={slug: c.type for slug, c in channels.items()},
        accept_timeouts={
            team: t.accept_timeout_seconds
            for team, t in raw.teams.items()
            if t.accept_timeout_seconds is not None
        },
    )


def _directory(
    source: Source, raw: ConfigFile, problems: list[Problem]
) -> tuple[list[Agent], dict[str, list[str]]]:
    agents = []
    for agent_id, settings in raw.agents.items():
        if not re.fullmatch(SLUG, agent_id):
            problems.append(source.problem(("agents", agent_id), "an agent id is a lowercase slug"))
            continue
        agents.append(
            Agent(
                id=agent_id,
                name=settings.name or agent_id,
                status=settings.status,
                capacity=settings.capacity,
            )
        )
    teams: dict[str, list[str]] = {}
    for team, members in raw.teams.items():
        for i, member in enumerate(members.agents):
            if member not in raw.agents:
                loc = ("teams", team, "agents", i)
                problems.append(source.problem(loc, f"no agent '{member}' under agents"))
        if len(set(members.agents)) != len(members.agents):
            problems.append(source.problem(("teams", team, "agents"), "an agent is listed twice"))
        teams[team] = list(dict.fromkeys(members.agents))
    return agents, teams


def _workflows(
    source: Source,
    raw: ConfigFile,
    base_dir: Path,
    config_path: Path,
    channels: dict[str, ChannelConfig],
    agents: list[Agent],
    teams: dict[str, list[str]],
    problems: list[Problem],
) -> list[Workflow]:
    workflows: list[Workflow] = []
    directory = Directory(
        name=config_path.name,
        teams=set(teams),
        agents={a.id for a in agents},
        schedules=set(raw.schedules),
        channels=set(channels),
        settings=set(raw.settings),
        secrets=set(raw.secrets),
    )
    names: set[str] = set()
    for i, relative in enumerate(raw.workflows):
        path = base_dir / relative
        display = str(config_path.parent / relative) if config_path.parent != Path() else relative
        if not path.is_file():
            problems.append(source.problem(("workflows", i), f"no such file {relative}"))
            continue
        try:
            workflow_source = load_yaml(path, display)
            workflow = parse_workflow(workflow_source)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        if workflow.name in names:
            problems.append(
                source.problem(("workflows", i), f"two workflows named {workflow.name!r}")
            )
        names.add(workflow.name)
        problems.extend(workflow_problems(workflow, workflow_source, directory))
        workflows.append(workflow)
    return workflows
