"""The routing templates shipped with frontdesk: a config and its workflows per template."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml


def _root() -> Traversable:
    return files("core") / "templates"


def available() -> list[tuple[str, str]]:
    """(name, one-line description) of every template, by name."""
    found = []
    for folder in sorted(_root().iterdir(), key=lambda t: t.name):
        if not folder.is_dir() or not (folder / "frontdesk.yaml").is_file():
            continue
        workflow = folder / "workflows" / f"{folder.name}.yaml"
        data = yaml.safe_load(workflow.read_text(encoding="utf-8")) if workflow.is_file() else {}
        found.append((folder.name, str(data.get("description", ""))))
    return found


def copy_to(name: str, destination: Path) -> list[Path]:
    """Write the template's files under `destination`; refuses to overwrite a file."""
    source = _root() / name
    if not (source / "frontdesk.yaml").is_file():
        names = ", ".join(n for n, _ in available())
        raise LookupError(f"no template {name!r} (templates: {names})")
    plan: list[tuple[Traversable, Path]] = [
        (source / "frontdesk.yaml", destination / "frontdesk.yaml")
    ]
    for item in sorted((source / "workflows").iterdir(), key=lambda t: t.name):
        if item.name.endswith(".yaml"):
            plan.append((item, destination / "workflows" / item.name))
    existing = [str(target) for _, target in plan if target.exists()]
    if existing:
        raise FileExistsError(f"would overwrite {', '.join(existing)}")
    for item, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.read_text(encoding="utf-8"), encoding="utf-8")
    return [target for _, target in plan]
