"""What a workflow needs from its config: the teams, agents, schedules and channels it
names, and the settings and secrets its templates read. Loading a config runs these checks
on its workflows; `frontdesk validate` and `frontdesk chat` run them on a workflow file
against a config given beside it."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import Problem
from core.sources import Source
from core.template_vars import Names, template_problems
from core.workflow import Workflow, references

if TYPE_CHECKING:  # the config's loader runs these checks: it imports this module
    from core.config import Config


@dataclass(frozen=True)
class Directory:
    """The names a config defines."""

    name: str  # the config file's name, for messages
    teams: Set[str]
    agents: Set[str]
    schedules: Set[str]
    channels: Set[str]
    settings: Set[str]
    secrets: Set[str]


def workflow_problems(
    workflow: Workflow, source: Source, directory: Directory | None
) -> list[Problem]:
    """Every name the workflow uses that is not defined (without a config: only what the
    workflow itself can tell, such as a misspelt template variable)."""
    if directory is None:
        return template_problems(workflow, source, Names())
    problems: list[Problem] = []
    known = {"team": directory.teams, "agent": directory.agents, "schedule": directory.schedules}
    for kind, name, loc in references(workflow):
        if name not in known[kind]:
            problems.append(source.problem(loc, f"no {kind} '{name}' in {directory.name}"))
    for j, channel in enumerate(workflow.channels or []):
        if channel not in directory.channels:
            problems.append(source.problem(("channels", j), f"no channel '{channel}'"))
    names = Names(directory.settings, directory.secrets, directory.name)
    problems.extend(template_problems(workflow, source, names))
    return problems


def directory_of(config: Config) -> Directory:
    """The names `config` defines, to check a workflow file against it."""
    return Directory(
        name=Path(config.source).name,
        teams=set(config.teams),
        agents={a.id for a in config.agents},
        schedules=set(config.schedules),
        channels=set(config.channels),
        settings=set(config.settings),
        secrets=set(config.secrets),
    )
