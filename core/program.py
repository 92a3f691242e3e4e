"""A workflow compiled to a flat list of instructions.

Nested step lists (branch cases and else, a question's failure and timeout steps, an
assignment's "nobody available" steps) are laid out inline with gotos, so a run's position
is one integer that stays valid for as long as the workflow version it started on exists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from core.models import Conversation
from core.step_types import BranchStep, Step
from core.workflow import Workflow

log = logging.getLogger("frontdesk.engine")


@dataclass(frozen=True)
class Instruction:
    step: Step | None  # None: a plain goto
    goto: int | None = None
    blocks: dict[str, int] = field(default_factory=dict)  # nested list name → its start
    cases: tuple[int, ...] = ()  # start of each branch case
    otherwise: int | None = None  # start of the else block (or the end of the branch)


@dataclass(frozen=True)
class Program:
    workflow: Workflow
    workflow_hash: str
    code: tuple[Instruction, ...]
    index: dict[str, int]  # step id → its instruction


def compile_workflow(workflow: Workflow) -> Program:
    code: list[Any] = []
    index: dict[str, int] = {}
    _emit(workflow.steps, code, index)
    return Program(workflow, workflow.content_hash, tuple(code), index)


def _emit(steps: list[Step], code: list[Any], index: dict[str, int]) -> None:
    for step in steps:
        at = len(code)
        index[step.id] = at
        code.append(None)  # patched below, once the nested blocks' places are known
        if isinstance(step, BranchStep):
            # [branch] [case 1] [goto end] [case 2] [goto end] ... [else] end: the branch
            # jumps into one of its blocks, and each falls through to the end.
            *cases, otherwise_block = step.blocks()
            starts, exits = [], []
            for case in cases:
                starts.append(len(code))
                _emit(case.steps, code, index)
                exits.append(len(code))
                code.append(None)
            otherwise = len(code)
            _emit(otherwise_block.steps, code, index)
            end = len(code)
            for place in exits:
                code[place] = Instruction(None, goto=end)
            code[at] = Instruction(step, cases=tuple(starts), otherwise=otherwise)
            continue
        nested = {block.name: block.steps for block in step.blocks() if block.steps}
        if not nested:
            code[at] = Instruction(step)
            continue
        # [step] [goto end] [block 1] [goto end] [block 2] ... end: the step's normal way
        # on is the goto right after it; each block ends by jumping past the others.
        exits = [len(code)]
        code.append(None)
        blocks = {}
        for name, block in nested.items():
            blocks[name] = len(code)
            _emit(block, code, index)
            exits.append(len(code))
            code.append(None)
        end = len(code)
        for place in exits:
            code[place] = Instruction(None, goto=end)
        code[at] = Instruction(step, blocks=blocks)


def resume_pc(program: Program, pc: int, step_id: str) -> int:
    """Where a run stored at `pc`, waiting at step `step_id`, resumes.

    It is `pc` whenever the instruction there is that step, which holds as long as the
    compiler lays a version out as it did when the run was stored. If a later compiler moved
    the step, the step's own instruction is the way back; a version that no longer has the
    step raises LookupError, as resuming anywhere else would be a guess.
    """
    if 0 <= pc < len(program.code):
        step = program.code[pc].step
        if step is not None and step.id == step_id:
            return pc
    found = program.index.get(step_id)
    if found is None:
        raise LookupError(
            f"workflow {program.workflow.name} ({program.workflow_hash}) has no step "
            f"'{step_id}' for the run waiting there to resume at"
        )
    return found


def waiting_at(program: Program, conversation: Conversation) -> Instruction:
    """The instruction of the step the conversation's run waits at. A stored position that
    names another instruction is an error to look into (a compiler change the golden run
    fixtures missed): it is logged, and the run is put back on its step (see `resume_pc`)."""
    run = conversation.run
    assert run is not None
    assert run.waiting is not None
    pc = resume_pc(program, run.pc, run.waiting.step_id)
    if pc != run.pc:
        log.error(
            "stored position %d is not the step the run waits at, resuming by the step's id"
            " at %d: conversation=%s workflow=%s (%s) step=%s",
            run.pc,
            pc,
            conversation.id,
            run.workflow,
            run.workflow_hash,
            run.waiting.step_id,
        )
        run.pc = pc
    return program.code[pc]
