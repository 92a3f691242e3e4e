"""What each step does when a run reaches it.

A step reads the turn, decides, and records its effects on the turn (messages to send,
timers, fields to change). Nothing here talks to the outside world: the engine commits the
turn, and the outbox and timer workers carry the effects out.
"""

from __future__ import annotations

import logging
from typing import Any, assert_never

from core.agents import Agent
from core.answers import (
    Parsed,
    choose,
    parse_date,
    parse_email,
    parse_number,
    parse_phone,
)
from core.assignment import Rules, can_take, choose_agent
from core.callouts import request
from core.conditions import Facts, case_matches
from core.desk import DeskLine, HandoffRequest
from core.events import (
    AssignedBy,
    ConversationAssigned,
    ConversationClosed,
    ConversationQueued,
    ConversationUnassigned,
    StepRan,
)
from core.field_paths import FieldPath
from core.models import AnswerType, ConversationStatus, NoticeKind, Option, Waiting
from core.ports import Transaction
from core.program import Instruction, Program
from core.step_types import (
    AskQuestionStep,
    AssignStep,
    BranchStep,
    CloseConversationStep,
    HttpRequestStep,
    JumpStep,
    SendMessageStep,
    UnassignStep,
    UpdateContactStep,
    WaitStep,
)
from core.templating import TemplateRenderError, render
from core.turn import Turn

log = logging.getLogger("frontdesk.engine")


class RunEnded(Exception):
    """The run stopped on purpose (the conversation was closed)."""


def _say(
    turn: Turn,
    text: str,
    options: list[Option],
    step_id: str | None,
    answer: AnswerType | None = None,
) -> None:
    try:
        rendered = render(text, turn.template_context())
    except TemplateRenderError as exc:
        # A message that cannot be rendered is not sent half-made; the run goes on.
        log.error(
            "template failed: conversation=%s step=%s error=%s", turn.conversation.id, step_id, exc
        )
        return
    if rendered.strip():
        turn.say(rendered, options, step_id, answer=answer)


def _options(step: AskQuestionStep, turn: Turn) -> list[Option]:
    """The step's options, each label rendered as a template (as written if it fails)."""
    options = []
    for o in step.options:
        try:
            label = render(o.label, turn.template_context()) if "{" in o.label else o.label
        except TemplateRenderError:
            label = o.label
        options.append(Option(id=o.id, label=label.strip() or o.label))
    return options


async def execute(instruction: Instruction, program: Program, turn: Turn) -> None:
    """Run one instruction: move `run.pc` on, or leave the run waiting."""
    run = turn.conversation.run
    assert run is not None
    step = instruction.step
    if step is None:
        assert instruction.goto is not None
        run.pc = instruction.goto
        return
    turn.effects.trace.append(f"{step.id} ({step.type})")
    turn.effects.events.append(
        StepRan(at=turn.now, workflow=run.workflow, step_id=step.id, step_type=step.type)
    )
    match step:
        case SendMessageStep():
            _say(turn, _in_language(step, turn.contact.language), [], step.id)
            run.pc += 1
        case AskQuestionStep():
            options = _options(step, turn)
            _say(turn, step.text, options, step.id, step.answer)
            timer_id = None
            if step.timeout_seconds is not None:
                timer_id = turn.schedule(step.timeout_seconds)
            run.waiting = Waiting(
                kind="answer", step_id=step.id, options=options, timer_id=timer_id
            )
        case UpdateContactStep():
            _update_contact(step, turn)
            run.pc += 1
        case UnassignStep():
            unassign(turn)
            run.pc += 1
        case HttpRequestStep():
            request(step, instruction, turn, attempt=1)
        case BranchStep():
            facts = Facts(
                turn.contact,
                turn.conversation,
                run.vars,
                run.last_answer,
                turn.now,
                turn.schedules,
            )
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
            timer_id = turn.schedule(step.seconds)
            run.waiting = Waiting(kind="timer", step_id=step.id, timer_id=timer_id)
        case _:
            assert_never(step)


def _in_language(step: SendMessageStep, language: str | None) -> str:
    """The variant for the contact's language: exact tag first, then its primary language."""
    if not language or not step.translations:
        return step.text
    wanted = language.lower()
    variants = {tag.lower(): text for tag, text in step.translations.items()}
    return variants.get(wanted) or variants.get(wanted.split("-")[0]) or step.text


def _update_contact(step: UpdateContactStep, turn: Turn) -> None:
    for path, template in step.set.items():
        try:
            value = render(template, turn.template_context())
        except TemplateRenderError as exc:
            log.error(
                "template failed: conversation=%s step=%s error=%s",
                turn.conversation.id,
                step.id,
                exc,
            )
            continue
        save(turn, path, value if value != "" else None)
    for path in step.clear:
        save(turn, path, None)
    tags = [t for t in turn.contact.tags if t not in step.remove_tags]
    tags += [t for t in step.add_tags if t not in tags]
    if tags != turn.contact.tags:
        turn.contact.tags = tags
        turn.contact_changed = True


