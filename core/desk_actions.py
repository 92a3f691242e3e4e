"""What people do to a conversation from outside its workflow: an agent on the desk accepts,
reassigns, replies, hands back or closes; someone assigns or unassigns by hand; a reply is
undelivered. Each works on a loaded turn; the engine opens the transaction and commits."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum

from core.agents import Agent, AgentStatus
from core.assignment import Rules
from core.desk import DeskLine, DeskRules, undelivered
from core.events import AssignedBy, ConversationAccepted
from core.models import (
    Author,
    Conversation,
    ConversationStatus,
    DeskAction,
    DeskActionKind,
    Handoff,
    NoticeKind,
    Outbound,
    Timer,
)
from core.ports import Transaction
from core.steps import assign, pick_agent, queue, take_over, unassign
from core.turn import Turn

log = logging.getLogger("frontdesk.engine")


class HandAssignment(StrEnum):
    """What became of assigning a conversation by hand."""

    ASSIGNED = "assigned"
    NO_CONVERSATION = "no_conversation"
    NO_AGENT = "no_agent"
    CLOSED = "closed"


class DeskActions:
    """The desk's and the operators' actions on a turn. `resume` puts a waiting run back on
    the step it waits at; `carry_on` runs the conversation's workflow until it waits;
    `close` closes it and starts its conversation_closed workflow."""

    def __init__(
        self,
        *,
        desk: DeskRules | None,
        resume: Callable[[Turn], Awaitable[object]],
        carry_on: Callable[[Turn], Awaitable[None]],
        close: Callable[[Turn, str, str], Awaitable[None]],
    ) -> None:
        self._desk = desk
        self._resume = resume
        self._carry_on = carry_on
        self._close = close

    async def act(self, turn: Turn, action: DeskAction, text: str | None) -> Turn | None:
        """Run what an agent did on the desk; the decision is made here, in the store, so of
        two agents pressing Accept at once the first one wins."""
        conversation = turn.conversation
        actor = await _actor(turn, action.agent_id)
        by = actor.name if actor else "someone"

        def refuse(reason: str) -> Turn:
            turn.effects.desk_lines.append(
                DeskLine(NoticeKind.REFUSED, reason, actor=action.actor, place=action.place)
            )
            turn.effects.trace.append(f"{action.kind.value} by {action.actor} refused: {reason}")
            return turn

        handoff = conversation.handoff
        if action.kind == DeskActionKind.REPLY:
            return await self._reply(turn, action, actor, text or "", refuse)
        if conversation.status != ConversationStatus.OPEN:
            return refuse("This conversation is closed already.")
        if action.kind == DeskActionKind.HAND_BACK:
            return await _hand_back(turn, actor)
        if handoff is None or action.handoff_id != handoff.id:
            current = turn.agent.name if turn.agent else "nobody"
            return refuse(f"This notice is out of date: the conversation is with {current} now.")
        if action.kind == DeskActionKind.ACCEPT:
            if actor is None:
                return refuse("Only frontdesk agents can accept conversations.")
            if handoff.accepted_by is not None:
                first = await turn.tx.load_agent(handoff.accepted_by)
                return refuse(f"{first.name if first else 'Someone'} accepted it first.")
            if conversation.assignee != actor.id:  # taken from the team's channel
                take_over(turn, actor, AssignedBy.TAKE_OVER)
                handoff.agent_id = actor.id
            _accept(turn, handoff, actor)
            turn.effects.trace.append(f"accepted by {actor.id}")
            return turn
        if action.kind == DeskActionKind.REASSIGN:
            team = conversation.team
            if team is None:
                return refuse("This conversation has no team to reassign it within.")
            other = await other_agent(turn.tx, team, conversation.assignee)
            if other is None:
                return refuse(f"Nobody else in {team} is online with room for it.")
            turn.effects.desk_lines.append(
                DeskLine(NoticeKind.OUTCOME, f"Reassigned to {other.name} by {by}")
            )
            assign(turn, other, f"reassigned by {by}", AssignedBy.REASSIGN)
            turn.effects.trace.append(f"reassigned to {other.id} by {action.actor}")
            return turn
        # CLOSE
        await self._close(turn, by, action.actor)
        return turn

    async def _reply(
        self,
        turn: Turn,
        action: DeskAction,
        actor: Agent | None,
        text: str,
        refuse: Callable[[str], Turn],
    ) -> Turn | None:
        """A message in the notice's thread: to the customer when it is the assignee's (or
        anyone's, if the desk says so) and not marked as a note; else it stays a note, kept in
        the transcript for the console and never sent."""
        if self._desk is None:
            return None  # no desk configured (any more): nothing is relayed
        conversation = turn.conversation
        rules = self._desk.settings
        writer = None if actor is None else Author(id=actor.id, name=actor.name)
        if not text.strip():
            return None
        if text.startswith(rules.note_prefix):
            said = text.removeprefix(rules.note_prefix).strip()
            if not said:
                return None
            turn.note(said, writer)
            return turn
        if conversation.status != ConversationStatus.OPEN:
            return refuse("This conversation is closed: your message was not sent.")
        from_assignee = actor is not None and actor.id == conversation.assignee
        handoff = conversation.handoff
        if not from_assignee and actor is not None and handoff and action.handoff_id != handoff.id:
            # Their own old notice, say, after it was reassigned: they expect it to be sent.
            current = turn.agent.name if turn.agent else "nobody"
            return refuse(f"This conversation is with {current} now: your message was not sent.")
        if not from_assignee and (actor is None or rules.others_in_thread == "note"):
            turn.note(text, writer)
            return turn
        assert actor is not None  # a reply from nobody frontdesk knows is a note (above)
        author = Author(id=actor.id, name=actor.name)
        turn.say(text, [], step_id=None, author=author)
        turn.effects.trace.append(f"reply by {action.actor}")
        gone = turn.contact.unreachable_since
        if gone is not None:  # not sent at all: the platform refuses them messages
            reason = f"their platform has refused messages since {gone:%Y-%m-%d %H:%M} UTC"
            reply_id = turn.effects.transcript[-1].message_id
            turn.effects.desk_lines.append(
                undelivered(author, text, reply_id, _customer(turn), reason)
            )
        if from_assignee and handoff is not None and handoff.accepted_by is None:
            _accept(turn, handoff, actor)
        return turn

    def undelivered(self, turn: Turn, message: Outbound, error: str) -> bool:
        """An agent's reply did not reach the customer and will not: the desk is told in the
        conversation's notice thread. False when there is no notice to say it under."""
        if self._desk is None or turn.conversation.handoff is None:
            return False
        line = undelivered(message.author, message.text, message.message_id, _customer(turn), error)
        turn.effects.desk_lines.append(line)
        turn.effects.trace.append(f"reply {message.message_id} undelivered")
        return True

    async def follow_agent(self, turn: Turn) -> None:
        """The customer writes to an assigned conversation: an agent who is away or offline
        is replaced by an online team member (desk policy)."""
        conversation, agent = turn.conversation, turn.agent
        if (
            self._desk is None
            or self._desk.settings.when_agent_away != "reroute"
            or agent is None
            or agent.status == AgentStatus.ONLINE
            or conversation.team is None
        ):
            return
        other = await other_agent(turn.tx, conversation.team, agent.id)
        if other is None:
            return
        turn.effects.desk_lines.append(
            DeskLine(
                NoticeKind.OUTCOME,
                f"Re-routed to {other.name}: {agent.name} is {agent.status.value}",
            )
        )
        assign(
            turn,
            other,
            f"re-routed from {agent.name}, who is {agent.status.value}",
            AssignedBy.REROUTE,
        )
        turn.effects.trace.append(f"re-routed from {agent.id} to {other.id}")

    async def assignment_made(self, turn: Turn) -> None:
        """A run that waits for an agent carries on now that it has one."""
        run = turn.conversation.run
        if run is not None and run.waiting is not None and run.waiting.kind == "assignment":
            await self._resume(turn)
            turn.stop_waiting()
            run.pc += 1
            await self._carry_on(turn)

    async def assign_by_hand(self, turn: Turn, agent: Agent) -> None:
        """Give the conversation to the agent a person chose, whatever their status or load:
        the person decided. The agent gets a handoff notice."""
        conversation = turn.conversation
        if conversation.assignee == agent.id:
            return
        if conversation.assignee is not None:
            turn.effects.desk_lines.append(
                DeskLine(NoticeKind.OUTCOME, f"Reassigned to {agent.name} by hand")
            )
        assign(turn, agent, "assigned by hand", AssignedBy.HAND)
        turn.effects.trace.append(f"assigned to {agent.id} by hand")
        await self.assignment_made(turn)


def unassign_by_hand(turn: Turn) -> None:
    """Take the conversation away from its agent (a person decided); it stays open, with its
    team, for someone to assign."""
    turn.effects.trace.append(f"unassigned from {turn.conversation.assignee} by hand")
    unassign(turn, by="hand")


async def other_agent(tx: Transaction, team: str, exclude: str | None) -> Agent | None:
    """The team's next online agent with room, other than `exclude` (round robin)."""
    rules = Rules(exclude=frozenset() if exclude is None else frozenset({exclude}))
    return await pick_agent(tx, team, rules)


async def _actor(turn: Turn, agent_id: str | None) -> Agent | None:
    """The agent who acted; most often the assignee, whom the turn has loaded already."""
    if agent_id is None:
        return None
    if turn.agent is not None and turn.agent.id == agent_id:
        return turn.agent
    return await turn.tx.load_agent(agent_id)


async def _hand_back(turn: Turn, actor: Agent | None) -> Turn | None:
    """The agent went away: the conversation goes back to its team, to an online member when
    there is one, else to the team's queue."""
    conversation = turn.conversation
    if actor is None or conversation.assignee != actor.id:
        return None  # it moved on meanwhile
    team = conversation.team
    other = await other_agent(turn.tx, team, actor.id) if team else None
    if other is not None:
        turn.effects.desk_lines.append(
            DeskLine(NoticeKind.OUTCOME, f"Handed back by {actor.name}, to {other.name}")
        )
        assign(turn, other, f"handed back by {actor.name}", AssignedBy.HAND_BACK)
    else:
        unassign(turn, by=f"{actor.name}, back to the {team or 'team'} queue")
        if team is not None:
            queue(turn, team)
    turn.effects.trace.append(f"handed back by {actor.id}")
    return turn


def accept_overdue(conversation: Conversation, timer: Timer) -> bool:
    """The accept timer is the one its assignee's handoff still waits on."""
    handoff = conversation.handoff
    return not (
        handoff is None
        or handoff.accept_timer != timer.id
        or handoff.accepted_by is not None
        or conversation.status != ConversationStatus.OPEN
        or conversation.assignee != handoff.agent_id
        or conversation.team is None
    )


async def accept_timed_out(turn: Turn) -> bool:
    """The agent neither accepted the handoff nor answered in time (`accept_overdue`): the
    team's next online agent with room gets the conversation (and the timer again); with
    nobody else, it stays, and no new timer is armed (False)."""
    conversation = turn.conversation
    handoff = conversation.handoff
    assert handoff is not None
    assert conversation.team is not None
    other = await other_agent(turn.tx, conversation.team, handoff.agent_id)
    if other is None:
        log.info(
            "not accepted in time, nobody else to take it: conversation=%s agent=%s",
            conversation.id,
            handoff.agent_id,
        )
        return False
    silent = turn.agent.name if turn.agent else handoff.agent_id
    seconds = handoff.accept_within
    turn.effects.desk_lines.append(
        DeskLine(
            NoticeKind.OUTCOME,
            f"Moved to {other.name}: {silent} did not accept within {seconds} s",
        )
    )
    assign(
        turn,
        other,
        f"{silent} did not accept within {seconds} s",
        AssignedBy.ACCEPT_TIMEOUT,
        accept_within=seconds,
    )
    turn.effects.trace.append(f"moved from {handoff.agent_id} to {other.id}: not accepted in time")
    return True


def _accept(turn: Turn, handoff: Handoff, actor: Agent) -> None:
    handoff.accepted_by = actor.id
    handoff.accepted_at = turn.now
    if handoff.accept_timer is not None:
        turn.effects.dropped_timers.append(handoff.accept_timer)
        handoff.accept_timer = None
    turn.effects.desk_lines.append(DeskLine(NoticeKind.OUTCOME, f"Accepted by {actor.name}"))
    turn.effects.events.append(ConversationAccepted(at=turn.now, agent_id=actor.id))


def _customer(turn: Turn) -> str:
    """The customer as the desk names them."""
    return turn.contact.name or turn.contact.username or "the customer"
