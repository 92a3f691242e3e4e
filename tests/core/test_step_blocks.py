"""Each step type names its nested step lists once (`blocks()`); the compiler and the file
walker both find every nested step through it."""

from __future__ import annotations

import re
import textwrap
import typing

import pytest

from core.program import compile_workflow
from core.sources import parse_yaml
from core.step_types import Step
from core.workflow import Workflow, parse_workflow, walk

# One step of each type, with every nested list it can hold given one step whose id says
# where it stands in the file.
EXAMPLES: dict[str, str] = {
    "send_message": "{id: s, type: send_message, text: hi}",
    "ask_question": """
      id: s
      type: ask_question
      text: Email?
      answer: email
      timeout_seconds: 60
      on_failure: [{id: in-on_failure, type: send_message, text: x}]
      on_timeout: [{id: in-on_timeout, type: send_message, text: x}]
    """,
    "branch": """
      id: s
      type: branch
      branches:
        - conditions: [{field: vars.a, op: exists}]
          steps: [{id: in-branches-0-steps, type: send_message, text: x}]
        - conditions: [{field: vars.b, op: exists}]
          steps: [{id: in-branches-1-steps, type: send_message, text: x}]
      else: [{id: in-else, type: send_message, text: x}]
    """,
    "assign": """
      id: s
      type: assign
      team: sales
      timeout_seconds: 60
      on_timeout: [{id: in-on_timeout, type: send_message, text: x}]
    """,
    "unassign": "{id: s, type: unassign}",
    "http_request": """
      id: s
      type: http_request
      url: http://127.0.0.1/x
      on_success: [{id: in-on_success, type: send_message, text: x}]
      on_failure: [{id: in-on_failure, type: send_message, text: x}]
    """,
    "jump": "{id: s, type: jump, to: s}",
    "update_contact": "{id: s, type: update_contact, add_tags: [x]}",
    "close_conversation": "{id: s, type: close_conversation}",
    "wait": "{id: s, type: wait, seconds: 5}",
}
# An assign step holds `when_unavailable` or a timeout, never both: a second example.
ASSIGN_UNAVAILABLE = """
  id: s
  type: assign
  team: sales
  when_unavailable: [{id: in-when_unavailable, type: send_message, text: x}]
"""


def _step_types() -> set[str]:
    union = typing.get_args(typing.get_args(Step)[0])
    return {typing.get_args(variant.model_fields["type"].annotation)[0] for variant in union}


def _workflow(step: str) -> Workflow:
    body = textwrap.indent(textwrap.dedent(step).strip(), "    ")
    text = f"name: w\ntrigger: conversation_opened\nsteps:\n  - \n{body}\n"
    return parse_workflow(parse_yaml(text, "w.yaml"))


def test_the_table_has_every_step_type() -> None:
    assert set(EXAMPLES) == _step_types()


@pytest.mark.parametrize(
    "step", [*EXAMPLES.values(), ASSIGN_UNAVAILABLE], ids=[*EXAMPLES, "assign-unavailable"]
)
def test_every_nested_step_is_found_by_the_walker_and_the_compiler(step: str) -> None:
    # A nested step's id spells its place: `in-branches-1-steps` stands in branches[1].steps.
    nested = re.findall(r"id: (in-[\w-]+)", step)
    workflow = _workflow(step)
    walked = {s.id: loc for s, loc in walk(workflow.steps, ("steps",))}
    assert walked == {"s": ("steps", 0)} | {
        name: ("steps", 0, *(int(p) if p.isdigit() else p for p in name.split("-")[1:]), 0)
        for name in nested
    }
    program = compile_workflow(workflow)
    assert set(program.index) == {"s", *nested}
    for step_id, at in program.index.items():
        instruction = program.code[at]
        assert instruction.step is not None
        assert instruction.step.id == step_id
    # The step's instruction leads into each of its non-empty blocks by the block's name.
    (top,) = workflow.steps
    head = program.code[0]
    starts = dict(head.blocks) | {f"branches.{j}": at for j, at in enumerate(head.cases)}
    if head.otherwise is not None:
        starts["else"] = head.otherwise
    for block in top.blocks():
        if block.steps:
            assert program.code[starts[block.name]].step == block.steps[0]
