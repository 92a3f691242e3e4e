"""The agents' desk: what frontdesk tells agents about their conversations, and how it takes
what they do.

A turn gathers what the desk should hear (a handoff, a customer's message to relay, the
outcome of an action); `desk_messages` turns it into `Outbound` messages with a `Notice`,
delivered through the desk's channel by the outbox in the conversation's desk lane. Whom a
notice reaches there (`NoticeTarget`) is said in the desk channel's own addresses, which core
passes on unread (see `core.addresses`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.addresses import DeskAddresses
from core.agents import Agent
from core.models import (
    Author,
    ContactCard,
    ConversationStatus,
    DeskActionKind,
    Handoff,
    Notice,
    NoticeKind,
    NoticeTarget,
    Outbound,
    RecentMessage,
)

if TYPE_CHECKING:
    from core.turn import Turn


class DeskSettings(BaseModel):
    """The config's `desk` section: where agents work, and the desk's rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str  # the slug of the channel agents work in
    # Handoff notices go to the agent in a direct message, to the team's channel, or both.
    notify: Literal["dm", "team", "both"] = "dm"
    # A reply in a notice's thread that starts with this stays among the agents.
    note_prefix: str = Field(default="//", min_length=1, max_length=8)
    # Messages in the thread from others than the assignee: notes, or sent to the customer.
    others_in_thread: Literal["note", "relay"] = "note"
    # A customer writes while their agent is away or offline: re-route to an online team
    # member (when there is one), or keep the agent.
    when_agent_away: Literal["reroute", "keep"] = "reroute"
    recent_messages: int = Field(default=5, ge=0, le=20)


@dataclass(frozen=True)
class DeskRules:
    """The desk's settings with what notices need from the rest of the config."""

    settings: DeskSettings
    channel_types: dict[str, str]  # channel slug → its type, for the contact's card
    accept_timeouts: dict[str, int] = field(default_factory=dict)  # team → seconds


@dataclass(frozen=True)
class HandoffRequest:
    agent: Agent
    reason: str
    answers: dict[str, Any]  # the run's variables at the time
    accept_within: int | None = None  # the assign step's accept timeout, before the team's


@dataclass(frozen=True)
class DeskLine:
    """A line for the desk about the conversation's current handoff notice."""

    kind: NoticeKind  # OUTCOME, REFUSED or UNDELIVERED
    text: str
    actor: str | None = None
    place: str | None = None
    # The desk message's id when it must be the same however often the line is made (see
    # `undelivered`); else the turn hands one out.
    message_id: str | None = None


# How much of an undelivered reply the desk is shown again, and of the reason.
UNDELIVERED_EXCERPT = 200
UNDELIVERED_REASON = 300


