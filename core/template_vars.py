"""What a workflow's templates read, checked before it runs: a misspelt name renders as
nothing (templates are forgiving on purpose, for `contact.fields.<name>` that may be unset),
so `Hi {{ contact.nmae }}` is caught here instead, at its file, line and field.

A template may read `contact`, `conversation`, `vars`, `agent` and `settings`; an HTTP
request's headers also `secrets`. A `vars.<name>` must be saved by some step (a question's
`save_to`, a request's `save`) on at least one way through the workflow before the template
that reads it.
"""

from __future__ import annotations

from collections.abc import Iterator, Set
from dataclasses import dataclass

from core.agents import Agent
from core.errors import Problem
from core.models import Contact
from core.program import Instruction, Program, compile_workflow
from core.sources import Source
from core.step_types import (
    AskQuestionStep,
    BranchStep,
    CloseConversationStep,
    HttpRequestStep,
    JumpStep,
)
from core.templating import TemplateSyntaxProblem, paths_read
from core.workflow import Workflow, templates_of, walk

ROOTS = ("contact", "conversation", "vars", "agent", "settings")
# What `Turn.template_context` gives of the conversation and of its agent.
CONVERSATION_FIELDS = frozenset({"id", "channel", "status", "team", "assignee"})
AGENT_FIELDS = frozenset(set(Agent.model_fields) - {"capacity"})
CONTACT_FIELDS = frozenset(Contact.model_fields)


@dataclass(frozen=True)
class Names:
    """What a config defines for templates to read; None: no config to check against."""

    settings: Set[str] | None = None
    secrets: Set[str] | None = None
    config_name: str = "the config"


def template_problems(workflow: Workflow, source: Source, names: Names) -> list[Problem]:
    """Every template value that does not exist, or is never saved before it is read."""
    program = compile_workflow(workflow)
    saved = _saved_before(program)
    places = {step.id: loc for step, loc in walk(workflow.steps, ("steps",))}
    problems: list[Problem] = []
    for n, instruction in enumerate(program.code):
        if instruction.step is None:
            continue
        loc = places[instruction.step.id]
        for where, text in templates_of(instruction.step, loc):
            try:
                read = paths_read(text)
            except TemplateSyntaxProblem:
                continue  # reported by the workflow's own check
            in_headers = isinstance(instruction.step, HttpRequestStep) and "headers" in where
            for root, path in read:
                message = _unknown(root, path, names, in_headers, saved[n])
                if message is not None:
                    problems.append(source.problem(where, message))
    return problems


def _unknown(
    root: str, path: tuple[str, ...], names: Names, in_headers: bool, saved: Set[str] | None
) -> str | None:
    first = path[0] if path else None
    shown = ".".join((root, *path[:2]))
    match root:
        case "contact":
            if first is not None and first not in CONTACT_FIELDS:
                known = ", ".join(sorted(CONTACT_FIELDS))
                return f"unknown field {shown} (contact has {known}; custom: contact.fields.<name>)"
        case "conversation":
            if first is not None and first not in CONVERSATION_FIELDS:
                known = ", ".join(sorted(CONVERSATION_FIELDS))
                return f"unknown field {shown} (conversation has {known})"
        case "agent":
            if first is not None and first not in AGENT_FIELDS:
                return f"unknown field {shown} (agent has {', '.join(sorted(AGENT_FIELDS))})"
        case "vars":
            if first is not None and saved is not None and first not in saved:
                return f"{shown} is read before any step saves it (save_to or save)"
        case "settings":
            if first is not None and names.settings is not None and first not in names.settings:
                return f"no {shown} under settings in {names.config_name}"
        case "secrets":
            if not in_headers:
                return f"{root} can only be read in an http_request's headers"
            if first is not None and names.secrets is not None and first not in names.secrets:
                return f"no {shown} under secrets in {names.config_name}"
        case _:
            return f"unknown name '{root}' (templates read {', '.join(ROOTS)})"
    return None


def _saved_before(program: Program) -> list[set[str] | None]:
    """For each instruction, the variables some way to it has saved (None: unreachable)."""
    code = program.code
    before: list[set[str] | None] = [None] * len(code)
    if not code:
        return before
    before[0] = set()
    pending = [0]
    while pending:
        n = pending.pop()
        here = before[n]
        assert here is not None
        for target, saves in _edges(n, code[n], program):
            if target >= len(code):
                continue
            after = here | saves
            known = before[target]
            if known is None or not after <= known:
                before[target] = after if known is None else known | after
                pending.append(target)
    return before


def _edges(n: int, instruction: Instruction, program: Program) -> Iterator[tuple[int, set[str]]]:
    """Where a run goes from instruction `n`, with the variables it saved on the way."""
    step = instruction.step
    if step is None:
        assert instruction.goto is not None
        yield instruction.goto, set()
        return
    failing = {instruction.blocks.get(name) for name in ("on_failure", "on_timeout")}
    saves: set[str] = set()
    if isinstance(step, AskQuestionStep) and step.save_to and step.save_to.kind == "var":
        saves = {step.save_to.name}
    elif isinstance(step, HttpRequestStep):
        saves = set(step.save)
    if isinstance(step, BranchStep):
        for start in (*instruction.cases, instruction.otherwise):
            yield (n + 1 if start is None else start), set()
    elif isinstance(step, JumpStep):
        yield program.index[step.to], set()
        yield n + 1, set()
    elif isinstance(step, CloseConversationStep):
        return
    else:
        yield n + 1, saves
        for start in instruction.blocks.values():
            yield start, set() if start in failing else saves
