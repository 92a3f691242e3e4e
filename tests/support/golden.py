"""A compiler change, made on purpose: what golden run fixtures and resuming must catch."""

from __future__ import annotations

from core.program import Instruction, Program, compile_workflow
from core.workflow import Workflow


def with_a_noop_first(workflow: Workflow) -> Program:
    """Today's program with one more instruction in front (a goto to the next one): every
    instruction moves one place on, as a compiler change might move them."""
    program = compile_workflow(workflow)

    def on(at: int | None) -> int | None:
        return None if at is None else at + 1

    moved = [
        Instruction(
            i.step,
            goto=on(i.goto),
            blocks={name: at + 1 for name, at in i.blocks.items()},
            cases=tuple(at + 1 for at in i.cases),
            otherwise=on(i.otherwise),
        )
        for i in program.code
    ]
    index = {step_id: at + 1 for step_id, at in program.index.items()}
    return Program(workflow, program.workflow_hash, (Instruction(None, goto=1), *moved), index)
