"""The engine: runs a conversation's workflow one event at a time.

For each event it opens one store transaction, loads the contact and the conversation, runs
steps until the workflow waits (for an answer or a timer) or ends, and saves the new state,
the transcript, the outbound messages and the timers in that same transaction. Callers make
sure one conversation's events never run at once in this process (see `dispatch`); the
conversation's version makes a concurrent writer elsewhere fail and retry instead of winning
twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar, assert_never

from core.assignment import Rules, can_take
from core.callouts import request_done, request_lost
from core.desk import DeskLine, DeskRules, desk_messages, undelivered
from core.errors import ConcurrentUpdate
from core.events import (
    AssignedBy,
    ConversationAccepted,
    ConversationOpened,
    DomainEvent,
)
from core.history import history_of
from core.models import (
    Agent,
    AgentStatus,
    Author,
    Contact,
    ContactProfile,
    Conversation,
    ConversationStatus,
    DeskAction,
    DeskActionKind,
    Handoff,
    HttpCall,
    HttpResult,
    Inbound,
    NoticeKind,
    Outbound,
    Run,
    StoredInbound,
    Timer,
    conversation_key,
)
from core.ports import Clock, Store, Transaction
from core.program import Instruction, Program, compile_workflow
from core.schedules import Schedule
from core.step_types import AskQuestionStep, AssignStep, HttpRequestStep
from core.steps import (
    RunEnded,
    answer,
    assign,
    assignment_timed_out,
    close,
    execute,
    pick_agent,
    queue,
    take_over,
    timed_out,
    unassign,
)
from core.turn import Turn
from core.workflow import Workflow, snapshot, workflow_from_snapshot

log = logging.getLogger("frontdesk.engine")

# A run executes at most this many instructions per event; jumps are bounded, so only a
# pathological workflow gets here, and it must not hold a conversation forever.
MAX_INSTRUCTIONS = 10_000
MAX_CONFLICT_RETRIES = 5

T = TypeVar("T")


@dataclass(frozen=True)
class TurnReport:
    """What a committed turn did, for logs, metrics and `frontdesk chat`."""

    conversation_id: str
    trace: list[str]
    sent: int
    freed: list[str] = field(default_factory=list)  # agents with a slot free again
    calls: list[HttpCall] = field(default_factory=list)  # requests to make now
    channel: str = ""
    contact_key: str = ""  # the conversation's key (see `conversation_key`)
    events: list[DomainEvent] = field(default_factory=list)


class HandAssignment(StrEnum):
    """What became of assigning a conversation by hand."""

    ASSIGNED = "assigned"
    NO_CONVERSATION = "no_conversation"
    NO_AGENT = "no_agent"
    CLOSED = "closed"


class Offer(StrEnum):
    """What became of offering a queued conversation to an agent."""

    ASSIGNED = "assigned"
    NOT_WAITING = "not_waiting"  # assigned or closed meanwhile: try the next one
    AGENT_UNAVAILABLE = "agent_unavailable"  # the agent is full or gone: stop offering
    # The agent has as many open as the step that queued it allows (`queue_limit`): try the
    # next one, which may allow more.
    OVER_LIMIT = "over_limit"


class Engine:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        workflows: Sequence[Workflow],
        on_commit: Callable[[TurnReport, list[Timer]], None] | None = None,
        schedules: Mapping[str, Schedule] | None = None,
        settings: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        desk: DeskRules | None = None,
    ) -> None:
        self._store = store
        self._desk = desk
        self._schedules = dict(schedules or {})
        self._settings = dict(settings or {})
        self._secrets = dict(secrets or {})
        self._clock = clock
        self._workflows = list(workflows)
        self._programs: dict[str, Program] = {}
        self._on_commit = on_commit
        for workflow in self._workflows:
            program = compile_workflow(workflow)
            self._programs[program.workflow_hash] = program

    async def prepare(self) -> None:
        """Keep every current workflow version in the store, so that a run started on it can
        finish after the file changes and the process restarts."""
        async with self._store.transaction() as tx:
            for workflow in self._workflows:
                await tx.save_workflow_version(
                    workflow.content_hash, workflow.name, snapshot(workflow)
                )

    async def reload(
        self,
        workflows: Sequence[Workflow],
        *,
        schedules: Mapping[str, Schedule],
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
    ) -> None:
        """New runs start on `workflows` from now on; a run under way stays on the version it
        started with (its program is kept, and is in the store). Each new version is stored
        before any run can start on it."""
        programs = {w.content_hash: compile_workflow(w) for w in workflows}
        async with self._store.transaction() as tx:
            for workflow in workflows:
                await tx.save_workflow_version(
                    workflow.content_hash, workflow.name, snapshot(workflow)
                )
        self._programs.update(programs)
        self._workflows = list(workflows)
        self._schedules = dict(schedules)
        self._settings = dict(settings)
        self._secrets = dict(secrets)

    # events -----------------------------------------------------------------------------

    async def process_inbound(self, item: StoredInbound) -> TurnReport | None:
        event = item.event

        async def work(tx: Transaction) -> tuple[None, Turn | None]:
            if event.action is not None:
                action_turn = await self._action(tx, event.action, event.text)
                await tx.mark_processed(item.id, self._clock.now())
                return None, action_turn
            turn = await self._inbound(tx, event.channel, event.contact)
            turn.record_in(event.text, event.option_id, event.attachment)
            if turn.conversation.handoff is not None:
                turn.relayed.append(_relayed(event))
            await self._continue(turn, event.text, event.option_id, event.shared_phone)
            await tx.mark_processed(item.id, turn.now)
            return None, turn

        _, report = await self._retrying(f"inbound={item.id} key={event.contact_key}", work)
        return report

    async def process_timer(self, timer: Timer) -> TurnReport | None:
        async def work(tx: Transaction) -> tuple[None, Turn | None]:
            await tx.delete_timer(timer.id)
            return None, await self._timer(tx, timer)

        _, report = await self._retrying(f"timer={timer.id}", work)
        return report

    async def process_http_result(self, result: HttpResult) -> TurnReport | None:
        async def work(tx: Transaction) -> tuple[None, Turn | None]:
            return None, await self._http_result(tx, result)

        _, report = await self._retrying(f"request={result.request_id}", work)
        return report

    async def _retrying(
        self, what: str, work: Callable[[Transaction], Awaitable[tuple[T, Turn | None]]]
    ) -> tuple[T, TurnReport | None]:
        """Run `work` in one transaction, with the turn it returns (if any) saved in it; run
        it again on fresh state when another writer changed the conversation first."""
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                async with self._store.transaction() as tx:
                    outcome, turn = await work(tx)
                    if turn is not None:
                        await self._save(turn)
                return outcome, None if turn is None else self._committed(turn)
            except ConcurrentUpdate:
                log.info("conflict, running again: %s", what)
        raise ConcurrentUpdate(f"{what} kept conflicting")

    async def _http_result(self, tx: Transaction, result: HttpResult) -> Turn | None:
        conversation = await tx.load_conversation(result.conversation_id)
        run = conversation.run if conversation else None
        waiting = run.waiting if run else None
        if (
            conversation is None
            or run is None
            or waiting is None
            or waiting.request is None
            or waiting.request.request_id != result.request_id
        ):
            return None  # a result nobody waits for now (asked again, or closed)
        turn = await self._turn_of(tx, conversation)
        instruction = await self._instruction(tx, run)
        assert isinstance(instruction.step, HttpRequestStep)
        request_done(instruction.step, instruction, turn, result)
        await self._run(turn)
        return turn

    async def _turn_of(self, tx: Transaction, conversation: Conversation) -> Turn:
        """A turn of a stored conversation, with its contact and its agent loaded."""
        contact = await tx.load_contact_by_id(conversation.contact_id)
        assert contact is not None
        turn = self._turn(tx, self._clock.now(), contact, conversation)
        if conversation.assignee is not None:
            turn.agent = await tx.get_agent(conversation.assignee)
        return turn

    def _turn(
        self, tx: Transaction, now: datetime, contact: Contact, conversation: Conversation
    ) -> Turn:
        return Turn(
            tx=tx,
            now=now,
            contact=contact,
            conversation=conversation,
            schedules=self._schedules,
            settings=self._settings,
            secrets=self._secrets,
        )

    async def close(self, conversation_id: str) -> bool | None:
        """Close an open conversation (an agent is done with it): its agent's slot goes to
        the team's queue and a conversation_closed workflow runs. None: no such conversation;
        False: it was closed already."""

        async def work(tx: Transaction) -> tuple[bool | None, Turn | None]:
            conversation = await tx.load_conversation(conversation_id)
            if conversation is None:
                return None, None
            if conversation.status != ConversationStatus.OPEN:
                return False, None
            turn = await self._turn_of(tx, conversation)
            await self._close(turn, by="an agent", actor="an agent")
            return True, turn

        closed, _ = await self._retrying(f"closing conversation={conversation_id}", work)
        return closed

    async def unassign_by_hand(self, conversation_id: str) -> bool | None:
        """Take an open conversation away from its agent (a person decided); it stays open,
        with its team, for someone to assign. None: no such conversation; False: it is closed
        or has nobody assigned."""

        async def work(tx: Transaction) -> tuple[bool | None, Turn | None]:
            conversation = await tx.load_conversation(conversation_id)
            if conversation is None:
                return None, None
            if conversation.status != ConversationStatus.OPEN or conversation.assignee is None:
                return False, None
            turn = await self._turn_of(tx, conversation)
            turn.trace.append(f"unassigned from {conversation.assignee} by hand")
            unassign(turn, by="hand")
            return True, turn

        done, _ = await self._retrying(f"unassigning conversation={conversation_id}", work)
        return done

    async def undelivered(self, message: Outbound, error: str) -> None:
        """An agent's reply did not reach the customer and will not: the desk is told in the
        conversation's notice thread, through the outbox like every desk message."""

        async def work(tx: Transaction) -> tuple[None, Turn | None]:
            conversation = await tx.load_conversation(message.conversation_id)
            if self._desk is None or conversation is None or conversation.handoff is None:
                return None, None  # no notice to say it under
            turn = await self._turn_of(tx, conversation)
            line = undelivered(
                message.author, message.text, message.message_id, _customer(turn), error
            )
            turn.desk_lines.append(line)
            turn.trace.append(f"reply {message.message_id} undelivered")
            return None, turn

        await self._retrying(f"undelivered message={message.message_id}", work)

    async def offer(self, conversation_id: str, agent_id: str) -> Offer:
        """Give a queued conversation to an agent who has a free slot, and let a run that
        waits for the assignment carry on."""
        outcome, _ = await self._retrying(
            f"offering conversation={conversation_id}",
            lambda tx: self._offer(tx, conversation_id, agent_id),
        )
        return outcome

    async def _offer(
        self, tx: Transaction, conversation_id: str, agent_id: str
    ) -> tuple[Offer, Turn | None]:
        conversation = await tx.load_conversation(conversation_id)
        if (
            conversation is None
            or conversation.status != ConversationStatus.OPEN
            or conversation.assignee is not None
            or conversation.queued_at is None
        ):
            return Offer.NOT_WAITING, None
        facts = await tx.agent_facts(agent_id)
        if facts is None or not can_take(facts, only_online=True, max_open=None):
            return Offer.AGENT_UNAVAILABLE, None
        if not can_take(facts, only_online=True, max_open=conversation.queue_limit):
            return Offer.OVER_LIMIT, None
        agent = facts.agent
        turn = await self._turn_of(tx, conversation)
        assign(turn, agent, f"from the {conversation.team} queue", AssignedBy.QUEUE)
        turn.trace.append(f"assigned to {agent.id} from the {conversation.team} queue")
        await self._assignment_made(turn)
        return Offer.ASSIGNED, turn

    async def _assignment_made(self, turn: Turn) -> None:
        """A run that waits for an agent carries on now that it has one."""
        run = turn.conversation.run
        if run is not None and run.waiting is not None and run.waiting.kind == "assignment":
            turn.stop_waiting()
            run.pc += 1
            await self._run(turn)

    async def assign_by_hand(self, conversation_id: str, agent_id: str) -> HandAssignment:
        """Give an open conversation to the agent a person chose, whatever their status or
        load: the person decided. The agent gets a handoff notice."""

        async def work(tx: Transaction) -> tuple[HandAssignment, Turn | None]:
            conversation = await tx.load_conversation(conversation_id)
            if conversation is None:
                return HandAssignment.NO_CONVERSATION, None
            if conversation.status != ConversationStatus.OPEN:
                return HandAssignment.CLOSED, None
            agent = await tx.get_agent(agent_id)
            if agent is None:
                return HandAssignment.NO_AGENT, None
            turn = await self._turn_of(tx, conversation)
            if conversation.assignee != agent.id:
                if conversation.assignee is not None:
                    turn.desk_lines.append(
                        DeskLine(NoticeKind.OUTCOME, f"Reassigned to {agent.name} by hand")
                    )
                assign(turn, agent, "assigned by hand", AssignedBy.HAND)
                turn.trace.append(f"assigned to {agent.id} by hand")
                await self._assignment_made(turn)
            return HandAssignment.ASSIGNED, turn

        outcome, _ = await self._retrying(f"assigning conversation={conversation_id}", work)
        return outcome

    # loading ----------------------------------------------------------------------------

    async def _inbound(self, tx: Transaction, channel: str, profile: ContactProfile) -> Turn:
        now = self._clock.now()
        contact, conversation = await tx.load_contact_and_open_conversation(
            channel, profile.external_id
        )
        changed = contact is None
        if contact is None:
            contact = Contact(
                id=uuid.uuid4().hex,
                channel=channel,
                external_id=profile.external_id,
                created_at=now,
            )
        changed = _merge_profile(contact, profile) or changed
        if contact.unreachable_since is not None:
            contact.unreachable_since = None  # they write again: they can be written to
            changed = True
        turn = self._turn(tx, now, contact, conversation or _new(contact, now))
        turn.contact_changed = changed
        if conversation is None:
            turn.events.append(ConversationOpened(at=now))
            self._start(turn, "conversation_opened")
        elif conversation.assignee is not None:
            turn.agent = await tx.get_agent(conversation.assignee)
            await self._follow_agent(turn)
        return turn

    async def _follow_agent(self, turn: Turn) -> None:
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
        other = await self._other_agent(turn.tx, conversation.team, agent.id)
        if other is None:
            return
        turn.desk_lines.append(
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
        turn.trace.append(f"re-routed from {agent.id} to {other.id}")

    async def _other_agent(self, tx: Transaction, team: str, exclude: str | None) -> Agent | None:
        """The team's next online agent with room, other than `exclude` (round robin)."""
        rules = Rules(exclude=frozenset() if exclude is None else frozenset({exclude}))
        return await pick_agent(tx, team, rules)

    # the desk ---------------------------------------------------------------------------

    async def _action(self, tx: Transaction, action: DeskAction, text: str | None) -> Turn | None:
        """Run what an agent did on the desk; the decision is made here, in the store, so of
        two agents pressing Accept at once the first one wins."""
        conversation = await tx.load_conversation(action.conversation_id)
        if conversation is None:
            return None
        turn = await self._turn_of(tx, conversation)
        actor = await self._actor(turn, action.agent_id)
        by = actor.name if actor else "someone"

        def refuse(reason: str) -> Turn:
            turn.desk_lines.append(
                DeskLine(NoticeKind.REFUSED, reason, actor=action.actor, place=action.place)
            )
            turn.trace.append(f"{action.kind.value} by {action.actor} refused: {reason}")
            return turn

        handoff = conversation.handoff
        if action.kind == DeskActionKind.REPLY:
            return await self._reply(turn, action, actor, text or "", refuse)
        if conversation.status != ConversationStatus.OPEN:
            return refuse("This conversation is closed already.")
        if action.kind == DeskActionKind.HAND_BACK:
            return await self._hand_back(turn, actor)
        if handoff is None or action.handoff_id != handoff.id:
            current = turn.agent.name if turn.agent else "nobody"
            return refuse(f"This notice is out of date: the conversation is with {current} now.")
        if action.kind == DeskActionKind.ACCEPT:
            if actor is None:
                return refuse("Only frontdesk agents can accept conversations.")
            if handoff.accepted_by is not None:
                first = await tx.get_agent(handoff.accepted_by)
                return refuse(f"{first.name if first else 'Someone'} accepted it first.")
            if conversation.assignee != actor.id:  # taken from the team's channel
                take_over(turn, actor, AssignedBy.TAKE_OVER)
                handoff.agent_id = actor.id
            _accept(turn, handoff, actor)
            turn.trace.append(f"accepted by {actor.id}")
            return turn
        if action.kind == DeskActionKind.REASSIGN:
            team = conversation.team
            if team is None:
                return refuse("This conversation has no team to reassign it within.")
            other = await self._other_agent(tx, team, conversation.assignee)
            if other is None:
                return refuse(f"Nobody else in {team} is online with room for it.")
            turn.desk_lines.append(
                DeskLine(NoticeKind.OUTCOME, f"Reassigned to {other.name} by {by}")
            )
            assign(turn, other, f"reassigned by {by}", AssignedBy.REASSIGN)
            turn.trace.append(f"reassigned to {other.id} by {action.actor}")
            return turn
        # CLOSE
        await self._close(turn, by=by, actor=action.actor)
        return turn

    @staticmethod
    async def _actor(turn: Turn, agent_id: str | None) -> Agent | None:
        """The agent who acted; most often the assignee, whom the turn has loaded already."""
        if agent_id is None:
            return None
        if turn.agent is not None and turn.agent.id == agent_id:
            return turn.agent
        return await turn.tx.get_agent(agent_id)

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
        turn.trace.append(f"reply by {action.actor}")
        gone = turn.contact.unreachable_since
        if gone is not None:  # not sent at all: the platform refuses them messages
            reason = f"their platform has refused messages since {gone:%Y-%m-%d %H:%M} UTC"
            reply_id = turn.transcript[-1].message_id
            turn.desk_lines.append(undelivered(author, text, reply_id, _customer(turn), reason))
        if from_assignee and handoff is not None and handoff.accepted_by is None:
            _accept(turn, handoff, actor)
        return turn

    async def _hand_back(self, turn: Turn, actor: Agent | None) -> Turn | None:
        """The agent went away: the conversation goes back to its team, to an online member
        when there is one, else to the team's queue."""
        conversation = turn.conversation
        if actor is None or conversation.assignee != actor.id:
            return None  # it moved on meanwhile
        team = conversation.team
        other = await self._other_agent(turn.tx, team, actor.id) if team else None
        if other is not None:
            turn.desk_lines.append(
                DeskLine(NoticeKind.OUTCOME, f"Handed back by {actor.name}, to {other.name}")
            )
            assign(turn, other, f"handed back by {actor.name}", AssignedBy.HAND_BACK)
        else:
            unassign(turn, by=f"{actor.name}, back to the {team or 'team'} queue")
            if team is not None:
                queue(turn, team)
        turn.trace.append(f"handed back by {actor.id}")
        return turn

    async def _close(self, turn: Turn, by: str, actor: str) -> None:
        """Close the conversation (the desk shows it closed `by`) and start its
        conversation_closed workflow, if there is one."""
        close(turn, by=by)
        turn.trace.append(f"closed by {actor}")
        self._start(turn, "conversation_closed")
        await self._run(turn)

    async def _timer(self, tx: Transaction, timer: Timer) -> Turn | None:
        match timer.purpose:
            case "run":
                return await self._run_timer(tx, timer)
            case "accept":
                return await self._accept_timed_out(tx, timer)
            case _:
                assert_never(timer.purpose)

    async def _accept_timed_out(self, tx: Transaction, timer: Timer) -> Turn | None:
        """The agent neither accepted the handoff nor answered in time: the team's next
        online agent with room gets the conversation (and the timer again); with nobody else,
        it stays, and no new timer is armed."""
        conversation = await tx.load_conversation(timer.conversation_id)
        handoff = conversation.handoff if conversation else None
        if (
            conversation is None
            or handoff is None
            or handoff.accept_timer != timer.id
            or handoff.accepted_by is not None
            or conversation.status != ConversationStatus.OPEN
            or conversation.assignee != handoff.agent_id
            or conversation.team is None
        ):
            return None  # accepted, answered, moved on or closed meanwhile
        other = await self._other_agent(tx, conversation.team, handoff.agent_id)
        if other is None:
            log.info(
                "not accepted in time, nobody else to take it: conversation=%s agent=%s",
                conversation.id,
                handoff.agent_id,
            )
            return None
        turn = await self._turn_of(tx, conversation)
        silent = turn.agent.name if turn.agent else handoff.agent_id
        seconds = handoff.accept_within
        turn.desk_lines.append(
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
        turn.trace.append(f"moved from {handoff.agent_id} to {other.id}: not accepted in time")
        return turn

    async def _run_timer(self, tx: Transaction, timer: Timer) -> Turn | None:
        conversation = await tx.load_conversation(timer.conversation_id)
        run = conversation.run if conversation else None
        if conversation is None or run is None or run.waiting is None:
            return None
        if run.waiting.timer_id != timer.id:
            return None  # a timer the run no longer waits on (answered, closed, moved on)
        turn = await self._turn_of(tx, conversation)
        if run.waiting.kind == "timer":
            run.waiting = None
            run.pc += 1
        else:
            instruction = await self._instruction(tx, run)
            match run.waiting.kind, instruction.step:
                case "answer", AskQuestionStep() as step:
                    timed_out(step, instruction, turn)
                case "assignment", AssignStep() as step:
                    assignment_timed_out(step, instruction, turn)
                case "http", HttpRequestStep() as step:
                    request_lost(step, instruction, turn)
                case kind, step:
                    raise AssertionError(f"a {kind} timer at {step!r}")
        await self._run(turn)
        return turn

    async def _instruction(self, tx: Transaction, run: Run) -> Instruction:
        """The instruction the run is at."""
        return (await self._program(tx, run)).code[run.pc]

    async def _program(self, tx: Transaction, run: Run) -> Program:
        program = self._programs.get(run.workflow_hash)
        if program is None:
            body = await tx.load_workflow_version(run.workflow_hash)
            if body is None:
                raise LookupError(f"workflow version {run.workflow_hash} is not stored")
            program = compile_workflow(workflow_from_snapshot(body))
            self._programs[run.workflow_hash] = program
        return program

    # running ----------------------------------------------------------------------------

    def _start(self, turn: Turn, trigger: str) -> bool:
        channel = turn.conversation.channel
        for workflow in self._workflows:
            if workflow.trigger == trigger and (
                workflow.channels is None or channel in workflow.channels
            ):
                turn.conversation.run = Run(
                    workflow=workflow.name, workflow_hash=workflow.content_hash, trigger=trigger
                )
                turn.trace.append(f"start {workflow.name} ({trigger})")
                return True
        turn.conversation.run = None
        return False

    async def _continue(
        self,
        turn: Turn,
        text: str | None,
        option_id: str | None,
        shared_phone: str | None = None,
    ) -> None:
        run = turn.conversation.run
        if run is None:
            return
        if run.waiting is not None:
            if run.waiting.kind != "answer":
                return  # waiting on a timer: the message is in the transcript, nothing more
            instruction = await self._instruction(turn.tx, run)
            assert isinstance(instruction.step, AskQuestionStep)
            answer(instruction.step, instruction, turn, text, option_id, shared_phone)
        await self._run(turn)

    async def _run(self, turn: Turn) -> None:
        for _ in range(MAX_INSTRUCTIONS):
            run = turn.conversation.run
            if run is None or run.waiting is not None:
                return
            program = await self._program(turn.tx, run)
            if run.pc >= len(program.code):
                turn.trace.append(f"end {run.workflow}")
                turn.conversation.run = None
                return
            try:
                await execute(program.code[run.pc], program, turn)
            except RunEnded:
                turn.trace.append(f"end {run.workflow}")
                if run.trigger == "conversation_closed":
                    turn.conversation.run = None
                else:
                    self._start(turn, "conversation_closed")  # no run if no workflow answers it
        log.error(
            "run stopped after %d steps in one turn: conversation=%s",
            MAX_INSTRUCTIONS,
            turn.conversation.id,
        )
        turn.conversation.run = None

    # saving -----------------------------------------------------------------------------

    async def _save(self, turn: Turn) -> None:
        tx = turn.tx
        if self._desk is not None:
            turn.outbound.extend(await desk_messages(turn, self._desk))
        if turn.contact_changed:
            await tx.save_contact(turn.contact)
        turn.conversation.version += 1
        await tx.save_conversation(turn.conversation)
        if turn.transcript:
            await tx.add_transcript(turn.transcript)
        if history := history_of(turn.events):
            await tx.add_history(turn.conversation.id, history)
        if turn.outbound:
            await tx.enqueue(turn.outbound, turn.now)
        for timer_id in turn.dropped_timers:
            await tx.delete_timer(timer_id)
        for timer in turn.timers:
            await tx.schedule_timer(timer)

    def _committed(self, turn: Turn) -> TurnReport:
        conversation = turn.conversation
        report = TurnReport(
            conversation.id,
            turn.trace,
            len(turn.outbound),
            turn.freed,
            turn.calls,
            channel=conversation.channel,
            contact_key=conversation_key(conversation.channel, turn.contact.external_id),
            events=turn.events,
        )
        if self._on_commit is not None:
            self._on_commit(report, turn.timers)
        return report


def _accept(turn: Turn, handoff: Handoff, actor: Agent) -> None:
    handoff.accepted_by = actor.id
    handoff.accepted_at = turn.now
    if handoff.accept_timer is not None:
        turn.dropped_timers.append(handoff.accept_timer)
        handoff.accept_timer = None
    turn.desk_lines.append(DeskLine(NoticeKind.OUTCOME, f"Accepted by {actor.name}"))
    turn.events.append(ConversationAccepted(at=turn.now, agent_id=actor.id))


def _customer(turn: Turn) -> str:
    """The customer as the desk names them."""
    return turn.contact.name or turn.contact.username or "the customer"


def _relayed(event: Inbound) -> str:
    """What the agent's desk shows of a customer's message."""
    parts = [event.text or ""]
    if event.option_id and not event.text:
        parts.append(f"(chose {event.option_id})")
    if event.attachment:
        parts.append(f"[{event.attachment.kind}]")
    return " ".join(p for p in parts if p) or "(an empty message)"


def _new(contact: Contact, now: datetime) -> Conversation:
    return Conversation(
        id=uuid.uuid4().hex,
        contact_id=contact.id,
        channel=contact.channel,
        status=ConversationStatus.OPEN,
        opened_at=now,
    )


PROFILE_FIELDS = ("name", "username", "language", "email", "phone")


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
