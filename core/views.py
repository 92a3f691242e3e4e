"""What operators are shown of stored conversations and agents, as JSON documents: the API
answers with these, and the CLI prints the same ones (or a table of them) whether it asked
the server or read the store itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.addresses import DeskAddresses
from core.listing import AgentLoad, ConversationRecord, ListedConversation
from core.models import Conversation, TranscriptEntry

JSON = dict[str, Any]


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _waiting_for(conversation: Conversation) -> str | None:
    run = conversation.run
    return None if run is None or run.waiting is None else run.waiting.kind


def summary(listed: ListedConversation) -> JSON:
    """One line of a listing."""
    conversation, contact = listed.conversation, listed.contact
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "contact": {"id": contact.external_id, "name": contact.name},
        "status": conversation.status.value,
        "waiting_for": _waiting_for(conversation),
        "team": conversation.team,
        "assignee": conversation.assignee,
        "opened_at": _time(conversation.opened_at),
        "queued_at": _time(conversation.queued_at),
        "closed_at": _time(conversation.closed_at),
    }


def queued(listed: ListedConversation, now: datetime) -> JSON:
    """One conversation of a team's queue, with how long it has waited there."""
    since = listed.conversation.queued_at
    waited = 0.0 if since is None else max((now - since).total_seconds(), 0.0)
    return {**summary(listed), "waiting_seconds": round(waited, 3)}


def detail(record: ConversationRecord) -> JSON:
    """One conversation in full: contact, workflow position, history and transcript."""
    conversation = record.conversation
    run = conversation.run
    position = None
    if run is not None:
        position = {
            "workflow": run.workflow,
            "step_id": None if run.waiting is None else run.waiting.step_id,
            "waiting_for": _waiting_for(conversation),
            "until": _time(record.timer_due),
        }
    return {
        **summary(ListedConversation(conversation=conversation, contact=record.contact)),
        "contact": record.contact.model_dump(mode="json")
        | {"id": record.contact.external_id, "contact_id": record.contact.id},
        "assigned_at": _time(conversation.assigned_at),
        "position": position,
        "history": [event.model_dump(mode="json") for event in record.history],
        "transcript": [_entry(entry) for entry in record.transcript],
    }


def _entry(entry: TranscriptEntry) -> JSON:
    return {
        "direction": entry.direction.value,
        "text": entry.text,
        "options": [option.model_dump(mode="json") for option in entry.options],
        "option_id": entry.option_id,
        "step_id": entry.step_id,
        "at": _time(entry.at),
        "attachment": (
            None if entry.attachment is None else entry.attachment.model_dump(exclude_none=True)
        ),
        "author": None if entry.author is None else entry.author.model_dump(mode="json"),
        "note": entry.note,
    }


def agent(load: AgentLoad, addresses: DeskAddresses) -> JSON:
    return {
        **load.agent.model_dump(mode="json"),
        "desk": dict(addresses.agents.get(load.agent.id, {})),  # desk channel → address
        "teams": load.teams,
        "open_conversations": load.open_conversations,
    }
