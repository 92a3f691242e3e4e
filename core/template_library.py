"""The routing templates shipped with frontdesk: a config and its workflows per template."""

from __future__ import annotations

import os
import secrets
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml

from core.config_files import DOTENV

# The secrets frontdesk itself checks (the API's bearer token, the webhook signature key): a
# copy of a template gets its own, made up here. Tokens issued elsewhere (a CRM's, a bot's)
# are for the operator to set.
GENERATED = ("FRONTDESK_API_TOKEN", "FRONTDESK_WEBHOOK_SECRET")


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
    """Write the template's files under `destination`, and a `.env` beside the config with
    fresh secrets for it; refuses to overwrite a file."""
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
    dotenv = destination / DOTENV
    existing = [str(target) for target in (*(t for _, t in plan), dotenv) if target.exists()]
    if existing:
        raise FileExistsError(f"would overwrite {', '.join(existing)}")
    for item, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.read_text(encoding="utf-8"), encoding="utf-8")
    _write_private(dotenv, _dotenv((source / "frontdesk.yaml").read_text(encoding="utf-8")))
    return [*(target for _, target in plan), dotenv]


def _dotenv(config: str) -> str:
    lines = [
        "# Secrets for frontdesk.yaml beside this file, made by `frontdesk init`.\n",
        "# Keep this file private; a variable set in the environment wins over it.\n",
    ]
    lines += [
        f"{name}={secrets.token_urlsafe(32)}\n" for name in GENERATED if f"${{{name}" in config
    ]
    return "".join(lines)


def _write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only, from the start (no moment of a wider mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # the umask could only have narrowed it; make it exact
        out.write(text)
