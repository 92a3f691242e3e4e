"""compose.yaml and the container's config: read as Compose would, and the config checked by
the real loader where the container would see it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from dotenv import dotenv_values

from core import default_secrets
from core.config import load_config

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "deploy" / "docker"
FRONTDESK = Path(sys.executable).parent / "frontdesk"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((HERE / "compose.yaml").read_text())
    return found


def binds(service: dict[str, Any]) -> list[tuple[Path, str]]:
    """(folder on the host, path in the container) of each bind mount."""
    found = []
    for volume in service["volumes"]:
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            found.append(((HERE / source).resolve(), target))
    return found


def container_files(service: dict[str, Any], root: Path) -> Path:
    """The service's bind mounts laid out under `root` as the container sees them."""
    for source, target in binds(service):
        placed = root / target.lstrip("/")
        placed.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, placed)
        else:
            shutil.copy(source, placed)
    return root / "etc" / "frontdesk" / "frontdesk.yaml"


def example_environment(service: dict[str, Any]) -> dict[str, str]:
    values = dotenv_values(HERE / f"{service['env_file']}.example")
    return {name: value for name, value in values.items() if value is not None}


def test_the_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"frontdesk", "postgres"}
    frontdesk = compose["services"]["frontdesk"]
    context = (HERE / frontdesk["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / frontdesk["build"]["dockerfile"]) == HERE / "Dockerfile"
    assert frontdesk["ports"] == ["127.0.0.1:8080:8080"]
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == "postgres:16"


def test_every_env_file_has_an_example(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        example = HERE / f"{service['env_file']}.example"
        assert example.is_file(), example
        assert not (HERE / service["env_file"]).exists()  # real secrets are never committed


def test_healthchecks(compose: dict[str, Any]) -> None:
    frontdesk = compose["services"]["frontdesk"]["healthcheck"]
    assert frontdesk["test"][:3] == ["CMD", "python", "-c"]
    assert "http://127.0.0.1:8080/readyz" in frontdesk["test"][3]
    assert frontdesk["test"][3] in (HERE / "Dockerfile").read_text()  # the image's own check
    postgres = compose["services"]["postgres"]["healthcheck"]
    assert postgres["test"][0] == "CMD-SHELL"
    assert postgres["test"][1].startswith("pg_isready ")


def test_volumes(compose: dict[str, Any]) -> None:
    named = {
        volume.split(":")[0]: volume.split(":")[1]
        for service in compose["services"].values()
        for volume in service["volumes"]
        if not volume.startswith(".")
    }
    assert named == {
        "frontdesk-data": "/var/lib/frontdesk",
        "postgres-data": "/var/lib/postgresql/data",
    }
    assert set(compose["volumes"]) == set(named)
    for source, _ in binds(compose["services"]["frontdesk"]):
        assert source.exists(), source


def test_the_mounted_config_validates(compose: dict[str, Any], tmp_path: Path) -> None:
    service = compose["services"]["frontdesk"]
    config = container_files(service, tmp_path)
    environment = {**os.environ, **example_environment(service)}
    result = subprocess.run(
        [str(FRONTDESK), "validate", str(config)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{config}: ok (config)\n"


def test_the_container_config_listens_everywhere_and_stores_on_the_volume(
    compose: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = compose["services"]["frontdesk"]
    for name, value in example_environment(service).items():
        monkeypatch.setenv(name, value)
    config = load_config(container_files(service, tmp_path))
    assert config.server.host == "0.0.0.0"
    assert config.server.port == 8080
    assert getattr(config.store.settings, "path") == "/var/lib/frontdesk/frontdesk.db"  # noqa: B009
    # Left as in the example, the secrets keep the server from starting.
    reason = default_secrets.refusal(config)
    assert reason is not None
    assert ": api.token, channels.webhook.secret: a known default secret" in reason


def test_without_its_secrets_the_container_config_names_them(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    config = container_files(compose["services"]["frontdesk"], tmp_path)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    result = subprocess.run(
        [str(FRONTDESK), "validate", str(config)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    for name in ("FRONTDESK_API_TOKEN", "FRONTDESK_WEBHOOK_SECRET", "FRONTDESK_CALLBACK_URL"):
        assert f"environment variable {name} is not set" in result.stderr
