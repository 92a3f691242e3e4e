"""A conversation's history: the domain events about who had it and when it opened, waited and
closed, kept with the conversation for operators to read.

Steps run are not kept here (there are many of them, and the transcript shows what they said).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, assert_never

from pydantic import Field, TypeAdapter

from core.events import (
    ConversationAccepted,
    ConversationAssigned,
    ConversationClosed,
    ConversationOpened,
    ConversationQueued,
    ConversationUnassigned,
    DomainEvent,
    StepRan,
)

HistoryEvent = Annotated[
    ConversationOpened
    | ConversationAssigned
    | ConversationAccepted
    | ConversationUnassigned
    | ConversationQueued
    | ConversationClosed,
    Field(discriminator="kind"),
]

HISTORY_EVENT: TypeAdapter[HistoryEvent] = TypeAdapter(HistoryEvent)


def history_of(events: Iterable[DomainEvent]) -> list[HistoryEvent]:
    """The events of a turn that go into its conversation's history, in order."""
    kept: list[HistoryEvent] = []
    for event in events:
        match event:
            case StepRan():
                pass
            case (
                ConversationOpened()
                | ConversationAssigned()
                | ConversationAccepted()
                | ConversationUnassigned()
                | ConversationQueued()
                | ConversationClosed()
            ):
                kept.append(event)
            case _:
                assert_never(event)
    return kept
