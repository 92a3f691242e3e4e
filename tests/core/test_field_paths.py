"""Field paths are parsed once, when a workflow loads: into the parts that conditions and
saving steps read, back into the same text when the version is stored, and with an error
naming the file, the line and the bad path."""

from __future__ import annotations

import textwrap

import pytest

from core.errors import ConfigError
from core.field_paths import FieldPath
from core.sources import parse_yaml
from core.step_types import AskQuestionStep, BranchStep, UpdateContactStep
from core.workflow import Workflow, parse_workflow, snapshot, workflow_from_snapshot


@pytest.mark.parametrize(
    ("text", "kind", "name", "savable"),
    [
        ("vars.plan", "var", "plan", True),
        ("contact.email", "contact", "email", True),
        ("contact.fields.plan", "custom", "plan", True),
        ("contact.tags", "tags", "", True),
        ("answer", "answer", "", False),
        ("channel", "channel", "", False),
        ("schedule.office", "schedule", "office", False),
        ("conversation.team", "conversation", "team", False),
    ],
)
def test_a_path_is_read_into_its_parts_and_written_back_as_it_was(
    text: str, kind: str, name: str, savable: bool
) -> None:
    path = FieldPath.parse(text, for_saving=False)
    assert (path.kind, path.name, path.savable, str(path)) == (kind, name, savable, text)
    if not savable:
        with pytest.raises(ValueError, match=f"unknown field '{text}'"):
            FieldPath.parse(text, for_saving=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("contact.shoe_size", "unknown contact field 'contact.shoe_size'"),
        ("contact.fields", "unknown contact field 'contact.fields'"),
        ("contact.fields.no-dash", "unknown contact field 'contact.fields.no-dash'"),
        ("vars", "unknown field 'vars'"),
        ("vars.a.b", "unknown field 'vars.a.b'"),
        ("conversation.colour", "unknown field 'conversation.colour'"),
        ("schedule.", "unknown field 'schedule.'"),
        ("", "unknown field ''"),
    ],
)
def test_a_bad_path_is_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FieldPath.parse(text, for_saving=False)


def load(steps: str) -> Workflow:
    text = "name: w\ntrigger: conversation_opened\nsteps:\n" + textwrap.indent(
        textwrap.dedent(steps), "  "
    )
    return parse_workflow(parse_yaml(text, "workflows/w.yaml"))


def refused(steps: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(steps)
    return [str(p) for p in caught.value.problems]


def test_each_kind_of_step_holds_its_paths_parsed() -> None:
    workflow = load(
        """
        - {id: ask, type: ask_question, text: "Plan?", save_to: contact.fields.plan}
        - id: keep
          type: update_contact
          set: {contact.email: "{{ vars.e }}"}
          clear: [contact.phone]
        - id: route
          type: branch
          branches: [{conditions: [{field: schedule.office, op: equals, value: open}]}]
        """
    )
    ask, keep, route = workflow.steps
    assert isinstance(ask, AskQuestionStep)
    assert ask.save_to == FieldPath("custom", "plan")
    assert isinstance(keep, UpdateContactStep)
    assert keep.set == {FieldPath("contact", "email"): "{{ vars.e }}"}
    assert keep.clear == [FieldPath("contact", "phone")]
    assert isinstance(route, BranchStep)
    assert route.branches[0].conditions[0].field == FieldPath("schedule", "office")
    # Stored as written: the stored version reads back the same, under the same hash.
    again = workflow_from_snapshot(snapshot(workflow))
    assert again == workflow
    assert again.content_hash == workflow.content_hash
    assert '"save_to":"contact.fields.plan"' in snapshot(workflow)


def test_a_bad_path_names_the_file_line_and_field() -> None:
    found = refused(
        """
        - {id: ask, type: ask_question, text: "Size?", save_to: contact.shoe_size}
        - id: route
          type: branch
          branches: [{conditions: [{field: vars.a.b, op: exists}]}]
        - {id: keep, type: update_contact, set: {contact.colour: red}}
        - {id: also, type: ask_question, text: "Now?", save_to: answer}
        """
    )
    assert found[0].startswith(
        "workflows/w.yaml:5: steps[0].save_to: unknown contact field 'contact.shoe_size'"
    )
    assert found[1].startswith(
        "workflows/w.yaml:8: steps[1].branches[0].conditions[0].field: unknown field 'vars.a.b'"
    )
    assert found[2].startswith(
        "workflows/w.yaml:9: steps[2].set.contact.colour: unknown contact field 'contact.colour'"
    )
    assert found[3].startswith("workflows/w.yaml:10: steps[3].save_to: unknown field 'answer'")
    assert len(found) == 4
