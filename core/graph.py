"""A workflow drawn as a graph: steps as boxes, every way between them as a labelled line,
laid out in Python and written as SVG (no graphviz).

The layout is an indented outline, one row per box: a step's nested lists (branch cases and
else, a question's failure and timeout steps, an assignment's "nobody available" steps, a
request's success and failure steps) sit one level in, under a row that labels the way in.
A jump is a line on the right back (or on) to its target, labelled with its bound. Only a
row's own step carries things beside it (a jump's label, a count of waiting conversations),
so no two boxes of the picture can overlap; `Layout.boxes` lets a test check that anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, assert_never
from xml.sax.saxutils import escape, quoteattr

from core.step_types import (
    AskQuestionStep,
    AssignStep,
    BranchCase,
    BranchStep,
    CloseConversationStep,
    Condition,
    HttpRequestStep,
    JumpStep,
    SendMessageStep,
    Step,
    UnassignStep,
    UpdateContactStep,
    WaitStep,
)
from core.workflow import Workflow

FONT_PX = 13
CHAR_PX = 7.5  # wider than the average glyph at 13 px: widths are never underestimated
PAD = 8
NODE_H = 26
LABEL_H = 18
ROW_GAP = 8
INDENT = 40
MARGIN = 16
LANE = 14  # the room each jump's line takes on the right
MAX_TEXT = 64

BoxKind = Literal["step", "label", "jump", "count"]


@dataclass(frozen=True)
class Box:
    kind: BoxKind
    x: float
    y: float
    w: float
    h: float
    text: str
    step_id: str | None = None
    title: str = ""

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


@dataclass(frozen=True)
class Line:
    """A polyline; `dashed` for a way into a nested list, `jump` for a jump."""

    points: tuple[tuple[float, float], ...]
    style: Literal["next", "nested", "jump"]


@dataclass
class Layout:
    workflow: str
    boxes: list[Box] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def text_width(text: str) -> float:
    return len(text) * CHAR_PX + 2 * PAD


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_TEXT else flat[: MAX_TEXT - 1] + "…"


def describe(step: Step) -> str:
    """What a step does, in a few words."""
    match step:
        case SendMessageStep():
            return f'say "{step.text}"'
        case AskQuestionStep():
            return f'ask "{step.text}" ({step.answer})'
        case BranchStep():
            return "branch"
        case AssignStep():
            if step.agent is not None:
                return f"assign to agent {step.agent}"
            return f"assign to team {step.team} ({step.strategy})"
        case UnassignStep():
            return "unassign"
        case HttpRequestStep():
            return f"{step.method} {step.url}"
        case JumpStep():
            return f"jump to {step.to}"
        case UpdateContactStep():
            return "update contact " + ", ".join(
                [*map(str, [*step.set, *step.clear]), *(f"+{t}" for t in step.add_tags)]
                + [f"-{t}" for t in step.remove_tags]
            )
        case CloseConversationStep():
            return "close the conversation"
        case WaitStep():
            return f"wait {step.seconds}s"
        case _:
            assert_never(step)


def condition_text(condition: Condition) -> str:
    if condition.value is None:
        return f"{condition.field} {condition.op}"
    value = condition.value
    shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return f"{condition.field} {condition.op} {shown}"


def case_text(case: BranchCase) -> str:
    joined = f" {'and' if case.match == 'all' else 'or'} ".join(
        condition_text(c) for c in case.conditions
    )
    return f"if {joined}" if case.name is None else f"{case.name}: if {joined}"


def nested_lists(step: Step) -> list[tuple[str, list[Step]]]:
    """The step's nested lists, each with the label of the way into it, in file order."""
    blocks = step.blocks()
    if isinstance(step, BranchStep):  # a case is labelled by its conditions
        labels = [*(case_text(case) for case in step.branches), "else"]
    else:
        labels = [_way_label(step, block.name) for block in blocks]
    return [(label, block.steps) for label, block in zip(labels, blocks, strict=True)]


def _way_label(step: Step, name: str) -> str:
    if name == "on_timeout" and isinstance(step, AskQuestionStep | AssignStep):
        return f"on_timeout ({step.timeout_seconds}s)"
    if name == "on_failure" and isinstance(step, AskQuestionStep):
        return f"on_failure (after {step.max_attempts} tries)"
    return name


