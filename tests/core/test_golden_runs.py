"""Stored runs still mean the same after an upgrade.

A run is stored with `pc`, an index into the compiled program of its workflow version, and
the id of the step it waits at. `tests/fixtures/runs/` holds a stored version (as the store
keeps it) and runs waiting at each kind of step, nested ones included, as they were stored.
Today's compiler must put each waited step at the run's `pc`; a compiler that lays
instructions out differently fails here, before it resumes a stored run at the wrong step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core.models import Run
from core.program import Program, compile_workflow, resume_pc
from core.workflow import Workflow, workflow_from_snapshot
from tests.support.golden import with_a_noop_first

RUNS = Path(__file__).parent.parent / "fixtures" / "runs"
Compiler = Callable[[Workflow], Program]


def stored() -> tuple[Workflow, dict[str, Run]]:
    workflow = workflow_from_snapshot((RUNS / "golden.workflow.json").read_text())
    runs = json.loads((RUNS / "golden.runs.json").read_text())
    return workflow, {name: Run.model_validate(body) for name, body in runs.items()}


def misplaced(compile_: Compiler) -> list[str]:
    """Every stored run whose position the compiler no longer gives its waited step."""
    workflow, runs = stored()
    program = compile_(workflow)
    problems = []
    for name, run in runs.items():
        assert run.waiting is not None
        step_id = run.waiting.step_id
        at = program.code[run.pc].step if run.pc < len(program.code) else None
        if at is None or at.id != step_id:
            problems.append(
                f"{name}: stored at pc {run.pc} waiting at '{step_id}', but the compiler puts "
                f"'{step_id}' at {program.index.get(step_id)} and "
                f"{'a goto' if at is None else repr(at.id)} at {run.pc}"
            )
    return problems


def test_the_fixtures_wait_at_every_kind_of_step() -> None:
    _, runs = stored()
    kinds = {run.waiting.kind for run in runs.values() if run.waiting is not None}
    assert kinds == {"answer", "timer", "assignment", "http"}
    assert {"question_in_branch", "assign_timeout_in_branch", "wait_in_else"} <= set(runs)


def test_todays_compiler_puts_each_stored_run_at_its_step() -> None:
    assert misplaced(compile_workflow) == []


def test_a_compiler_that_moves_instructions_fails_the_golden_check() -> None:
    problems = misplaced(with_a_noop_first)
    assert len(problems) == len(stored()[1])
    assert problems[0] == (
        "question: stored at pc 1 waiting at 'ask_email', but the compiler puts 'ask_email' "
        "at 2 and 'welcome' at 1"
    )


def test_a_moved_step_is_found_again_by_its_id() -> None:
    workflow, runs = stored()
    program = with_a_noop_first(workflow)
    for run in runs.values():
        assert run.waiting is not None
        at = resume_pc(program, run.pc, run.waiting.step_id)
        step = program.code[at].step
        assert step is not None
        assert step.id == run.waiting.step_id
        assert at == run.pc + 1


def test_a_step_the_version_no_longer_has_is_an_error_naming_it() -> None:
    workflow, _ = stored()
    with pytest.raises(LookupError, match=r"workflow golden .* has no step 'gone'"):
        resume_pc(compile_workflow(workflow), 1, "gone")
