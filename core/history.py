"""A conversation's history: the domain events about who had it, when it opened, waited and
closed, and the HTTP requests its workflow made, kept with the conversation for operators to
read.

Steps run are not kept here: that would be one row per step per conversation, most of them
saying what the transcript already shows (the messages carry their step ids). The steps that
say nothing and matter to an operator, HTTP requests, are kept as `RequestCompleted`.
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
    RequestCompleted,
    StepRan,
)

HistoryEvent = Annotated[
    ConversationOpened
    | ConversationAssigned
    | ConversationAccepted
    | ConversationUnassigned
    | ConversationQueued
    | ConversationClosed
    | RequestCompleted,
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
                | RequestCompleted()
            ):
                kept.append(event)
            case _:
                assert_never(event)
    return kept