class _Builder:
    def __init__(self, workflow: Workflow, counts: Mapping[str, int]) -> None:
        self.layout = Layout(workflow.name)
        self.counts = counts
        self.y = float(MARGIN)
        self.nodes: dict[str, Box] = {}
        self.jumps: list[tuple[Box, str]] = []

    def row(self, height: float) -> float:
        top = self.y
        self.y += height + ROW_GAP
        return top

    def label(self, text: str, x: float) -> Box:
        shown = _short(text)
        box = Box("label", x, self.row(LABEL_H), text_width(shown), LABEL_H, shown, title=text)
        self.layout.boxes.append(box)
        return box

    def steps(self, steps: list[Step], depth: int, entry: tuple[float, float] | None) -> None:
        """Lay out `steps` at `depth`; `entry`: where the way into the list starts."""
        x = MARGIN + depth * INDENT
        previous: Box | None = None
        for step in steps:
            node = self.node(step, x)
            if previous is not None:
                self.layout.lines.append(
                    Line(((x + 12, previous.y + NODE_H), (x + 12, node.y)), "next")
                )
            elif entry is not None:
                self.layout.lines.append(Line((entry, (entry[0], node.y)), "next"))
            self.nested(step, node, depth)
            previous = node

    def node(self, step: Step, x: float) -> Box:
        full = f"{step.id} · {describe(step)}"
        shown = _short(full)
        node = Box("step", x, self.row(NODE_H), text_width(shown), NODE_H, shown, step.id, full)
        self.layout.boxes.append(node)
        self.nodes[step.id] = node
        beside = node.x + node.w + PAD
        if isinstance(step, JumpStep):
            text = f"jump to {step.to}, at most {step.max} times"
            mark = Box("jump", beside, node.y + 4, text_width(text), LABEL_H, text, step.id)
            self.layout.boxes.append(mark)
            self.jumps.append((node, step.to))
            beside = mark.x + mark.w + PAD
        waiting = self.counts.get(step.id, 0)
        if waiting:
            text = f"{waiting} waiting"
            self.layout.boxes.append(
                Box("count", beside, node.y + 4, text_width(text), LABEL_H, text, step.id)
            )
        if isinstance(step, AskQuestionStep) and step.options:
            options = " · ".join(f"{o.label} [{o.id}]" for o in step.options)
            self.label(f"options: {options}", x + INDENT)
        return node

    def nested(self, step: Step, node: Box, depth: int) -> None:
        inner = MARGIN + (depth + 1) * INDENT
        for text, steps in nested_lists(step):
            if not steps and not isinstance(step, BranchStep):
                continue
            way = self.label(text if steps else f"{text} → carry on", inner)
            start = (node.x + 12, node.y + NODE_H)
            middle = way.y + LABEL_H / 2
            self.layout.lines.append(Line((start, (start[0], middle), (inner, middle)), "nested"))
            self.steps(steps, depth + 1, (inner + 12, way.y + LABEL_H))

    def finish(self) -> Layout:
        layout = self.layout
        right = max((b.x + b.w for b in layout.boxes), default=0.0)
        for lane, (source, target_id) in enumerate(self.jumps, start=1):
            target = self.nodes.get(target_id)
            if target is None:
                continue
            out = right + lane * LANE
            layout.lines.append(
                Line(
                    (
                        (source.x + source.w, source.y + NODE_H / 2),
                        (out, source.y + NODE_H / 2),
                        (out, target.y + NODE_H / 2),
                        (target.x + target.w, target.y + NODE_H / 2),
                    ),
                    "jump",
                )
            )
        layout.width = right + (len(self.jumps) + 1) * LANE + MARGIN
        layout.height = self.y + MARGIN
        return layout


def lay_out(workflow: Workflow, counts: Mapping[str, int] | None = None) -> Layout:
    """The picture of `workflow`; `counts`: conversations waiting at each step id."""
    builder = _Builder(workflow, counts or {})
    builder.steps(workflow.steps, 0, None)
    return builder.finish()


_STYLE = """
.step rect{fill:#eef4ff;stroke:#3a64b0;rx:5}
.label rect{fill:#fff8e6;stroke:#c9a227}
.jump rect{fill:#f4ecff;stroke:#7a4bc2}
.count rect{fill:#d9342b;stroke:#d9342b}
.count text{fill:#fff;font-weight:bold}
text{font:13px sans-serif;fill:#1d2433;dominant-baseline:middle}
.next{stroke:#55607a;fill:none}
.nested{stroke:#c9a227;fill:none;stroke-dasharray:4 3}
.line-jump{stroke:#7a4bc2;fill:none;marker-end:url(#arrow)}
"""


def to_svg(layout: Layout) -> str:
    """The layout as a standalone SVG document (also fit to inline in HTML)."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-graph" '
        f'data-workflow={quoteattr(layout.workflow)} width="{layout.width:.0f}" '
        f'height="{layout.height:.0f}" viewBox="0 0 {layout.width:.0f} {layout.height:.0f}">',
        f"<title>{escape(layout.workflow)}</title>",
        f"<style>{_STYLE}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'fill="#7a4bc2"/></marker></defs>',
    ]
    for line in layout.lines:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in line.points)
        css = "line-jump" if line.style == "jump" else line.style
        parts.append(f'<polyline class="{css}" points="{points}"/>')
    for box in layout.boxes:
        step = f" data-step={quoteattr(box.step_id)}" if box.step_id else ""
        title = f"<title>{escape(box.title)}</title>" if box.title else ""
        parts.append(
            f'<g class="{box.kind}"{step}>{title}'
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}"/>'
            f'<text x="{box.x + PAD:.1f}" y="{box.y + box.h / 2:.1f}">{escape(box.text)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def draw(workflow: Workflow, counts: Mapping[str, int] | None = None) -> str:
    return to_svg(lay_out(workflow, counts))
