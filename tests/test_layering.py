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


def imports(path: Path, root: Path = ROOT) -> set[str]:
    """The top-level packages the module imports, and `adapters.<name>` for each adapter,
    however it is spelled: `import adapters.x.y`, `from adapters import x`, `from ..x import y`
    (relative imports are resolved from the module's place under `root`)."""
    tree = ast.parse(path.read_text(), str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(path, root, node)
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    found: set[str] = set()
    for name in names:
        parts = name.split(".")
        found.add(parts[0])
        if parts[0] == "adapters" and len(parts) > 1:
            found.add(".".join(parts[:2]))
    return found


def _absolute(path: Path, root: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = path.relative_to(root).parent.parts
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_imports_nothing_outward(path: Path) -> None:
    assert imports(path) & FORBIDDEN_IN_CORE == set()


def foreign_adapters(path: Path, root: Path = ROOT) -> set[str]:
    """The adapters a module under `root / "adapters"` imports, other than its own."""
    own = f"adapters.{path.relative_to(root / 'adapters').parts[0].removesuffix('.py')}"
    return {name for name in imports(path, root) if name.startswith("adapters.") and name != own}


def test_adapters_do_not_import_each_other() -> None:
    # Each package or module under adapters/ is one adapter; adapters/__init__.py is none.
    for path in modules("adapters"):
        if path != ROOT / "adapters" / "__init__.py":
            assert foreign_adapters(path) == set(), path


@pytest.mark.parametrize("path", modules("storage"), ids=lambda p: p.name)
def test_stores_import_no_adapter(path: Path) -> None:
    assert "adapters" not in imports(path)


def test_the_rule_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from storage.sqlite import SqliteStore\nimport aiogram.types\n")
    assert imports(bad) & FORBIDDEN_IN_CORE == {"storage", "aiogram"}


@pytest.mark.parametrize(
    "statement",
    [
        "import adapters.slack.channel",
        "from adapters import slack",
        "from adapters.slack.channel import SlackChannel",
        "from ..slack import channel",
        "from ...adapters.slack import channel",
    ],
)
def test_the_rule_sees_an_adapter_importing_another(tmp_path: Path, statement: str) -> None:
    bad = tmp_path / "adapters" / "telegram" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text(f"{statement}\nfrom adapters.telegram import bot\nfrom . import parse\n")

    assert foreign_adapters(bad, tmp_path) == {"adapters.slack"}


def desk_platforms_named(root: Path) -> list[str]:
    """The files under `root` that name the desk platform frontdesk ships (its addresses,
    its SDKs' loggers): core should know desk channels only through the desk port."""
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix in (".py", ".yaml", ".html", ".js", ".css", ".md", ".txt")
        and "slack" in path.read_text(encoding="utf-8").lower()
    )


def test_core_names_no_desk_platform() -> None:
    assert desk_platforms_named(ROOT / "core") == []


def test_the_desk_rule_sees_a_platform_named(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text("class Agent:\n    slack_user_id: str\n")
    (tmp_path / "ok.py").write_text("class Agent:\n    desk: dict[str, str]\n")

    assert desk_platforms_named(tmp_path) == ["models.py"]
