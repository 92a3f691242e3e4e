"""The container image's recipe: linted by hadolint (shipped in the dev extra), and read for
what an operator relies on. No Docker engine runs here, so the image is not built."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    arguments: str


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        pending.append(stripped.removesuffix("\\").strip())
        if not stripped.endswith("\\"):
            keyword, _, arguments = " ".join(pending).partition(" ")
            found.append(Instruction(start, keyword.upper(), arguments.strip()))
            pending = []
    return found


def final_stage(found: list[Instruction]) -> list[Instruction]:
    starts = [i for i, instruction in enumerate(found) if instruction.keyword == "FROM"]
    return found[starts[-1] :]


def lint(path: Path) -> list[dict[str, object]]:
    """hadolint's findings at every level (style and up), as JSON."""
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "--format", "json", "--failure-threshold", "style", path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    findings: list[dict[str, object]] = json.loads(result.stdout or "[]")
    assert (result.returncode == 0) == (findings == []), result.stderr
    return findings


def test_hadolint_finds_nothing() -> None:
    assert lint(DOCKERFILE) == []


def test_hadolint_is_really_looking(tmp_path: Path) -> None:
    worse = tmp_path / "Dockerfile"
    worse.write_text(DOCKERFILE.read_text().replace("python:3.11-slim-bookworm", "python:latest"))
    assert {finding["code"] for finding in lint(worse)} == {"DL3007"}


def test_every_base_image_is_python_3_11_slim_and_pinned() -> None:
    bases = [
        i.arguments.split()[0] for i in instructions(DOCKERFILE.read_text()) if i.keyword == "FROM"
    ]
    assert bases
    for base in bases:
        name, _, tag = base.partition(":")
        assert name == "python"
        assert tag.startswith("3.11-slim"), base
        assert tag != "latest"


def test_the_server_runs_unprivileged_with_its_data_on_a_volume() -> None:
    final = final_stage(instructions(DOCKERFILE.read_text()))
    keywords = {i.keyword: i.arguments for i in final}
    [user] = [i.arguments for i in final if i.keyword == "USER"]
    assert user.split(":")[0] not in ("", "0", "root")
    assert keywords["VOLUME"] == "/var/lib/frontdesk"
    assert keywords["EXPOSE"] == "8080"
    assert json.loads(keywords["ENTRYPOINT"])[:3] == ["frontdesk", "serve", "--config"]
    # Everything after USER runs as that user: nothing may switch back.
    assert [i.keyword for i in final].index("USER") < [i.keyword for i in final].index("ENTRYPOINT")


def test_the_healthcheck_asks_readyz_with_python() -> None:
    [check] = [i for i in instructions(DOCKERFILE.read_text()) if i.keyword == "HEALTHCHECK"]
    command = json.loads(check.arguments[check.arguments.index("CMD") + 3 :])
    assert command[:2] == ["python", "-c"]
    assert "http://127.0.0.1:8080/readyz" in command[2]
    compile(command[2], "healthcheck", "exec")  # the one-liner is valid Python


def ignored(path: str, patterns: list[str]) -> bool:
    parts = Path(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.replace("**/", "*")) or fnmatch.fnmatch(prefix, pattern)
        for pattern in patterns
        for prefix in prefixes
    )


def test_everything_copied_is_in_the_build_context() -> None:
    dockerignore = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [p.strip() for p in dockerignore if p.strip() and not p.startswith("#")]
    copies = [
        i.arguments.split()[:-1]
        for i in instructions(DOCKERFILE.read_text())
        if i.keyword == "COPY" and not i.arguments.startswith("--from")
    ]
    sources = [source for sources in copies for source in sources]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source, patterns), f"{source} is left out by .dockerignore"
    # ...and what `pip install .` needs: the project file, its readme and license, and every
    # package it ships.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert {"pyproject.toml", project["project"]["readme"], "LICENSE"} <= set(sources)
    assert packages <= set(sources)


@pytest.mark.parametrize("kept_out", [".venv", ".git", "frontdesk.db", "deploy/demo/.env"])
def test_local_state_stays_out_of_the_build_context(kept_out: str) -> None:
    dockerignore = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [p.strip() for p in dockerignore if p.strip() and not p.startswith("#")]
    assert ignored(kept_out, patterns)


def test_the_license_is_apache_2() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    # The SHA-256 of the Apache License 2.0 as the Apache Software Foundation publishes it
    # (apache.org/licenses/LICENSE-2.0.txt): the text, word for word.
    digest = hashlib.sha256((ROOT / "LICENSE").read_bytes()).hexdigest()
    assert digest == "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
