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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, assert_never

from core.addresses import DeskAddresses
from core.arrival import arrived, new_conversation, relayed
from core.callouts import request_done, request_lost
from core.desk import DeskRules, desk_messages
from core.desk_actions import (
    DeskActions,
    HandAssignment,
    accept_overdue,
    accept_timed_out,
    unassign_by_hand,
)
from core.errors import ConcurrentUpdate
from core.events import (
    ConversationOpened,
)
from core.history import history_of
from core.models import (
    Contact,
    ContactProfile,
    Conversation,
    ConversationStatus,
    DeskAction,
    HttpResult,
    Outbound,
    Run,
    StoredInbound,
    Timer,
)
from core.offers import Offer, offer_to, still_queued
from core.ports import Clock, Store, Transaction
from core.program import Instruction, Program, compile_workflow, waiting_at
from core.schedules import Schedule
from core.step_types import AskQuestionStep, AssignStep, HttpRequestStep
from core.steps import (
    RunEnded,
    answer,
    assignment_timed_out,
    close,
    execute,
    timed_out,
)
from core.turn import Turn, TurnReport
from core.workflow import Workflow, snapshot, workflow_from_snapshot

log = logging.getLogger("frontdesk.engine")

# A run executes at most this many instructions per event; jumps are bounded, so only a
# pathological workflow gets here, and it must not hold a conversation forever.
MAX_INSTRUCTIONS = 10_000
MAX_CONFLICT_RETRIES = 5

T = TypeVar("T")


