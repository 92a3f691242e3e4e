"""A `.env` beside the config fills its `${NAME}` references; the environment wins over it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.config import load_config
from core.errors import ConfigError

CONFIG = """\
api: {token: "${FD_TEST_TOKEN}"}
channels:
  webhook:
    secret: "${FD_TEST_SECRET:-fallback-secret-0123456789}"
    callback_url: http://127.0.0.1:9/cb
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FD_TEST_TOKEN", raising=False)
    monkeypatch.delenv("FD_TEST_SECRET", raising=False)


def write(folder: Path, dotenv: str | None) -> Path:
    config = folder / "frontdesk.yaml"
    config.write_text(CONFIG)
    if dotenv is not None:
        (folder / ".env").write_text(textwrap.dedent(dotenv))
    return config


def secrets_of(config: Path) -> tuple[str, str]:
    loaded = load_config(config)
    assert loaded.api.token is not None
    secret = getattr(loaded.channels["webhook"].settings, "secret")  # noqa: B009
    return loaded.api.token.get_secret_value(), secret.get_secret_value()


def problems(config: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    return [str(p) for p in caught.value.problems]


def test_the_config_reads_the_dotenv_beside_it(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """\
        # made by hand
        FD_TEST_TOKEN=token-from-dotenv-0123
        export FD_TEST_SECRET="secret from dotenv 0123"
        """,
    )
    assert secrets_of(config) == ("token-from-dotenv-0123", "secret from dotenv 0123")


def test_the_environment_wins_over_the_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path, "FD_TEST_TOKEN=token-from-dotenv-0123\n")
    monkeypatch.setenv("FD_TEST_TOKEN", "token-from-the-environment")
    assert secrets_of(config) == ("token-from-the-environment", "fallback-secret-0123456789")


def test_a_dotenv_elsewhere_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("FD_TEST_TOKEN=token-from-the-working-dir\n")
    (tmp_path / "conf").mkdir()
    config = write(tmp_path / "conf", None)
    monkeypatch.chdir(tmp_path)
    assert problems(config) == [
        f"{config}:1: api.token: environment variable FD_TEST_TOKEN is not set"
    ]


def test_a_bad_dotenv_line_is_named_by_line_without_its_text(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """\
        FD_TEST_TOKEN=token-from-dotenv-0123

        this is not an assignment s3cr3t
        FD_TEST_SECRET
        """,
    )
    dotenv = tmp_path / ".env"
    found = problems(config)
    assert found == [
        f"{dotenv}:3: expected NAME=value",
        f"{dotenv}:4: FD_TEST_SECRET: has no value",
    ]
    assert "s3cr3t" not in "".join(found)


def test_an_unreadable_dotenv_is_a_problem(tmp_path: Path) -> None:
    config = write(tmp_path, None)
    (tmp_path / ".env").mkdir()  # not a file
    found = problems(config)
    assert found[0].startswith(f"{tmp_path / '.env'}: cannot read file")
