"""What each step does when a run reaches it.

A step reads the turn, decides, and records its effects on the turn (messages to send,
timers, fields to change). Nothing here talks to the outside world: the engine commits the
turn, and the outbox and timer workers carry the effects out.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from core.answers import choose
from core.conditions import Facts, case_matches
from core.models import (
    AgentStatus,
    ConversationStatus,
    Option,
    Timer,
    Waiting,
    conversation_key,
)
from core.program import Instruction, Program
from core.templating import TemplateRenderError, render
from core.turn import Turn
from core.workflow import (
    AskQuestionStep,
    AssignStep,
    BranchStep,
    CloseConversationStep,
    JumpStep,
    SendMessageStep,
    WaitStep,
)

log = logging.getLogger("frontdesk.engine")


class RunEnded(Exception):
    """The run stopped on purpose (the conversation was closed)."""


def _say(turn: Turn, text: str, options: list[Option], step_id: str) -> None:
    try:
        rendered = render(text, turn.template_context())
    except TemplateRenderError as exc:
        # A message that cannot be rendered is not sent half-made; the run goes on.
        log.error(
            "template failed: conversation=%s step=%s error=%s", turn.conversation.id, step_id, exc
        )
        return
    if rendered.strip():
        turn.say(rendered, options, step_id)


def _options(step: AskQuestionStep) -> list[Option]:
    return [Option(id=o.id, label=o.label) for o in step.options]


async def execute(instruction: Instruction, program: Program, turn: Turn) -> None:
    """Run one instruction: move `run.pc` on, or leave the run waiting."""
    run = turn.conversation.run
    assert run is not None
    step = instruction.step
    if step is None:
        assert instruction.goto is not None
        run.pc = instruction.goto
        return
    turn.trace.append(f"{step.id} ({step.type})")
    match step:
        case SendMessageStep():
            _say(turn, step.text, [], step.id)
            run.pc += 1
        case AskQuestionStep():
            options = _options(step)
            _say(turn, step.text, options, step.id)
            run.waiting = Waiting(kind="answer", step_id=step.id, options=options)
        case BranchStep():
            facts = Facts(turn.contact, turn.conversation, run.vars, run.last_answer)
            run.pc = next(
                (
                    start
                    for case, start in zip(step.branches, instruction.cases, strict=True)
                    if case_matches(case, facts)
                ),
                instruction.otherwise if instruction.otherwise is not None else run.pc + 1,
            )
        case AssignStep():
            await _assign(step, instruction, turn)
        case JumpStep():
            taken = run.jumps.get(step.id, 0)
            if taken < step.max:
                run.jumps[step.id] = taken + 1
                run.pc = program.index[step.to]
            else:
                run.pc += 1
        case CloseConversationStep():
            close(turn)
            raise RunEnded
        case WaitStep():
            timer = Timer(
                id=turn.next_id(),
                conversation_id=turn.conversation.id,
                key=_key(turn),
                due_at=turn.now + timedelta(seconds=step.seconds),
            )
            turn.timers.append(timer)
            run.waiting = Waiting(kind="timer", step_id=step.id, timer_id=timer.id)


def _key(turn: Turn) -> str:
    return conversation_key(turn.conversation.channel, turn.contact.external_id)


async def _assign(step: AssignStep, instruction: Instruction, turn: Turn) -> None:
    run = turn.conversation.run
    assert run is not None
    agent = None
    if step.agent is not None:
        candidate = await turn.tx.get_agent(step.agent)
        if candidate is not None and (
            not step.only_online or candidate.status == AgentStatus.ONLINE
        ):
            full = candidate.capacity is not None and (
                await turn.tx.count_open_assigned(candidate.id) >= candidate.capacity
            )
            agent = None if full else candidate
    else:
        assert step.team is not None
        agent = await turn.tx.pick_round_robin(step.team, only_online=step.only_online)
    if step.team is not None:
        turn.conversation.team = step.team
    if agent is None:
        log.info(
            "nobody available: conversation=%s step=%s team=%s agent=%s",
            turn.conversation.id,
            step.id,
            step.team,
            step.agent,
        )
        run.pc = instruction.alt if instruction.alt is not None else run.pc + 1
        return
    turn.conversation.assignee = agent.id
    turn.conversation.assigned_at = turn.now
    turn.agent = agent
    run.pc += 1


def close(turn: Turn) -> None:
    conversation = turn.conversation
    if conversation.status == ConversationStatus.CLOSED:
        return
    conversation.status = ConversationStatus.CLOSED
    conversation.closed_at = turn.now
    run = conversation.run
    if run is not None and run.waiting is not None and run.waiting.timer_id is not None:
        turn.dropped_timers.append(run.waiting.timer_id)


def answer(
    step: AskQuestionStep,
    instruction: Instruction,
    turn: Turn,
    text: str | None,
    option_id: str | None,
) -> None:
    """Take the customer's reply to the question the run waits on."""
    run = turn.conversation.run
    assert run is not None
    assert run.waiting is not None
    value: Any
    if step.answer == "multiple_choice":
        chosen = choose(run.waiting.options, text, option_id)
        value = chosen.id if chosen is not None else None
    else:
        value = text.strip() if text is not None and text.strip() else None
    if value is None:
        attempts = run.waiting.attempts + 1
        if attempts >= step.max_attempts:
            run.waiting = None
            turn.trace.append(f"{step.id} (no valid answer after {attempts} attempts)")
            run.pc = instruction.alt if instruction.alt is not None else run.pc + 1
            return
        run.waiting = run.waiting.model_copy(update={"attempts": attempts})
        _say(turn, step.retry_message, run.waiting.options, step.id)
        return
    run.waiting = None
    run.last_answer = value
    if step.save_to is not None:
        save(turn, step.save_to, value)
    run.pc += 1


def save(turn: Turn, path: str, value: Any) -> None:
    run = turn.conversation.run
    assert run is not None
    parts = path.split(".")
    if parts[0] == "vars":
        run.vars[parts[1]] = value
        return
    contact = turn.contact
    if parts[1] == "fields":
        contact.fields = {**contact.fields, parts[2]: value}
    else:
        setattr(contact, parts[1], None if value is None else str(value))
    turn.contact_changed = True
