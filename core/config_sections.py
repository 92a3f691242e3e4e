"""The config file's sections as pydantic models; channel and store sections are checked by
the models their plug-ins declare (see `core.config`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from core.agents import AgentStatus
from core.desk import DeskSettings
from core.retention import RetentionSettings
from core.schedules import Schedule


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
    # The agent's address on each desk channel, by the channel's slug (see core.addresses).
    desk: dict[str, str] = Field(default_factory=dict)


class TeamSettings(Section):
    agents: list[str] = Field(default_factory=list)
    # The team's place on each desk channel, by the channel's slug, for handoff notices.
    desk: dict[str, str] = Field(default_factory=dict)
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