async def _assign(step: AssignStep, instruction: Instruction, turn: Turn) -> None:
    run = turn.conversation.run
    assert run is not None
    agent = None
    if step.agent is not None:
        facts = await turn.tx.agent_facts(step.agent)
        if facts is not None and can_take(
            facts, only_online=step.only_online, max_open=step.max_open
        ):
            agent = facts.agent
    else:
        assert step.team is not None
        rules = Rules(step.strategy, only_online=step.only_online, max_open=step.max_open)
        agent = await pick_agent(turn.tx, step.team, rules)
    conversation = turn.conversation
    if step.team is not None:
        conversation.team = step.team
    conversation.assigned_message = step.assigned_message
    if agent is not None:
        strategy = "agent" if step.agent is not None else step.strategy
        assign(
            turn,
            agent,
            f"assigned by the workflow {run.workflow}",
            AssignedBy.WORKFLOW,
            strategy=strategy,
            accept_within=step.accept_timeout_seconds,
        )
        run.pc += 1
        return
    log.info(
        "nobody available: conversation=%s step=%s team=%s agent=%s",
        conversation.id,
        step.id,
        step.team,
        step.agent,
    )
    if step.agent is not None and step.when_unavailable and step.timeout_seconds is None:
        run.pc = instruction.blocks["when_unavailable"]
        return
    # A named agent who cannot take it now gets it when they can (see `core.offers`).
    queue(turn, step.team, limit=step.max_open, agent=step.agent)
    if step.timeout_seconds is not None:
        timer_id = turn.schedule(step.timeout_seconds)
        run.waiting = Waiting(kind="assignment", step_id=step.id, timer_id=timer_id)
        return
    run.pc = instruction.blocks.get("when_unavailable", run.pc + 1)


async def pick_agent(tx: Transaction, team: str, rules: Rules) -> Agent | None:
    """The team's member `rules` choose (see `core.assignment.choose_agent`), the team's cursor
    moved on to them in the same transaction; None when nobody is eligible."""
    choice = choose_agent(await tx.team_facts(team), rules)
    if choice is None:
        return None
    await tx.advance_cursor(team, choice.cursor)
    return choice.agent


def assign(
    turn: Turn,
    agent: Agent,
    reason: str,
    by: AssignedBy,
    *,
    strategy: str | None = None,
    accept_within: int | None = None,
) -> None:
    """Give the conversation to `agent`; they get a handoff notice saying `reason`, to accept
    within `accept_within` seconds (None: the team's setting, if any)."""
    take_over(turn, agent, by, strategy=strategy)
    run = turn.conversation.run
    answers = dict(run.vars) if run else {}
    turn.effects.handoffs.append(
        HandoffRequest(agent, reason, answers, accept_within=accept_within)
    )


def take_over(turn: Turn, agent: Agent, by: AssignedBy, *, strategy: str | None = None) -> None:
    """Make `agent` the assignee, with no new handoff notice (they took it from one)."""
    conversation = turn.conversation
    previous = conversation.assignee
    if previous is not None and previous != agent.id:
        turn.effects.freed.append(previous)
    turn.effects.events.append(
        ConversationAssigned(
            at=turn.now,
            agent_id=agent.id,
            team=conversation.team,
            by=by,
            strategy=strategy,
            previous=previous if previous != agent.id else None,
        )
    )
    conversation.assignee = agent.id
    conversation.assigned_at = turn.now
    conversation.queued_at = None
    conversation.queue_limit = None
    conversation.queued_for = None
    turn.agent = agent
    if previous != agent.id and conversation.assigned_message is not None:
        # Whoever takes it, and however (at once, from the queue, from another agent), the
        # customer hears who helps them now.
        _say(turn, conversation.assigned_message, [], step_id=None)


def queue(
    turn: Turn, team: str | None, *, limit: int | None = None, agent: str | None = None
) -> None:
    """The conversation waits in `team`'s queue (or for `agent` alone) for an agent with a
    free slot and fewer than `limit` open conversations. Queued already, it keeps its place
    and takes the new limit and agent."""
    conversation = turn.conversation
    conversation.queue_limit = limit
    conversation.queued_for = agent
    if conversation.queued_at is None:
        conversation.queued_at = turn.now
        turn.effects.events.append(ConversationQueued(at=turn.now, team=team or "", agent=agent))


def unassign(turn: Turn, by: str = "the workflow") -> None:
    conversation = turn.conversation
    if conversation.assignee is not None:
        turn.effects.freed.append(conversation.assignee)
        turn.effects.events.append(
            ConversationUnassigned(at=turn.now, agent_id=conversation.assignee, by=by)
        )
        turn.effects.desk_lines.append(DeskLine(NoticeKind.OUTCOME, f"Unassigned by {by}"))
    conversation.assignee = None
    conversation.assigned_at = None
    turn.agent = None


