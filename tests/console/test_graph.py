"""The workflow pictures: every template's workflows laid out without overlaps, every step
and every way between steps drawn and labelled, and `frontdesk graph` writing the same SVG."""

from __future__ import annotations

import textwrap
from itertools import combinations
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from core.cli import main
from core.graph import CHAR_PX, PAD, draw, lay_out
from core.sources import parse_yaml
from core.workflow import Workflow, load_workflow, parse_workflow, walk

TEMPLATES = Path(__file__).parents[2] / "core" / "templates"
WORKFLOW_FILES = sorted(TEMPLATES.glob("*/workflows/*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"

EVERY_WAY = """
name: every-way
trigger: conversation_opened
steps:
  - {id: hello, type: send_message, text: "Hi!"}
  - id: pick
    type: ask_question
    text: "Sales or support? Pick one of the options below, please"
    answer: multiple_choice
    options: [{id: sales, label: Sales}, {id: support, label: Support}]
    timeout_seconds: 600
    on_failure: [{id: gave_up, type: send_message, text: "Let's try again."}]
    on_timeout: [{id: gone, type: close_conversation}]
  - id: route
    type: branch
    branches:
      - name: sales
        conditions: [{field: answer, op: equals, value: sales}]
        steps:
          - id: to_sales
            type: assign
            team: sales
            when_unavailable: [{id: busy, type: send_message, text: "Busy"}]
    else:
      - id: to_support
        type: assign
        team: support
        timeout_seconds: 60
        on_timeout: [{id: late, type: wait, seconds: 5}]
  - id: lookup
    type: http_request
    url: "https://crm.example.com/customers"
    on_success: [{id: tag, type: update_contact, add_tags: [known]}]
    on_failure: [{id: again, type: jump, to: pick, max: 2}]
"""


def every_way() -> Workflow:
    return parse_workflow(parse_yaml(textwrap.dedent(EVERY_WAY), "every-way.yaml"))


def test_there_are_five_templates() -> None:
    assert len({path.parents[1].name for path in WORKFLOW_FILES}) == 5


@pytest.mark.parametrize("path", [*WORKFLOW_FILES, None], ids=lambda p: (p and p.stem) or "every")
def test_nothing_overlaps_and_text_fits(path: Path | None) -> None:
    workflow = every_way() if path is None else load_workflow(path)
    ids = [step.id for step, _ in walk(workflow.steps, ("steps",))]
    # A count beside every step: the busiest picture the console can show.
    layout = lay_out(workflow, {step_id: 12345 for step_id in ids})
    for first, second in combinations(layout.boxes, 2):
        assert not first.overlaps(second), (first, second)
    for box in layout.boxes:
        assert box.w >= len(box.text) * CHAR_PX + 2 * PAD
        assert box.x >= 0
        assert box.y >= 0
        assert box.x + box.w <= layout.width
        assert box.y + box.h <= layout.height
    drawn = [box.step_id for box in layout.boxes if box.kind == "step"]
    assert drawn == ids
    assert [box.step_id for box in layout.boxes if box.kind == "count"] == ids


def test_every_way_between_steps_is_labelled() -> None:
    layout = lay_out(every_way())
    labels = [box.text for box in layout.boxes if box.kind in ("label", "jump")]
    assert labels == [
        "options: Sales [sales] · Support [support]",
        "on_failure (after 3 tries)",
        "on_timeout (600s)",
        "sales: if answer equals sales",
        "when_unavailable",
        "else",
        "on_timeout (60s)",
        "on_success",
        "on_failure",
        "jump to pick, at most 2 times",
    ]
    assert [line.style for line in layout.lines].count("jump") == 1


def test_the_svg_carries_the_steps_and_counts() -> None:
    svg = ElementTree.fromstring(draw(every_way(), {"pick": 3}))
    steps = [g.get("data-step") for g in svg.iter(f"{SVG}g") if g.get("class") == "step"]
    assert steps[:3] == ["hello", "pick", "gave_up"]
    [count] = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "count"]
    assert count.get("data-step") == "pick"
    assert "".join(count.itertext()) == "3 waiting"


def test_text_is_escaped() -> None:
    workflow = every_way().model_copy(update={"name": "a<b"})
    svg = draw(workflow)
    ElementTree.fromstring(svg)  # well-formed
    assert "a<b" not in svg


def test_frontdesk_graph_writes_the_svg(tmp_path: Path) -> None:
    source = WORKFLOW_FILES[0]
    target = tmp_path / "flow.svg"
    result = CliRunner().invoke(main, ["graph", str(source), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text().strip() == draw(load_workflow(source))


def test_frontdesk_graph_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ntrigger: conversation_opened\nsteps:\n  - {id: x, type: nope}\n")
    result = CliRunner().invoke(main, ["graph", str(bad), "-o", str(tmp_path / "out.svg")])
    assert result.exit_code == 1
    assert "bad.yaml:4" in result.output
    assert not (tmp_path / "out.svg").exists()
