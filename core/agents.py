"""The directory's people: agents, and the status they set themselves."""

from __future__ import annotations

from enum import StrEnum

from core.values import Frozen


class AgentStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class Agent(Frozen):
    id: str
    name: str
    status: AgentStatus
    capacity: int | None = None
    slack_user_id: str | None = None
