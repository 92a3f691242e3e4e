"""The directory's people: agents, and the status they set themselves."""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict

from core.values import Frozen


class AgentStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class Agent(Frozen):
    """An agent as the directory has them. Where notices reach them on a desk channel is the
    config's business (see `core.addresses`), not theirs."""

    # An agent written by an earlier version (inside a queued notice) may carry its desk
    # address, which now lives in the config: read, and dropped.
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    name: str
    status: AgentStatus
    capacity: int | None = None