class Engine:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        workflows: Sequence[Workflow],
        on_commit: Callable[[TurnReport, list[Timer]], None] | None = None,
        schedules: Mapping[str, Schedule] | None = None,
        settings: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        desk: DeskRules | None = None,
        addresses: DeskAddresses | None = None,
    ) -> None:
        self._store = store
        self._desk = desk
        self.addresses = addresses if addresses is not None else DeskAddresses()
        self._schedules = dict(schedules or {})
        self._settings = dict(settings or {})
        self._secrets = dict(secrets or {})
        self._clock = clock
        self._workflows = list(workflows)
        self._programs: dict[str, Program] = {}
        self._on_commit = on_commit
        self._actions = DeskActions(
            desk=desk, resume=self._instruction, carry_on=self._run, close=self._close
        )
        for workflow in self._workflows:
            program = compile_workflow(workflow)
            self._programs[program.workflow_hash] = program

    async def prepare(self) -> None:
        """Keep every current workflow version in the store, so that a run started on it can
        finish after the file changes and the process restarts."""
        await self._keep_versions(self._workflows)

    async def _keep_versions(self, workflows: Sequence[Workflow]) -> None:
        async with self._store.transaction() as tx:
            for workflow in workflows:
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
        await self._keep_versions(workflows)
        self._programs.update(programs)
        self._workflows = list(workflows)
        self._schedules = dict(schedules)
        self._settings = dict(settings)
        self._secrets = dict(secrets)

    # events -----------------------------------------------------------------------------

    async def process_inbound(self, item: StoredInbound) -> TurnReport | None:
        event = item.event
        tries = 0

        async def work(tx: Transaction) -> tuple[None, Turn | None]:
            nonlocal tries
            tries += 1
            # Marking the event processed changes its row or fails the commit, so a turn
            # for an event processed already (handed over again by a read of the store made
            # before the other turn committed) conflicts; run again, it finds so and stops.
            if tries > 1 and await self._store.inbound_processed(item.id):
                log.info("processed already, not run again: inbound=%s", item.id)
                return None, None
            if event.action is not None:
                action_turn = await self._action(tx, event.action, event.text)
                await tx.mark_processed(item.id, self._clock.now())
                return None, action_turn
            turn = await self._inbound(tx, event.channel, event.contact)
            turn.record_in(event.text, event.option_id, event.attachment)
            if turn.conversation.handoff is not None:
                turn.effects.relayed.append(relayed(event))
            await self._continue(turn, event.text, event.option_id, event.shared_phone)
            await tx.mark_processed(item.id, turn.now)
            return None, turn

        _, report = await self._retrying(f"inbound={item.id} key={event.conversation_key}", work)
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
        instruction = await self._instruction(turn)
        assert isinstance(instruction.step, HttpRequestStep)
        request_done(instruction.step, instruction, turn, result)
        await self._run(turn)
        return turn

    async def _turn_of(self, tx: Transaction, conversation: Conversation) -> Turn:
        """A turn of a stored conversation, with its contact and its agent loaded."""
        contact = await tx.load_contact(conversation.contact_id)
        assert contact is not None
        turn = self._turn(tx, self._clock.now(), contact, conversation)
        if conversation.assignee is not None:
            turn.agent = await tx.load_agent(conversation.assignee)
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
            await self._close(turn, "an agent", "an agent")
            return True, turn

        closed, _ = await self._retrying(f"closing conversation={conversation_id}", work)
        return closed

    async def unassign_by_hand(self, conversation_id: str) -> bool | None:
        """Take an open conversation away from its agent (see `desk_actions`). None: no such
        conversation; False: it is closed or has nobody assigned."""

        async def work(tx: Transaction) -> tuple[bool | None, Turn | None]:
            conversation = await tx.load_conversation(conversation_id)
            if conversation is None:
                return None, None
            if conversation.status != ConversationStatus.OPEN or conversation.assignee is None:
                return False, None
            turn = await self._turn_of(tx, conversation)
            unassign_by_hand(turn)
            return True, turn

        done, _ = await self._retrying(f"unassigning conversation={conversation_id}", work)
        return done

    async def undelivered(self, message: Outbound, error: str) -> None:
        """An agent's reply did not reach the customer and will not: the desk is told in the
        conversation's notice thread, through the outbox like every desk message."""

        async def work(tx: Transaction) -> tuple[None, Turn | None]:
            conversation = await tx.load_conversation(message.conversation_id)
            if conversation is None:
                return None, None
            turn = await self._turn_of(tx, conversation)
            return None, turn if self._actions.undelivered(turn, message, error) else None

        await self._retrying(f"undelivered message={message.message_id}", work)

    async def offer(self, conversation_id: str, agent_id: str) -> Offer:
        """Give a queued conversation to an agent who has a free slot, and let a run that
        waits for the assignment carry on."""

        async def work(tx: Transaction) -> tuple[Offer, Turn | None]:
            conversation = await tx.load_conversation(conversation_id)
            if conversation is None:
                return Offer.NOT_WAITING, None
            if not still_queued(conversation):
                return Offer.NOT_WAITING, None
            turn = await self._turn_of(tx, conversation)
            outcome = await offer_to(turn, agent_id)
            if outcome != Offer.ASSIGNED:
                return outcome, None
            await self._actions.assignment_made(turn)
            return outcome, turn

        outcome, _ = await self._retrying(f"offering conversation={conversation_id}", work)
        return outcome

    async def assign_by_hand(self, conversation_id: str, agent_id: str) -> HandAssignment:
        """Give an open conversation to the agent a person chose (see `desk_actions`)."""

        async def work(tx: Transaction) -> tuple[HandAssignment, Turn | None]:
            conversation = await tx.load_conversation(conversation_id)
            if conversation is None:
                return HandAssignment.NO_CONVERSATION, None
            if conversation.status != ConversationStatus.OPEN:
                return HandAssignment.CLOSED, None
            agent = await tx.load_agent(agent_id)
            if agent is None:
                return HandAssignment.NO_AGENT, None
            turn = await self._turn_of(tx, conversation)
            await self._actions.assign_by_hand(turn, agent)
            return HandAssignment.ASSIGNED, turn

        outcome, _ = await self._retrying(f"assigning conversation={conversation_id}", work)
        return outcome

    # loading ----------------------------------------------------------------------------

    async def _inbound(self, tx: Transaction, channel: str, profile: ContactProfile) -> Turn:
        now = self._clock.now()
        contact, conversation = await tx.load_contact_and_open_conversation(
            channel, profile.external_id
        )
        contact, changed = arrived(contact, channel, profile, now)
        turn = self._turn(tx, now, contact, conversation or new_conversation(contact, now))
        turn.contact_changed = changed
        if conversation is None:
            turn.effects.events.append(ConversationOpened(at=now))
            self._start(turn, "conversation_opened")
        elif conversation.assignee is not None:
            turn.agent = await tx.load_agent(conversation.assignee)
            await self._actions.follow_agent(turn)
        return turn

    async def _action(self, tx: Transaction, action: DeskAction, text: str | None) -> Turn | None:
        conversation = await tx.load_conversation(action.conversation_id)
        if conversation is None:
            return None
        return await self._actions.act(await self._turn_of(tx, conversation), action, text)

    async def _close(self, turn: Turn, by: str, actor: str) -> None:
        """Close the conversation (the desk shows it closed `by`) and start its
        conversation_closed workflow, if there is one."""
        close(turn, by=by)
        turn.effects.trace.append(f"closed by {actor}")
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
        conversation = await tx.load_conversation(timer.conversation_id)
        if conversation is None or not accept_overdue(conversation, timer):
            return None  # accepted, answered, moved on or closed meanwhile
        turn = await self._turn_of(tx, conversation)
        return turn if await accept_timed_out(turn) else None

    async def _run_timer(self, tx: Transaction, timer: Timer) -> Turn | None:
        conversation = await tx.load_conversation(timer.conversation_id)
        run = conversation.run if conversation else None
        if conversation is None or run is None or run.waiting is None:
            return None
        if run.waiting.timer_id != timer.id:
            return None  # a timer the run no longer waits on (answered, closed, moved on)
        turn = await self._turn_of(tx, conversation)
        instruction = await self._instruction(turn)
        if run.waiting.kind == "timer":
            run.waiting = None
            run.pc += 1
        else:
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

    async def _instruction(self, turn: Turn) -> Instruction:
        """The instruction of the step the run waits at (see `waiting_at`)."""
        run = turn.conversation.run
        assert run is not None
        return waiting_at(await self._program(turn.tx, run), turn.conversation)

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
                turn.effects.trace.append(f"start {workflow.name} ({trigger})")
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
            instruction = await self._instruction(turn)
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
                turn.effects.trace.append(f"end {run.workflow}")
                turn.conversation.run = None
                return
            try:
                await execute(program.code[run.pc], program, turn)
            except RunEnded:
                turn.effects.trace.append(f"end {run.workflow}")
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
            turn.effects.outbound.extend(await desk_messages(turn, self._desk, self.addresses))
        if turn.contact_changed:
            await tx.save_contact(turn.contact)
        turn.conversation.version += 1
        await tx.save_conversation(turn.conversation)
        if turn.effects.transcript:
            await tx.add_transcript(turn.effects.transcript)
        if history := history_of(turn.effects.events):
            await tx.add_history(turn.conversation.id, history)
        if turn.effects.outbound:
            await tx.enqueue(turn.effects.outbound, turn.now)
        for timer_id in turn.effects.dropped_timers:
            await tx.delete_timer(timer_id)
        for timer in turn.effects.timers:
            await tx.schedule_timer(timer)

    def _committed(self, turn: Turn) -> TurnReport:
        conversation = turn.conversation
        report = TurnReport(
            conversation.id,
            turn.effects.trace,
            len(turn.effects.outbound),
            turn.effects.freed,
            turn.effects.calls,
            channel=conversation.channel,
            conversation_key=turn.conversation_key,
            events=turn.effects.events,
        )
        if self._on_commit is not None:
            self._on_commit(report, turn.effects.timers)
        return report
