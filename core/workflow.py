"""Workflow definitions: data, not code.

A workflow is a YAML file validated into a trigger and a list of steps. Steps form a
discriminated union on `type` (see `core.step_types`). Every error names the file, the line
and the field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
)

from core.errors import ConfigError, Problem
from core.sources import Loc, Source, load_yaml, parse_yaml
from core.step_types import (
    AskQuestionStep,
    AssignStep,
    BranchStep,
    Definition,
    HttpRequestStep,
    JumpStep,
    SendMessageStep,
    Step,
    UpdateContactStep,
)
from core.templating import TemplateSyntaxProblem, check_template

Trigger = Literal["conversation_opened", "conversation_closed"]


class Workflow(Definition):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    description: str = ""
    trigger: Trigger
    channels: list[str] | None = None
    steps: list[Step] = Field(min_length=1)

    @cached_property
    def content_hash(self) -> str:
        """Names this exact version; computed once, as the model is frozen."""
        return hashlib.sha256(self.model_dump_json(by_alias=True).encode()).hexdigest()[:16]


Workflow.model_rebuild()


def walk(steps: list[Any], loc: Loc) -> Iterator[tuple[Any, Loc]]:
    """Every step, nested ones included, with its location in the file."""
    for i, step in enumerate(steps):
        here = (*loc, i)
        yield step, here
        for block in step.blocks():
            yield from walk(block.steps, (*here, *block.where))


def _cross_check(workflow: Workflow, source: Source) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, Loc] = {}
    steps = list(walk(workflow.steps, ("steps",)))
    for step, loc in steps:
        if step.id in seen:
            problems.append(source.problem((*loc, "id"), f"duplicate step id '{step.id}'"))
        seen.setdefault(step.id, loc)
        for where, text in templates_of(step, loc):
            try:
                check_template(text)
            except TemplateSyntaxProblem as exc:
                problems.append(source.problem(where, str(exc)))
    for step, loc in steps:
        if isinstance(step, JumpStep) and step.to not in seen:
            problems.append(source.problem((*loc, "to"), f"no step with id '{step.to}'"))
    return problems


def templates_of(step: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    """Every template text of a step, with where it stands."""
    for name in ("text", "retry_message", "assigned_message"):
        text = getattr(step, name, None)
        if isinstance(text, str):
            yield (*loc, name), text
    if isinstance(step, SendMessageStep):
        for language, text in step.translations.items():
            yield (*loc, "translations", language), text
    if isinstance(step, AskQuestionStep):
        for i, option in enumerate(step.options):
            yield (*loc, "options", i, "label"), option.label
    if isinstance(step, UpdateContactStep):
        for path, text in step.set.items():
            yield (*loc, "set", str(path)), text
    if isinstance(step, HttpRequestStep):
        yield (*loc, "url"), step.url
        for name, text in step.headers.items():
            yield (*loc, "headers", name), text
        yield from _leaves(step.body, (*loc, "body"))


def _leaves(value: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*loc, i))


def parse_workflow(source: Source) -> Workflow:
    try:
        workflow = Workflow.model_validate(source.data)
    except ValidationError as exc:
        raise ConfigError(source.problems(exc)) from exc
    problems = _cross_check(workflow, source)
    if problems:
        raise ConfigError(problems)
    return workflow


def load_workflow(path: Path, display: str | None = None) -> Workflow:
    return parse_workflow(load_yaml(path, display))


def workflow_from_snapshot(body: str) -> Workflow:
    """Rebuild a stored version (JSON written by `snapshot`)."""
    return parse_workflow(parse_yaml(body, "<stored workflow>"))


def snapshot(workflow: Workflow) -> str:
    return workflow.model_dump_json(by_alias=True)


def references(workflow: Workflow) -> Iterator[tuple[str, str, Loc]]:
    """("team" | "agent" | "schedule", name, location) for every name the workflow uses
    that the config must define."""
    for step, loc in walk(workflow.steps, ("steps",)):
        if isinstance(step, AssignStep):
            if step.team is not None:
                yield "team", step.team, (*loc, "team")
            if step.agent is not None:
                yield "agent", step.agent, (*loc, "agent")
        elif isinstance(step, BranchStep):
            for i, case in enumerate(step.branches):
                for j, condition in enumerate(case.conditions):
                    if condition.field.kind == "schedule":
                        where = (*loc, "branches", i, "conditions", j, "field")
                        yield "schedule", condition.field.name, where
