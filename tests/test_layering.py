"""Dependencies point inward: core imports no adapter, store, platform SDK or driver; no
adapter imports another; stores import no adapter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_CORE = {
    "adapters",
    "storage",
    "aiogram",
    "telegram",
    "slack_bolt",
    "slack_sdk",
    "aiosqlite",
    "asyncpg",
    "psycopg",
    "sqlite3",
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
            if node.module == "adapters" or node.module.startswith("adapters."):
                found.add(".".join(node.module.split(".")[:2]))
    return found


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_imports_nothing_outward(path: Path) -> None:
    assert imports(path) & FORBIDDEN_IN_CORE == set()


def test_adapters_do_not_import_each_other() -> None:
    for package in (
        p for p in (ROOT / "adapters").iterdir() if p.is_dir() and p.name != "__pycache__"
    ):
        for path in package.rglob("*.py"):
            others = {
                name
                for name in imports(path)
                if name.startswith("adapters.") and name != f"adapters.{package.name}"
            }
            assert others == set(), path


@pytest.mark.parametrize("path", modules("storage"), ids=lambda p: p.name)
def test_stores_import_no_adapter(path: Path) -> None:
    assert "adapters" not in imports(path)


def test_the_rule_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from storage.sqlite import SqliteStore\nimport aiogram.types\n")
    assert imports(bad) & FORBIDDEN_IN_CORE == {"storage", "aiogram"}
