"""A turn: everything one event does to one conversation, gathered before it is committed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.agents import Agent
from core.desk import DeskLine, HandoffRequest
from core.events import DomainEvent
from core.keys import ConversationKey
from core.models import (
    AnswerType,
    Attachment,
    Author,
    Contact,
    Conversation,
    Direction,
    HttpCall,
    Option,
    Outbound,
    Timer,
    TimerPurpose,
    TranscriptEntry,
)
from core.ports import Transaction
from core.schedules import Schedule


@dataclass
class TurnEffects:
    """What a turn does, collected while its steps run and written when it commits: the
    steps decide, the engine performs (nothing here has happened before the commit)."""

    transcript: list[TranscriptEntry] = field(default_factory=list)
    outbound: list[Outbound] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    dropped_timers: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)  # what happened, for reporting
    freed: list[str] = field(default_factory=list)  # agents this turn gave a slot back to
    calls: list[HttpCall] = field(default_factory=list)  # to make once this turn commits
    # For the agents' desk: new assignments, customer messages to relay, lines to show.
    handoffs: list[HandoffRequest] = field(default_factory=list)
    relayed: list[str] = field(default_factory=list)
    desk_lines: list[DeskLine] = field(default_factory=list)


@dataclass
class Turn:
    """What a turn reads (the transaction, the time, the contact, the conversation and the
    configuration) and, in `effects`, what it does."""

    tx: Transaction
    now: datetime
    contact: Contact
    conversation: Conversation
    agent: Agent | None = None
    contact_changed: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)  # for HTTP headers only
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    effects: TurnEffects = field(default_factory=lambda: TurnEffects())

    @property
    def conversation_key(self) -> ConversationKey:
        return ConversationKey(self.conversation.channel, self.contact.external_id)

    def next_id(self) -> str:
        """A message id that is stable for this conversation: the same turn, replayed after a
        crash before its commit, hands out the same ids."""
        self.conversation.seq += 1
        return f"{self.conversation.id}.{self.conversation.seq}"

    def schedule(self, seconds: int, *, lease: bool = False, purpose: TimerPurpose = "run") -> str:
        """A durable timer for this conversation, due in `seconds`; its id. A `lease` timer
        stands for work in flight, taken back at once after a restart."""
        timer = Timer(
            id=self.next_id(),
            conversation_id=self.conversation.id,
            conversation_key=self.conversation_key,
            due_at=self.now + timedelta(seconds=seconds),
            lease=lease,
            purpose=purpose,
        )
        self.effects.timers.append(timer)
        return timer.id

    def stop_waiting(self) -> None:
        """The run waits no more: the timer it waited with, if any, is dropped."""
        run = self.conversation.run
        assert run is not None
        assert run.waiting is not None
        if run.waiting.timer_id is not None:
            self.effects.dropped_timers.append(run.waiting.timer_id)
        run.waiting = None

    def record_in(
        self, text: str | None, option_id: str | None, attachment: Attachment | None = None
    ) -> None:
        self.effects.transcript.append(
            TranscriptEntry(
                conversation_id=self.conversation.id,
                direction=Direction.IN,
                text=text,
                option_id=option_id,
                message_id=self.next_id(),
                at=self.now,
                attachment=attachment,
            )
        )

    def chose(self, option_id: str) -> None:
        """The customer's message this turn (pressed or typed) chose an offered option: its
        transcript entry says which."""
        for n in range(len(self.effects.transcript) - 1, -1, -1):
            entry = self.effects.transcript[n]
            if entry.direction == Direction.IN:
                self.effects.transcript[n] = entry.model_copy(update={"option_id": option_id})
                return

    def say(
        self,
        text: str,
        options: list[Option],
        step_id: str | None,
        author: Author | None = None,
        answer: AnswerType | None = None,
    ) -> None:
        """Tell the customer `text`: the workflow's words, or `author`'s."""
        message_id = self.next_id()
        # A contact the platform refuses messages to (blocked the bot) gets none until they
        # write again: the transcript still shows what the workflow said.
        if self.contact.unreachable_since is None:
            self.effects.outbound.append(
                Outbound(
                    message_id=message_id,
                    conversation_id=self.conversation.id,
                    channel=self.conversation.channel,
                    recipient=self.contact.external_id,
                    text=text,
                    options=options,
                    language=self.contact.language,
                    author=author,
                    answer=answer,
                )
            )
        self.effects.transcript.append(
            TranscriptEntry(
                conversation_id=self.conversation.id,
                direction=Direction.OUT,
                text=text,
                options=options,
                message_id=message_id,
                at=self.now,
                step_id=step_id,
                author=author,
            )
        )

    def note(self, text: str, author: Author | None) -> None:
        """Keep an agent's internal note in the transcript; nothing is sent."""
        self.effects.transcript.append(
            TranscriptEntry(
                conversation_id=self.conversation.id,
                direction=Direction.OUT,
                text=text,
                message_id=self.next_id(),
                at=self.now,
                author=author,
                note=True,
            )
        )

    def template_context(self) -> dict[str, Any]:
        run = self.conversation.run
        return {
            "contact": self.contact.model_dump(mode="json"),
            "conversation": self.conversation.model_dump(
                mode="json", include={"id", "channel", "status", "team", "assignee"}
            ),
            "vars": dict(run.vars) if run else {},
            "agent": self.agent.model_dump(mode="json", exclude={"capacity"}) if self.agent else {},
            "settings": dict(self.settings),
        }


@dataclass(frozen=True)
class TurnReport:
    """What a committed turn did, for logs, metrics and `frontdesk chat`."""

    conversation_id: str
    trace: list[str]
    sent: int
    freed: list[str] = field(default_factory=list)  # agents with a slot free again
    calls: list[HttpCall] = field(default_factory=list)  # requests to make now
    channel: str = ""
    conversation_key: ConversationKey | None = None
    events: list[DomainEvent] = field(default_factory=list)
