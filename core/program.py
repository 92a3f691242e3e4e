"""A workflow compiled to a flat list of instructions.

Nested step lists (branch cases, else, a question's failure steps, an assignment's
"nobody available" steps) are laid out inline with gotos, so a run's position is one integer
that stays valid for as long as the workflow version it started on exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.workflow import AskQuestionStep, AssignStep, BranchStep, Step, Workflow


@dataclass(frozen=True)
class Instruction:
    step: Step | None  # None: a plain goto
    goto: int | None = None
    alt: int | None = None  # start of the nested block (failure, nobody available)
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
        nested = (
            step.on_failure
            if isinstance(step, AskQuestionStep)
            else step.when_unavailable
            if isinstance(step, AssignStep)
            else []
        )
        if not nested:
            code[at] = Instruction(step)
            continue
        skip = len(code)
        code.append(None)
        alt = len(code)
        _emit(nested, code, index)
        code[skip] = Instruction(None, goto=len(code))
        code[at] = Instruction(step, alt=alt)
