"""A customer's message arrives: their contact as the platform describes it now, the
conversation it opens, and what the desk shows of it."""

from __future__ import annotations

from datetime import datetime

from core.ids import time_ordered
from core.models import Contact, ContactProfile, Conversation, ConversationStatus, Inbound


def arrived(
    contact: Contact | None, channel: str, profile: ContactProfile, now: datetime
) -> tuple[Contact, bool]:
    """The contact who wrote (new if `contact` is None), with the profile of their latest
    event; and whether it changed."""
    changed = contact is None
    if contact is None:
        contact = Contact(
            id=time_ordered(now),
            channel=channel,
            external_id=profile.external_id,
            created_at=now,
        )
    changed = _merge_profile(contact, profile) or changed
    if contact.unreachable_since is not None:
        contact.unreachable_since = None  # they write again: they can be written to
        changed = True
    return contact, changed


def relayed(event: Inbound) -> str:
    """What the agent's desk shows of a customer's message."""
    parts = [event.text or ""]
    if event.option_id and not event.text:
        parts.append(f"(chose {event.option_id})")
    if event.attachment:
        parts.append(f"[{event.attachment.kind}]")
    return " ".join(p for p in parts if p) or "(an empty message)"


def new_conversation(contact: Contact, now: datetime) -> Conversation:
    return Conversation(
        id=time_ordered(now),
        contact_id=contact.id,
        channel=contact.channel,
        status=ConversationStatus.OPEN,
        opened_at=now,
    )


# What a channel may say about a contact, beside who they are.
PROFILE_FIELDS = tuple(name for name in ContactProfile.model_fields if name != "external_id")


def _merge_profile(contact: Contact, profile: ContactProfile) -> bool:
    """Take what the platform says about the contact in its latest event (the customer
    changed their language or email there), except for the fields a workflow saved, which
    it did on purpose (`Contact.workflow_fields`). A field the event leaves out is kept."""
    changed = False
    for name in PROFILE_FIELDS:
        value = getattr(profile, name)
        if value and name not in contact.workflow_fields and value != getattr(contact, name):
            setattr(contact, name, value)
            changed = True
    return changed


def handled(conversation: Conversation | None) -> bool:
    """Whether frontdesk is handling a contact's chat, given their open conversation (None:
    they have none): its run waits (for an answer, a timer, an agent or a response) or it has
    an assignee. A channel's plug-in in a host bot asks this to decide who takes an update."""
    if conversation is None or conversation.status != ConversationStatus.OPEN:
        return False
    waiting = conversation.run is not None and conversation.run.waiting is not None
    return waiting or conversation.assignee is not None
