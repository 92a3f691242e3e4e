"""Whether frontdesk handles a contact's chat, decided on their open conversation alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.arrival import handled
from core.models import Conversation, ConversationStatus, Run, Waiting, WaitingKind

OPEN, CLOSED = ConversationStatus.OPEN, ConversationStatus.CLOSED


def chat(
    status: ConversationStatus = OPEN,
    *,
    waits_for: WaitingKind | None = None,
    ran: bool = True,
    assignee: str | None = None,
) -> Conversation:
    run = None
    if ran:
        waiting = None if waits_for is None else Waiting(kind=waits_for, step_id="s1")
        run = Run(workflow="greet", workflow_hash="h1", trigger="opened", waiting=waiting)
    return Conversation(
        id="v1",
        contact_id="c1",
        channel="telegram",
        status=status,
        assignee=assignee,
        opened_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        run=run,
    )


@pytest.mark.parametrize(
    ("what", "conversation", "takes"),
    [
        ("no open conversation", None, False),
        ("waits for an answer", chat(waits_for="answer"), True),
        ("waits for a timer", chat(waits_for="timer"), True),
        ("waits for an agent", chat(waits_for="assignment"), True),
        ("waits for a response", chat(waits_for="http"), True),
        ("assigned, its run at an end", chat(assignee="ann"), True),
        ("assigned, no run", chat(ran=False, assignee="ann"), True),
        ("its run at an end, nobody took it", chat(), False),
        ("no run, nobody took it", chat(ran=False), False),
        (
            "closed, though it waited and had an assignee",
            chat(CLOSED, waits_for="answer", assignee="ann"),
            False,
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_handled(what: str, conversation: Conversation | None, takes: bool) -> None:
    assert handled(conversation) is takes
