"""Reading what the config file refers to outside itself: `${NAME}` references from the
environment or the `.env` file beside the config, the listening address's overrides, and the
log settings. With `core.config`, the only place that reads the environment."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv.parser import parse_stream
from pydantic import ValidationError

from core.config_sections import ServerSettings
from core.errors import Problem
from core.sources import Loc, Source

# Beside the config file: values for its `${NAME}` references; the environment wins.
DOTENV = ".env"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")
# Where `serve` listens, overriding the file (and overridden by `serve --host/--port`).
HOST_ENV = "FRONTDESK_HOST"
PORT_ENV = "FRONTDESK_PORT"


@dataclass(frozen=True)
class LogSettings:
    """`FRONTDESK_LOG_LEVEL` and `FRONTDESK_LOG_FORMAT`; None where unset."""

    level: str | None
    format: str | None


def log_settings() -> LogSettings:
    return LogSettings(
        os.environ.get("FRONTDESK_LOG_LEVEL") or None,
        os.environ.get("FRONTDESK_LOG_FORMAT") or None,
    )


def listening(
    server: ServerSettings,
    host: str | None,
    port: int | None,
    environ: Mapping[str, str],
    problems: list[Problem],
) -> ServerSettings:
    """The server settings with the environment's (or .env's) and the flags' host and port
    applied."""
    changes: dict[str, Any] = {}
    for name, variable, flag in (("host", HOST_ENV, host), ("port", PORT_ENV, port)):
        value = flag if flag is not None else environ.get(variable)
        if value is not None:
            changes[name] = (value, "--" + name if flag is not None else variable)
    if not changes:
        return server
    values = {name: value for name, (value, _) in changes.items()}
    try:
        return ServerSettings.model_validate({**server.model_dump(), **values})
    except ValidationError as exc:
        for item in exc.errors(include_url=False, include_input=False):
            name = str(item["loc"][0])
            value, origin = changes[name]
            problems.append(Problem(origin, None, f"server.{name}", f"{value!r}: {item['msg']}"))
        return server


def read_dotenv(path: Path, problems: list[Problem]) -> dict[str, str]:
    """The `NAME=value` lines of a `.env` file (none if there is no file); a line that is not
    one is a problem naming its line, never its text, which may hold a secret."""
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), None, "", f"cannot read file: {exc}"))
        return {}
    found: dict[str, str] = {}
    # python-dotenv's own parser, rather than `dotenv_values`, which only logs bad lines.
    for binding in parse_stream(io.StringIO(content)):
        text = binding.original.string  # starts with the blank lines before it
        line = binding.original.line + text[: len(text) - len(text.lstrip())].count("\n")
        if binding.error:
            problems.append(Problem(str(path), line, "", "expected NAME=value"))
        elif binding.key is not None and binding.value is None:
            problems.append(Problem(str(path), line, binding.key, "has no value"))
        elif binding.key is not None and binding.value is not None:
            found[binding.key] = binding.value
    return found


def interpolate(
    source: Source, node: Any, loc: Loc, environ: Mapping[str, str], problems: list[Problem]
) -> Any:
    if isinstance(node, dict):
        return {k: interpolate(source, v, (*loc, k), environ, problems) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(source, v, (*loc, i), environ, problems) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = environ.get(name)
        if value is None:
            if default is None:
                problems.append(source.problem(loc, f"environment variable {name} is not set"))
                return ""
            return default
        return value

    return _ENV_REF.sub(substitute, node)