def assignment_timed_out(step: AssignStep, instruction: Instruction, turn: Turn) -> None:
    """Still unassigned after the step's timeout: take the timeout steps (or carry on)."""
    run = turn.conversation.run
    assert run is not None
    run.waiting = None
    turn.effects.trace.append(f"{step.id} (unassigned after {step.timeout_seconds}s)")
    run.pc = instruction.blocks.get("on_timeout", run.pc + 1)


def close(turn: Turn, by: str = "the workflow") -> None:
    conversation = turn.conversation
    if conversation.status == ConversationStatus.CLOSED:
        return
    turn.effects.desk_lines.append(DeskLine(NoticeKind.OUTCOME, f"Closed by {by}"))
    conversation.status = ConversationStatus.CLOSED
    conversation.closed_at = turn.now
    turn.effects.events.append(ConversationClosed(at=turn.now, by=by))
    conversation.queued_at = None
    conversation.queue_limit = None
    conversation.queued_for = None
    if conversation.assignee is not None:
        turn.effects.freed.append(conversation.assignee)  # a slot opens for the team's queue
    run = conversation.run
    if run is not None and run.waiting is not None and run.waiting.timer_id is not None:
        turn.effects.dropped_timers.append(run.waiting.timer_id)


def answer(
    step: AskQuestionStep,
    instruction: Instruction,
    turn: Turn,
    text: str | None,
    option_id: str | None,
    shared_phone: str | None = None,
) -> None:
    """Take the customer's reply to the question the run waits on; `shared_phone` is a
    number they shared as their own (see `Inbound.shared_phone`)."""
    run = turn.conversation.run
    assert run is not None
    assert run.waiting is not None
    if step.answer == "phone" and shared_phone is not None and not (text and text.strip()):
        text = shared_phone
    parsed = _parse(step, run.waiting.options, text, option_id)
    if parsed is None:
        attempts = run.waiting.attempts + 1
        if attempts >= step.max_attempts:
            turn.stop_waiting()
            turn.effects.trace.append(f"{step.id} (no valid answer after {attempts} attempts)")
            run.pc = instruction.blocks.get("on_failure", run.pc + 1)
            return
        run.waiting = run.waiting.model_copy(update={"attempts": attempts})
        _say(turn, step.retry_text, run.waiting.options, step.id, step.answer)
        return
    turn.stop_waiting()
    if step.answer == "multiple_choice":
        turn.chose(parsed.value)
    run.last_answer = parsed.value
    for name, value in parsed.contact.items():
        save(turn, FieldPath("contact", name), value)
    if step.save_to is not None:
        save(turn, step.save_to, parsed.value)
    run.pc += 1


def timed_out(step: AskQuestionStep, instruction: Instruction, turn: Turn) -> None:
    """Nobody answered in time: take the timeout steps (or carry on)."""
    run = turn.conversation.run
    assert run is not None
    run.waiting = None
    turn.effects.trace.append(f"{step.id} (no answer within {step.timeout_seconds}s)")
    run.pc = instruction.blocks.get("on_timeout", run.pc + 1)


def _parse(
    step: AskQuestionStep, options: list[Option], text: str | None, option_id: str | None
) -> Parsed | None:
    if step.answer == "multiple_choice":
        chosen = choose(options, text, option_id)
        return Parsed(chosen.id) if chosen is not None else None
    if text is None or not text.strip():
        return None  # a photo or a sticker is not an answer
    match step.answer:
        case "email":
            return parse_email(text)
        case "phone":
            return parse_phone(text, step.default_region)
        case "number":
            return parse_number(text, step.min, step.max)
        case "date":
            return parse_date(text, step.date_format)
        case "text":
            return Parsed(text.strip())
        case _:
            assert_never(step.answer)


def save(turn: Turn, path: FieldPath, value: Any) -> None:
    run = turn.conversation.run
    assert run is not None
    contact = turn.contact
    match path.kind:
        case "var":
            run.vars[path.name] = value
            return
        case "tags":
            if value is not None and str(value) not in contact.tags:
                contact.tags = [*contact.tags, str(value)]
        case "custom":
            fields = dict(contact.fields)
            if value is None:
                fields.pop(path.name, None)
            else:
                fields[path.name] = value
            contact.fields = fields
        case "contact":
            setattr(contact, path.name, None if value is None else str(value))
            # Saved on purpose, it is the workflow's; cleared, the channel may fill it again.
            owned = [f for f in contact.workflow_fields if f != path.name]
            contact.workflow_fields = owned if value is None else sorted([*owned, path.name])
        case "answer" | "channel" | "schedule" | "conversation":
            # A SavePath is never one of these: the workflow was refused when it loaded.
            raise AssertionError(f"cannot save to {path}")
        case _:
            assert_never(path.kind)
    turn.contact_changed = True
