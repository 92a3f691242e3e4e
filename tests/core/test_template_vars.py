"""Template variables are checked before a workflow runs: a misspelt name would render as
nothing, so it is reported at its file, line and field instead."""

from __future__ import annotations

import textwrap

import pytest

from core.crosscheck import Directory, workflow_problems
from core.sources import parse_yaml
from core.templating import paths_read
from core.workflow import parse_workflow

DIRECTORY = Directory(
    name="frontdesk.yaml",
    teams={"support"},
    agents={"carol"},
    schedules=set(),
    channels={"webhook"},
    settings={"crm_url"},
    secrets={"crm_token"},
)


def problems(steps: str, directory: Directory | None = DIRECTORY) -> list[str]:
    text = "name: w\ntrigger: conversation_opened\nsteps:\n" + textwrap.dedent(steps)
    source = parse_yaml(text, "w.yaml")
    return [str(p) for p in workflow_problems(parse_workflow(source), source, directory)]


def test_paths_read_follows_attributes_and_constant_items_only() -> None:
    text = (
        "{{ contact['fields'].plan | upper }}{% set x = 1 %}{{ x }}"
        "{% for o in vars.items %}{{ loop.index }}{{ o.name }}{% endfor %}"
        "{{ vars.get('a') }}{{ range(2) }}{{ vars[key] }}"
    )
    assert paths_read(text) == [
        ("contact", ("fields", "plan")),
        ("vars", ("items",)),
        ("vars", ()),
        ("vars", ()),
        ("key", ()),
    ]


def test_a_misspelt_contact_field_is_named_at_its_line() -> None:
    found = problems("""\
        - {id: hi, type: send_message, text: 'Hi {{ contact.name }}'}
        - {id: typo, type: send_message, text: 'Hi {{ contact.nmae }}'}
        """)
    assert len(found) == 1
    assert found[0].startswith("w.yaml:5: steps[1].text: unknown field contact.nmae (")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ custmer.name }}", "unknown name 'custmer' (templates read contact, conversation"),
        ("{{ conversation.tema }}", "unknown field conversation.tema ("),
        ("{{ agent.nmae }}", "unknown field agent.nmae ("),
        ("{{ agent.capacity }}", "unknown field agent.capacity ("),
        ("{{ settings.crm }}", "no settings.crm under settings in frontdesk.yaml"),
        ("{{ secrets.crm_token }}", "secrets can only be read in an http_request's headers"),
        ("{{ vars.plan }}", "vars.plan is read before any step saves it"),
    ],
)
def test_every_unknown_kind_of_name(template: str, message: str) -> None:
    [found] = problems(f"- {{id: s, type: send_message, text: '{template}'}}\n")
    assert found.startswith("w.yaml:4: steps[0].text: " + message), found


def test_known_names_pass() -> None:
    assert (
        problems("""\
        - id: ask
          type: ask_question
          text: "Plan, {{ contact.fields.plan | default('none') }}?"
          save_to: vars.plan
        - id: crm
          type: http_request
          url: "{{ settings.crm_url }}/c?plan={{ vars.plan }}"
          headers: {Authorization: "Bearer {{ secrets.crm_token }}"}
          body: {who: "{{ conversation.id }}"}
          save: {kind: $.kind}
        - id: give
          type: assign
          team: support
          assigned_message: "{{ agent.name }} has your {{ vars.kind }} question."
        - id: sum
          type: send_message
          text: "{% set n = 2 %}{% for t in contact.tags %}{{ t }}{% endfor %}{{ n }}"
        """)
        == []
    )


def test_every_templated_field_is_checked() -> None:
    found = problems("""\
        - id: ask
          type: ask_question
          text: "{{ a1 }}"
          retry_message: "{{ a2 }}"
          answer: multiple_choice
          options: [{id: x, label: "{{ a3 }}"}, {id: y, label: Y}]
          on_failure:
            - {id: give, type: assign, team: support, assigned_message: "{{ a4 }}"}
        - id: hello
          type: send_message
          text: Hi
          translations: {es: "{{ a5 }}"}
        - {id: upd, type: update_contact, set: {contact.name: "{{ a6 }}"}}
        - id: crm
          type: http_request
          url: "http://x/{{ a7 }}"
          headers: {X-A: "{{ a8 }}"}
          body: {list: ["{{ a9 }}"]}
        """)
    fields = [line.split(": ")[1] for line in found]
    assert fields == [
        "steps[0].text",
        "steps[0].retry_message",
        "steps[0].options[0].label",
        "steps[0].on_failure[0].assigned_message",
        "steps[1].translations.es",
        "steps[2].set.contact.name",
        "steps[3].url",
        "steps[3].headers.X-A",
        "steps[3].body.list[0]",
    ]


def test_a_variable_saved_on_one_way_only_or_by_a_loop_is_known() -> None:
    assert (
        problems("""\
        - id: which
          type: branch
          branches:
            - conditions: [{field: contact.email, op: exists}]
              steps:
                - {id: ask, type: ask_question, text: "Plan?", save_to: vars.plan}
        - {id: say, type: send_message, text: "{{ vars.plan }}"}
        """)
        == []
    )
    # Read before the question that saves it, but the jump comes back after it.
    assert (
        problems("""\
        - {id: top, type: send_message, text: "Again? {{ vars.again }}"}
        - {id: ask, type: ask_question, text: "More?", save_to: vars.again}
        - {id: loop, type: jump, to: top, max: 2}
        """)
        == []
    )


def test_a_variable_saved_only_by_a_success_is_unknown_on_failure() -> None:
    found = problems("""\
        - id: ask
          type: ask_question
          text: "Email?"
          answer: email
          save_to: vars.email
          on_failure:
            - {id: sorry, type: send_message, text: "{{ vars.email }} is wrong"}
        - id: crm
          type: http_request
          url: http://crm/x
          save: {kind: $.kind}
          on_failure:
            - {id: down, type: send_message, text: "{{ vars.kind }} unknown"}
        """)
    assert [line.split(": ")[1] for line in found] == [
        "steps[0].on_failure[0].text",
        "steps[1].on_failure[0].text",
    ]


def test_without_a_config_settings_and_secret_names_are_not_judged() -> None:
    found = problems(
        """\
        - {id: s, type: send_message, text: "{{ settings.anything }} {{ contact.nmae }}"}
        - {id: give, type: assign, team: salez}
        """,
        directory=None,
    )
    assert len(found) == 1
    assert "contact.nmae" in found[0]