def undelivered(
    author: Author | None, text: str, message_id: str, customer: str, error: str
) -> DeskLine:
    """The desk's line about a reply (`message_id`, by `author`) that did not reach `customer`.
    Its id comes from the reply's, so that the line is queued once however often the failure
    is reported."""
    writer = author.name if author else "A reply"
    return DeskLine(
        NoticeKind.UNDELIVERED,
        f"{writer}'s reply did not reach {customer}: “{_cut(text, UNDELIVERED_EXCERPT)}”"
        f" ({_cut(error, UNDELIVERED_REASON)})",
        message_id=f"{message_id}.undelivered",
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def targets(
    rules: DeskRules, addresses: DeskAddresses, agent: Agent, team: str | None
) -> list[NoticeTarget]:
    notify = rules.settings.notify
    person = addresses.of_agent(rules.settings.channel, agent.id)
    place = addresses.of_team(rules.settings.channel, team)
    found = []
    if notify in ("dm", "both") and person:
        found.append(NoticeTarget(kind="user", id=person))
    if notify in ("team", "both") and place:
        found.append(NoticeTarget(kind="channel", id=place))
    if not found and person:
        found.append(NoticeTarget(kind="user", id=person))  # nowhere else to go
    return found


async def desk_messages(turn: Turn, rules: DeskRules, addresses: DeskAddresses) -> list[Outbound]:
    """The desk's messages for what `turn` did; it updates the conversation's handoff."""
    conversation = turn.conversation
    previous = conversation.handoff
    # Only the last assignment of the turn stands, and only if it still does.
    request = turn.effects.handoffs[-1] if turn.effects.handoffs else None
    if request is not None and request.agent.id != conversation.assignee:
        request = None
    refused = any(line.kind == NoticeKind.REFUSED for line in turn.effects.desk_lines)
    if (
        request is None
        and not refused
        and (previous is None or not (turn.effects.relayed or turn.effects.desk_lines))
    ):
        return []  # no notice, and nothing to say about one: no need to read the store
    keep = rules.settings.recent_messages
    recent = await turn.tx.recent_transcript(conversation.id, keep) if keep else []
    lines = [
        RecentMessage(
            direction=e.direction,
            text=e.text,
            at=e.at,
            author=e.author.name if e.author else None,
        )
        for e in [*recent, *turn.effects.transcript]
        if e.text and not e.note  # notes are in the thread already; the customer never saw them
    ]
    lines = lines[-keep:] if keep else []
    card = ContactCard(
        name=turn.contact.name,
        username=turn.contact.username,
        channel=conversation.channel,
        channel_type=rules.channel_types.get(conversation.channel, conversation.channel),
        language=turn.contact.language,
        email=turn.contact.email,
        phone=turn.contact.phone,
        tags=list(turn.contact.tags),
    )
    # What the workflow collected, as it was at the handoff: the run may have ended since.
    answers = previous.answers if previous else {}
    # Whom the notice already posted is for: its card keeps saying so when it is updated.
    posted_for = turn.agent
    if previous is not None and (posted_for is None or posted_for.id != previous.agent_id):
        posted_for = await turn.tx.load_agent(previous.agent_id)

    def address_of(agent: Agent | None) -> str | None:
        return addresses.of_agent(rules.settings.channel, agent.id) if agent else None

    def notice(kind: NoticeKind, handoff_id: str, **fields: object) -> Notice:
        return Notice.model_validate(
            {
                "kind": kind,
                "conversation_id": conversation.id,
                "handoff_id": handoff_id,
                "agent": posted_for,
                "agent_address": address_of(posted_for),
                "team": conversation.team,
                "contact": card,
                "answers": answers,
                "recent": lines,
                "at": turn.now,
                **fields,
            }
        )

    def outbound(
        recipient: str, text: str, body: Notice, message_id: str | None = None
    ) -> Outbound:
        return Outbound(
            message_id=message_id or turn.next_id(),
            conversation_id=conversation.id,
            channel=rules.settings.channel,
            recipient=recipient,
            text=text,
            notice=body,
        )

    messages: list[Outbound] = []
    final = previous
    handoff_body: Notice | None = None
    if request is not None:
        handoff_id = turn.next_id()
        handoff_body = notice(
            NoticeKind.HANDOFF,
            handoff_id,
            agent=request.agent,
            agent_address=address_of(request.agent),
            targets=targets(rules, addresses, request.agent, conversation.team),
            reason=request.reason,
            answers=request.answers,
            actions=[DeskActionKind.ACCEPT, DeskActionKind.REASSIGN, DeskActionKind.CLOSE],
        )
        within = request.accept_within or rules.accept_timeouts.get(conversation.team or "")
        final = Handoff(
            id=handoff_id,
            agent_id=request.agent.id,
            at=turn.now,
            answers=request.answers,
            accept_within=within,
            accept_timer=None if within is None else turn.schedule(within, purpose="accept"),
        )
    about = previous.id if previous else None
    for line in turn.effects.desk_lines:
        if about is None and line.kind != NoticeKind.REFUSED:
            continue  # nothing was ever posted about this conversation
        body = notice(
            line.kind,
            about or "",
            text=line.text,
            actor=line.actor,
            place=line.place,
            actions=_still_possible(turn, final) if final is previous else [],
        )
        messages.append(outbound(line.actor or "desk", line.text, body, line.message_id))
    if previous is not None and previous is final and previous.agent_id == conversation.assignee:
        for text in turn.effects.relayed:
            body = notice(NoticeKind.MESSAGE, previous.id, text=text)
            messages.append(outbound(previous.agent_id, text, body))
    if handoff_body is not None and final is not None:
        name = card.name or card.username or "a customer"
        messages.append(outbound(final.agent_id, f"New conversation with {name}", handoff_body))
        conversation.handoff = final
    return messages


def _still_possible(turn: Turn, handoff: Handoff | None) -> list[DeskActionKind]:
    """The buttons an up-to-date notice keeps: none once the conversation is closed or no
    longer with the notice's agent; Accept only until someone accepted."""
    conversation = turn.conversation
    if (
        handoff is None
        or conversation.status != ConversationStatus.OPEN
        or conversation.assignee != handoff.agent_id
    ):
        return []
    kept = [DeskActionKind.REASSIGN, DeskActionKind.CLOSE]
    return kept if handoff.accepted_by else [DeskActionKind.ACCEPT, *kept]
