"""First run: `frontdesk init` makes fresh secrets, and `serve` will not put a known default
secret on an address other machines can reach."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from dotenv import dotenv_values

from core import default_secrets
from core.config import load_config
from tests.support.process import FRONTDESK, free_port, serving, until_healthy

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "deploy" / "demo"
DEMO_SECRETS = ("demo-api-token-change-me", "demo-webhook-secret-change-me")
OURS = ("FRONTDESK_API_TOKEN", "FRONTDESK_WEBHOOK_SECRET")


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without frontdesk's secrets, plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if k not in OURS}, **extra}


def init(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`.venv/bin/frontdesk init ...` typed in `cwd`, as the README has it."""
    venv = cwd / ".venv"
    if not venv.exists():
        venv.symlink_to(Path(sys.executable).parents[1])
    return subprocess.run(
        [".venv/bin/frontdesk", "init", *args],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_init_writes_fresh_secrets_only_its_owner_can_read(tmp_path: Path) -> None:
    first = init(tmp_path, "mydesk", "--template", "vip-routing")
    second = init(tmp_path, "other", "--template", "vip-routing")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert f"wrote {Path('mydesk') / '.env'}" in first.stdout.splitlines()
    dotenv = tmp_path / "mydesk" / ".env"
    assert dotenv.stat().st_mode & 0o777 == 0o600
    values = dotenv_values(dotenv)
    assert sorted(values) == sorted(OURS)
    others = dotenv_values(tmp_path / "other" / ".env")
    for name in OURS:
        value = values[name]
        assert value is not None
        assert len(value) >= 40
        assert not default_secrets.is_known(value)
        assert value != others[name]  # each copy its own


def test_the_config_init_wrote_runs_on_its_dotenv(tmp_path: Path) -> None:
    assert init(tmp_path, "mydesk", "--template", "round-robin").returncode == 0
    config = load_config(tmp_path / "mydesk" / "frontdesk.yaml")
    assert config.api.token is not None
    values = dotenv_values(tmp_path / "mydesk" / ".env")
    assert config.api.token.get_secret_value() == values["FRONTDESK_API_TOKEN"]


def test_init_prints_the_next_command_as_the_readme_shows_it(tmp_path: Path) -> None:
    result = init(tmp_path, "mydesk", "--template", "vip-routing")
    next_line = result.stdout.splitlines()[-1]
    assert next_line == (
        "next: .venv/bin/frontdesk validate mydesk/frontdesk.yaml"
        " && .venv/bin/frontdesk serve --config mydesk/frontdesk.yaml"
    )
    assert next_line in (ROOT / "README.md").read_text()
    validate = shlex.split(next_line.removeprefix("next: ").split(" && ")[0])
    checked = subprocess.run(
        validate, cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == "mydesk/frontdesk.yaml: ok (config)\n"


def test_init_overwrites_nothing(tmp_path: Path) -> None:
    assert init(tmp_path, "mydesk", "--template", "least-open").returncode == 0
    dotenv = tmp_path / "mydesk" / ".env"
    before = dotenv.read_text()
    (tmp_path / "mydesk" / "frontdesk.yaml").unlink()  # only the .env stands in the way
    shutil.rmtree(tmp_path / "mydesk" / "workflows")
    again = init(tmp_path, "mydesk", "--template", "least-open")
    assert again.returncode == 1
    assert again.stderr == f"would overwrite {Path('mydesk') / '.env'}\n"
    assert dotenv.read_text() == before
    assert not (tmp_path / "mydesk" / "frontdesk.yaml").exists()


def demo_on(folder: Path, host: str, port: int = 8080) -> Path:
    """The demo (its well-known secrets included) listening on `host`."""
    shutil.copytree(DEMO, folder, dirs_exist_ok=True)
    config = folder / "frontdesk.yaml"
    text = config.read_text().replace("host: 127.0.0.1", f'host: "{host}"')
    config.write_text(text.replace("port: 8080", f"port: {port}"))
    return config


def serve(config: Path, *options: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FRONTDESK), "serve", "--config", str(config), *options],
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "support.example.com"])
def test_serve_refuses_known_secrets_beyond_loopback(tmp_path: Path, host: str) -> None:
    config = demo_on(tmp_path, host)
    result = serve(config)
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{config}: api.token, channels.webhook.secret: a known default secret")
    assert f"listen on {host};" in line
    assert "--insecure-demo" in line
    assert not any(secret in result.stderr for secret in DEMO_SECRETS)
    assert not (tmp_path / "frontdesk-demo.db").exists()  # nothing was started


def test_serve_names_only_the_secrets_still_at_their_default(tmp_path: Path) -> None:
    result = serve(demo_on(tmp_path, "0.0.0.0"), FRONTDESK_API_TOKEN="my-own-token-0123456789")
    assert result.returncode == 2
    assert ": channels.webhook.secret: a known default secret" in result.stderr
    assert "api.token" not in result.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_needs_no_own_secrets(tmp_path: Path, host: str) -> None:
    assert default_secrets.refusal(load_config(demo_on(tmp_path, host))) is None


def test_own_secrets_need_no_flag(tmp_path: Path) -> None:
    config = demo_on(tmp_path, "0.0.0.0")
    (tmp_path / ".env").write_text(
        "FRONTDESK_API_TOKEN=my-own-token-0123456789\nFRONTDESK_WEBHOOK_SECRET=my-own-secret-0123\n"
    )
    assert default_secrets.refusal(load_config(config)) is None


@pytest.mark.parametrize(
    ("host", "options"),
    [("127.0.0.1", ()), ("0.0.0.0", ("--insecure-demo",))],
    ids=["loopback", "insecure-demo"],
)
async def test_serve_starts(
    tmp_path: Path,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    options: tuple[str, ...],
) -> None:
    for name in OURS:
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    config = demo_on(tmp_path, host, port)
    async with serving(config, tmp_path / "serve.log", serve_options=options) as process:
        await until_healthy(http, f"http://127.0.0.1:{port}")
        assert process.returncode is None
