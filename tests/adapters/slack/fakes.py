"""Fakes, models and helpers for the Slack channel's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.slack.settings import SlackSettings
from core.agents import Agent, AgentStatus
from core.keys import ConversationKey
from core.models import (
    ContactCard,
    Conversation,
    DeskActionKind,
    DeskThread,
    Direction,
    Notice,
    NoticeKind,
    NoticeTarget,
    RecentMessage,
)
from tests.adapters.slack.fake_web_api import TOKEN
from tests.support.slack import SIGNING_SECRET

SLUG = "slack"
NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
CAROL = Agent(id="carol", name="Carol", status=AgentStatus.ONLINE, capacity=3)
TEAM_CHANNEL = "CSUPPORT"


def make_settings(base_url: str, **overrides: object) -> SlackSettings:
    return SlackSettings.model_validate(
        {"bot_token": TOKEN, "signing_secret": SIGNING_SECRET, "base_url": base_url, **overrides}
    )


def notice(kind: NoticeKind = NoticeKind.HANDOFF, **changes: Any) -> Notice:
    """A notice about conversation conv-1, handed to Carol and the support channel."""
    fields: dict[str, Any] = {
        "kind": kind,
        "conversation_id": "conv-1",
        "handoff_id": "h-1",
        "agent": CAROL,
        "agent_address": "UCAROL",
        "team": "support",
        "targets": [
            NoticeTarget(kind="user", id="UCAROL"),
            NoticeTarget(kind="channel", id=TEAM_CHANNEL),
        ],
        "contact": ContactCard(
            name="Ana",
            username="ana_g",
            channel="tg",
            channel_type="telegram",
            language="es",
            email="ana@example.com",
        ),
        "answers": {"topic": "billing", "order": 1234},
        "recent": [
            RecentMessage(direction=Direction.IN, text="hi, my invoice is wrong", at=NOW),
            RecentMessage(direction=Direction.OUT, text="Which team?", at=NOW),
        ],
        "reason": "by workflow support",
        "actions": [DeskActionKind.ACCEPT, DeskActionKind.REASSIGN, DeskActionKind.CLOSE]
        if kind == NoticeKind.HANDOFF
        else [],
        "at": NOW,
        **changes,
    }
    return Notice.model_validate(fields)


class FakeDesk:
    """The desk port in memory: only the handoff threads matter to the sender; it knows no
    agents and no conversations."""

    def __init__(self) -> None:
        self.threads: list[DeskThread] = []
        self.saves = 0
        self.fail_saves = 0  # how many of the next save_thread calls raise

    async def list_agents(self) -> list[Agent]:
        return []

    async def agent_at(self, desk: str, address: str) -> Agent | None:
        return None

    async def set_agent_status(self, agent_id: str, status: AgentStatus) -> Agent | None:
        return None

    async def open_assigned(self, agent_id: str) -> list[Conversation]:
        return []

    async def conversation_key(self, conversation_id: str) -> ConversationKey | None:
        return None

    async def save_thread(self, thread: DeskThread) -> None:
        self.saves += 1
        if self.fail_saves > 0:
            self.fail_saves -= 1
            raise OSError("the store is down")
        if all(
            (t.desk, t.place, t.ts) != (thread.desk, thread.place, thread.ts) for t in self.threads
        ):
            self.threads.append(thread)

    async def threads_of(self, handoff_id: str) -> list[DeskThread]:
        return [t for t in self.threads if t.handoff_id == handoff_id]

    async def thread_at(self, desk: str, place: str, ts: str) -> DeskThread | None:
        return next((t for t in self.threads if (t.desk, t.place, t.ts) == (desk, place, ts)), None)
