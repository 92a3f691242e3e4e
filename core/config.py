"""The configuration: one YAML file, validated once at start.

This is the only module that reads the environment: any string value may say `${NAME}` or
`${NAME:-default}`, read from the environment or else from a `.env` file beside the config
(`frontdesk init` writes one with fresh secrets). Secrets are SecretStr and never logged.
Every problem found is reported together, each with its file, line and field.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dotenv.parser import parse_stream
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from core import plugins
from core.crosscheck import Directory, workflow_problems
from core.desk import DeskRules, DeskSettings
from core.errors import ConfigError, Problem
from core.models import Agent, AgentStatus
from core.retention import RetentionSettings
from core.schedules import Schedule
from core.sources import Loc, Source, load_yaml
from core.workflow import Workflow, parse_workflow

SLUG = r"^[a-z][a-z0-9_-]{0,31}$"
# Beside the config file: values for its `${NAME}` references; the environment wins.
DOTENV = ".env"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")
# Where `serve` listens, overriding the file (and overridden by `serve --host/--port`).
HOST_ENV = "FRONTDESK_HOST"
PORT_ENV = "FRONTDESK_PORT"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # Inbound events processed at once (each conversation still one at a time).
    concurrency: int = Field(default=64, ge=1, le=10_000)
    # Events accepted but not processed yet: past this many, channels answer 503 with
    # Retry-After (a poller stops asking) until the backlog drains; see README "Overload".
    max_backlog: int = Field(default=10_000, ge=1, le=10_000_000)
    # On SIGTERM/SIGINT: how long turns, deliveries and requests under way may finish.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=3600)
    # A connection must send a whole request's headers within this long of opening (or of
    # its previous response); an idle keep-alive connection is closed after it too.
    header_timeout_seconds: float = Field(default=5.0, gt=0, le=3600)
    # A request's body must have arrived within this long of its headers.
    body_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    # Connections open at once; more are answered 503 and closed (see core/server.py).
    max_connections: int = Field(default=1000, ge=1, le=1_000_000)


class ApiSettings(Section):
    """The REST API for agent status; disabled unless a token is set."""

    token: SecretStr | None = Field(default=None)

    @model_validator(mode="after")
    def _long_enough(self) -> ApiSettings:
        if self.token is not None and len(self.token.get_secret_value()) < 16:
            raise ValueError("token must be at least 16 characters")
        return self


class ConsoleSettings(Section):
    """The web console at /console: who may sign in (a name and a token each, beside the API
    token), and how its session cookie is sent."""

    users: dict[str, SecretStr] = Field(default_factory=dict)
    # Send the cookie over HTTPS only; set it whenever the console is reached through TLS.
    secure_cookie: bool = False
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)

    @model_validator(mode="after")
    def _long_enough(self) -> ConsoleSettings:
        for name, token in self.users.items():
            if len(token.get_secret_value()) < 16:
                raise ValueError(f"users.{name}: token must be at least 16 characters")
        return self


class OutboxSettings(Section):
    max_attempts: int = Field(default=12, ge=1, le=1000)
    base_delay_seconds: float = Field(default=1.0, gt=0)
    max_delay_seconds: float = Field(default=300.0, gt=0)
    lease_seconds: float = Field(default=60.0, gt=0)
    concurrency: int = Field(default=32, ge=1, le=1000)


# What a message in flight when the process died becomes after the restart: sent again (never
# lost; the platform may show it twice) or set `uncertain` and not sent again (never twice;
# it may be missing).
AfterCrash = Literal["resend", "skip"]


class ChannelRecovery(Section):
    """The keys of a channel's section that core reads, beside the channel's own settings."""

    after_crash: AfterCrash = "resend"


class MetricsSettings(Section):
    """Prometheus metrics at /metrics: on the main server (no auth: it shows only counts), or
    on a port of their own (then not on the main server), or off."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=0, le=65535)


class AgentSettings(Section):
    name: str | None = None
    status: AgentStatus = AgentStatus.OFFLINE
    capacity: int | None = Field(default=None, ge=1)
    slack_user_id: str | None = None


class TeamSettings(Section):
    agents: list[str] = Field(default_factory=list)
    # The team's channel on the desk (a Slack channel id), for handoff notices.
    slack_channel: str | None = None
    # The team's working hours: with `away_outside_schedule`, its online agents are set
    # away while the schedule is closed.
    schedule: str | None = None
    away_outside_schedule: bool = False
    # An agent who neither accepts nor answers a handoff within this many seconds loses the
    # conversation to the team's next online agent (an assign step's own value wins).
    accept_timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def _schedule_named(self) -> TeamSettings:
        if self.away_outside_schedule and self.schedule is None:
            raise ValueError("away_outside_schedule needs a schedule")
        return self


class ConfigFile(Section):
    """The file's shape; channel and store settings are checked by their own models."""

    server: ServerSettings = Field(default_factory=ServerSettings)
    store: dict[str, Any] = Field(default_factory=lambda: {"type": "sqlite"})
    api: ApiSettings = Field(default_factory=ApiSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    agents: dict[str, AgentSettings] = Field(default_factory=dict)
    teams: dict[str, TeamSettings] = Field(default_factory=dict)
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    # Values every template can read as `settings.<name>` (a CRM's base URL, say).
    settings: dict[str, str | int | float | bool] = Field(default_factory=dict)
    # Values only HTTP request headers can read, as `secrets.<name>`; from the environment.
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    # Where agents work (handoff notices, replies from the thread); none: no notices.
    desk: DeskSettings | None = None
    workflows: list[str] = Field(default_factory=list)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)


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


