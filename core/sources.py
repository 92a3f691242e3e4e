"""YAML files that remember where each value came from.

Config and workflow files are validated by pydantic; this module keeps the line of every key
and list item so that an error reads `workflows/team.yaml:14: steps[2].options: ...`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.errors import ConfigError, Problem

Loc = tuple[str | int, ...]


@dataclass
class Source:
    """Parsed YAML plus the line (1-based) of every path in it."""

    name: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of the deepest part of `loc` that exists in the file."""
        path = self.resolve(loc)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, self.lines.get((), None))

    def resolve(self, loc: Sequence[str | int]) -> Loc:
        """Keep the parts of a pydantic error location that are real keys or indexes.

        Pydantic adds the tag of a discriminated union (`steps.2.ask_question.options`) and
        validator names; walking the data drops whatever is not in it.
        """
        node = self.data
        path: list[str | int] = []
        for part in loc:
            if isinstance(node, dict) and part in node:
                node = node[part]
                path.append(part)
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
                path.append(part)
            elif (
                isinstance(node, dict)
                and isinstance(part, str)
                and _is_field_name(part)
                and node.get("type") != part  # the union's tag is not a field
            ):
                path.append(part)  # a field that is missing from the file
                node = None
        return tuple(path)

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        return Problem(self.name, self.line_of(loc), dotted(self.resolve(loc)), message)

    def problems(self, error: ValidationError, prefix: Loc = ()) -> list[Problem]:
        found = []
        for item in error.errors(include_url=False):
            loc = (*prefix, *item["loc"])
            if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc = (*loc, "type")
            found.append(self.problem(loc, _message(item)))
        return found


def _is_field_name(part: str) -> bool:
    return part.replace("_", "").isalnum()


def dotted(loc: Sequence[str | int]) -> str:
    """`("steps", 2, "options")` → `steps[2].options`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(item: Any) -> str:
    message = str(item["msg"])
    # pydantic prefixes errors raised in validators; the reader wants the sentence only.
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if item["type"] == "extra_forbidden":
        return "unknown field"
    if item["type"] == "string_type" and isinstance(item.get("input"), bool):
        # YAML 1.1 reads bare yes/no/on/off as booleans.
        return f"{message} (YAML read a bare yes/no/on/off as {item['input']}: quote it)"
    if item["type"] == "union_tag_invalid":
        ctx = item.get("ctx", {})
        return f"unknown type {ctx.get('tag')!r} (expected one of: {ctx.get('expected_tags')})"
    if item["type"] == "union_tag_not_found":
        return "missing 'type'"
    return message


def load_yaml(path: Path, display: str | None = None) -> Source:
    """Read a YAML file; a syntax error, a duplicate key or a missing file is a ConfigError."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(name, None, "", f"cannot read file: {exc.strerror}")]) from exc
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> Source:
    try:
        _refuse_aliases(text, name)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Problem(name, line, "", f"invalid YAML: {exc.problem}")]) from exc
    source = Source(name, None)
    if node is None:
        source.data = {}
        return source
    problems: list[Problem] = []
    source.data = _build(node, (), source.lines, problems, name)
    if problems:
        raise ConfigError(problems)
    return source


def _refuse_aliases(text: str, name: str) -> None:
    """Raise ConfigError at the first alias (`*name`, `<<: *name`).

    An alias repeats a node without copying it, so a kilobyte of nested aliases ("billion
    laughs") stands for billions of values, and reading them all hangs. Frontdesk's files
    are short enough to write out; the events are scanned before anything is built.
    """
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            raise ConfigError(
                [
                    Problem(
                        name,
                        line,
                        "",
                        f"YAML aliases (*{event.anchor}) are not supported: write the value out",
                    )
                ]
            )


def _build(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[Problem], name: str
) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line = key_node.start_mark.line + 1
                problems.append(Problem(name, line, dotted(loc), "keys must be plain values"))
                continue
            key = _scalar(key_node)
            if key in result:
                problems.append(
                    Problem(
                        name, key_node.start_mark.line + 1, dotted((*loc, key)), "duplicate key"
                    )
                )
            child = (*loc, key)
            result[key] = _build(value_node, child, lines, problems, name)
            lines[child] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), lines, problems, name) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    return loader.construct_object(node, deep=True)
