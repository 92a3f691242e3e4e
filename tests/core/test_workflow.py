"""Workflow files: what loads, and how each mistake is named (file, line, field)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.program import compile_workflow
from core.sources import parse_yaml
from core.step_types import BranchStep
from core.workflow import parse_workflow


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_workflow(parse_yaml(textwrap.dedent(text), "workflows/team.yaml"))
    return [str(p) for p in caught.value.problems]


HEAD = """
name: team
trigger: conversation_opened
steps:
"""


def test_the_demo_workflow_loads(route_by_team: str) -> None:
    workflow = parse_workflow(parse_yaml(route_by_team, "route-by-team.yaml"))
    assert workflow.name == "route-by-team"
    assert isinstance(workflow.steps[2], BranchStep)
    program = compile_workflow(workflow)
    assert set(program.index) >= {"welcome", "ask_team", "assign_sales", "sales_away"}


def test_too_many_options_names_line_and_field() -> None:
    options = "\n".join(f"      - {{id: o{i}, label: L{i}}}" for i in range(11))
    text = (
        HEAD
        + textwrap.indent(
            textwrap.dedent(
                """\
            - id: ask
              type: ask_question
              text: Pick
              answer: multiple_choice
              options:
            """
            ),
            "  ",
        )
        + options
        + "\n"
    )
    assert problems(text) == ["workflows/team.yaml:9: steps[0].options: at most 10 options"]


def test_each_error_is_named() -> None:
    found = problems(
        HEAD
        + """
  - id: hello
    type: send_message
    text: "Hi {{ contact.name }"
  - id: route
    type: branch
    branches:
      - conditions:
          - {field: contact.favourite, op: equals, value: x}
        steps: []
  - id: who
    type: assign
    team: sales
    agent: bob
  - id: go
    type: jump
    to: nowhere
  - id: hello
    type: wat
  - id: choose
    type: ask_question
    text: Pick one
    answer: multiple_choice
    options: [{id: a, label: "a label that is far too long"}, {id: b, label: B}]
"""
    )
    assert found[0].startswith(
        "workflows/team.yaml:13: steps[1].branches[0].conditions[0].field: "
        "unknown contact field 'contact.favourite'"
    )
    assert found[1] == "workflows/team.yaml:15: steps[2]: give exactly one of team or agent"
    assert found[2].startswith("workflows/team.yaml:23: steps[4].type: unknown type 'wat'")
    assert found[3] == (
        "workflows/team.yaml:28: steps[5].options[0].label: "
        "String should have at most 20 characters"
    )
    assert len(found) == 4


def test_cross_checks_after_the_shape_is_right() -> None:
    found = problems(
        HEAD
        + """
  - {id: hello, type: send_message, text: "Hi {{ contact.name }"}
  - {id: go, type: jump, to: nowhere}
  - {id: hello, type: send_message, text: again}
"""
    )
    assert found == [
        "workflows/team.yaml:6: steps[0].text: template error on its line 1: unexpected '}'",
        "workflows/team.yaml:8: steps[2].id: duplicate step id 'hello'",
        "workflows/team.yaml:7: steps[1].to: no step with id 'nowhere'",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("name: x\nsteps: []\n", "workflows/team.yaml:1: trigger: Field required"),
        (
            "name: x\ntrigger: sometimes\nsteps: [{id: a, type: close_conversation}]\n",
            "workflows/team.yaml:2: trigger: Input should be 'conversation_opened' or "
            "'conversation_closed'",
        ),
        (
            "name: x\ntrigger: conversation_opened\nsteps:\n  - {id: a, type: wait}\n",
            "workflows/team.yaml:4: steps[0].seconds: Field required",
        ),
        (
            "name: x\ntrigger: conversation_opened\nsteps:\n  - {id: a, type: send_message, "
            "text: hi, colour: red}\n",
            "workflows/team.yaml:4: steps[0].colour: unknown field",
        ),
        (
            "name: x\ntrigger: conversation_opened\nsteps:\n  - {id: a, type: ask_question, "
            "text: q, save_to: contact.shoe_size}\n",
            "workflows/team.yaml:4: steps[0].save_to: unknown contact field 'contact.shoe_size'",
        ),
        ("a: [1\n", "workflows/team.yaml:2: invalid YAML"),
        ("a: 1\na: 2\n", "workflows/team.yaml:2: a: duplicate key"),
    ],
)
def test_single_mistakes(body: str, expected: str) -> None:
    try:
        found = problems(body)
    except AssertionError:  # pragma: no cover - the helper raises ConfigError first
        raise
    assert found[0].startswith(expected), found


def test_custom_fields_and_tags_are_allowed(tmp_path: Path) -> None:
    workflow = parse_workflow(
        parse_yaml(
            HEAD
            + """
  - id: route
    type: branch
    branches:
      - match: any
        conditions:
          - {field: contact.fields.plan, op: equals, value: gold}
          - {field: contact.tags, op: equals, value: vip}
          - {field: answer, op: exists}
        steps: []
""",
            "w.yaml",
        )
    )
    assert workflow.steps[0].id == "route"


STEP = "name: x\ntrigger: conversation_opened\nsteps:\n  - "


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            "{id: b, type: branch, branches: [{conditions: "
            "[{field: vars.x, op: is_one_of, value: a}]}]}",
            "steps[0].branches[0].conditions[0]: 'is_one_of' needs a list of values",
        ),
        (
            "{id: b, type: branch, branches: [{conditions: "
            "[{field: vars.x, op: greater_than, value: ten}]}]}",
            "steps[0].branches[0].conditions[0]: 'greater_than' needs a number",
        ),
        (
            "{id: b, type: branch, branches: [{conditions: "
            "[{field: vars.x, op: exists, value: 1}]}]}",
            "steps[0].branches[0].conditions[0]: 'exists' takes no value",
        ),
        (
            "{id: q, type: ask_question, text: q, min: 1}",
            "steps[0]: min and max are only for answer: number",
        ),
        (
            "{id: q, type: ask_question, text: q, on_timeout: [{id: t, type: close_conversation}]}",
            "steps[0]: on_timeout needs timeout_seconds",
        ),
        (
            "{id: q, type: ask_question, text: q, answer: email, save_to: contact.tags}",
            "steps[0]: only text and multiple_choice answers can be saved as a tag",
        ),
        (
            "{id: m, type: send_message, text: hi, translations: {Spanish: hola}}",
            "steps[0].translations: Value error, 'Spanish' is not a language tag",
        ),
        ("{id: u, type: update_contact}", "steps[0]: give at least one of set, clear"),
        (
            "{id: u, type: update_contact, add_tags: [a], remove_tags: [a]}",
            "steps[0]: tags both added and removed: a",
        ),
        (
            "{id: u, type: update_contact, set: {vars.x: '1'}}",
            "steps[0].set: 'vars.x': update_contact changes contact.<field> only",
        ),
    ],
)
def test_step_option_mistakes(step: str, expected: str) -> None:
    found = problems(STEP + step + "\n")
    assert any(
        p.split(": ", 1)[1].startswith(expected.replace("Value error, ", "")) for p in found
    ), found


def test_a_bare_yaml_boolean_gets_a_hint() -> None:
    [problem] = problems(STEP + "{id: off, type: unassign}\n")
    assert problem.endswith("(YAML read a bare yes/no/on/off as False: quote it)")
