"""A workflow compiled to a flat list of instructions.

Nested step lists (branch cases and else, a question's failure and timeout steps, an
assignment's "nobody available" steps) are laid out inline with gotos, so a run's position
is one integer that stays valid for as long as the workflow version it started on exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.step_types import AskQuestionStep, AssignStep, BranchStep, HttpRequestStep, Step
from core.workflow import Workflow


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


def _nested(step: Step) -> dict[str, list[Step]]:
    if isinstance(step, AskQuestionStep):
        return {"on_failure": step.on_failure, "on_timeout": step.on_timeout}
    if isinstance(step, AssignStep):
        return {"when_unavailable": step.when_unavailable, "on_timeout": step.on_timeout}
    if isinstance(step, HttpRequestStep):
        return {"on_success": step.on_success, "on_failure": step.on_failure}
    return {}


def _emit(steps: list[Step], code: list[Any], index: dict[str, int]) -> None:
    for step in steps:
        at = len(code)
        index[step.id] = at
        code.append(None)  # patched below, once the nested blocks' places are known
        if isinstance(step, BranchStep):
            starts, exits = [], []
            for case in step.branches:
                starts.append(len(code))
                _emit(case.steps, code, index)
                exits.append(len(code))
                code.append(None)
            otherwise = len(code)
            _emit(step.otherwise, code, index)
            end = len(code)
            for place in exits:
                code[place] = Instruction(None, goto=end)
            code[at] = Instruction(step, cases=tuple(starts), otherwise=otherwise)
            continue
        nested = {name: block for name, block in _nested(step).items() if block}
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