@dataclass(frozen=True)
class LogSettings:
    """`FRONTDESK_LOG_LEVEL` and `FRONTDESK_LOG_FORMAT`; None where unset."""

    level: str | None
    format: str | None


def log_settings() -> LogSettings:
    return LogSettings(
        os.environ.get("FRONTDESK_LOG_LEVEL") or None,
        os.environ.get("FRONTDESK_LOG_FORMAT") or None,
    )


def load_config(path: Path, *, host: str | None = None, port: int | None = None) -> Config:
    """The config in `path`. Where the server listens comes from `host`/`port` (the command
    line's flags) if given, else from FRONTDESK_HOST/FRONTDESK_PORT if set, else the file."""
    source = load_yaml(path)
    problems: list[Problem] = []
    environ = {**read_dotenv(path.parent / DOTENV, problems), **os.environ}
    source.data = _interpolate(source, source.data, (), environ, problems)
    if problems:  # an unset variable would only cause confusing follow-up errors
        raise ConfigError(problems)
    if not isinstance(source.data, dict):
        raise ConfigError([source.problem((), "the config must be a mapping")])
    try:
        raw = ConfigFile.model_validate(source.data)
    except ValidationError as exc:
        raise ConfigError(source.problems(exc)) from exc
    base_dir = path.parent
    server = _listening(raw.server, host, port, environ, problems)
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
    server = _interpolate(source, source.data.get("server") or {}, ("server",), environ, problems)
    if isinstance(body, dict):
        body = _interpolate(source, body, ("channels", slug), environ, problems)
    if problems:
        raise ConfigError(problems)
    try:
        settings = ServerSettings.model_validate(server)
    except ValidationError as exc:
        raise ConfigError(source.problems(exc, ("server",))) from exc
    settings = _listening(settings, None, None, environ, problems)  # as `serve` would listen
    if problems:
        raise ConfigError(problems)
    if not isinstance(body, dict):
        return settings, None
    found = _settings(source, ("channels", slug), "channel", body, problems)
    if found is None:
        raise ConfigError(problems)
    return settings, ChannelConfig(slug, *found)


def _listening(
    server: ServerSettings,
    host: str | None,
    port: int | None,
    environ: Mapping[str, str],
    problems: list[Problem],
) -> ServerSettings:
    """The server settings with the environment's (or .env's) and the flags' host and port
    applied."""
    changes: dict[str, Any] = {}
    for name, variable, flag in (("host", HOST_ENV, host), ("port", PORT_ENV, port)):
        value = flag if flag is not None else environ.get(variable)
        if value is not None:
            changes[name] = (value, "--" + name if flag is not None else variable)
    if not changes:
        return server
    values = {name: value for name, (value, _) in changes.items()}
    try:
        return ServerSettings.model_validate({**server.model_dump(), **values})
    except ValidationError as exc:
        for item in exc.errors(include_url=False, include_input=False):
            name = str(item["loc"][0])
            value, origin = changes[name]
            problems.append(Problem(origin, None, f"server.{name}", f"{value!r}: {item['msg']}"))
        return server


def read_dotenv(path: Path, problems: list[Problem]) -> dict[str, str]:
    """The `NAME=value` lines of a `.env` file (none if there is no file); a line that is not
    one is a problem naming its line, never its text, which may hold a secret."""
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), None, "", f"cannot read file: {exc}"))
        return {}
    found: dict[str, str] = {}
    # python-dotenv's own parser, rather than `dotenv_values`, which only logs bad lines.
    for binding in parse_stream(io.StringIO(content)):
        text = binding.original.string  # starts with the blank lines before it
        line = binding.original.line + text[: len(text) - len(text.lstrip())].count("\n")
        if binding.error:
            problems.append(Problem(str(path), line, "", "expected NAME=value"))
        elif binding.key is not None and binding.value is None:
            problems.append(Problem(str(path), line, binding.key, "has no value"))
        elif binding.key is not None and binding.value is not None:
            found[binding.key] = binding.value
    return found


def _interpolate(
    source: Source, node: Any, loc: Loc, environ: Mapping[str, str], problems: list[Problem]
) -> Any:
    if isinstance(node, dict):
        return {k: _interpolate(source, v, (*loc, k), environ, problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(source, v, (*loc, i), environ, problems) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = environ.get(name)
        if value is None:
            if default is None:
                problems.append(source.problem(loc, f"environment variable {name} is not set"))
                return ""
            return default
        return value

    return _ENV_REF.sub(substitute, node)


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
    channel_type = plugins.channel_type(found.type)
    if not getattr(channel_type, "serves_agents", False):
        problems.append(
            source.problem(
                ("desk", "channel"),
                f"channel '{raw.desk.channel}' is of type {found.type}, where agents cannot "
                "work (use a slack channel)",
            )
        )
        return None
    return DeskRules(
        settings=raw.desk,
        team_channels={team: t.slack_channel for team, t in raw.teams.items() if t.slack_channel},
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
                slack_user_id=settings.slack_user_id,
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
