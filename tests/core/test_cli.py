"""The `frontdesk` command as a person runs it: validate and chat."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FRONTDESK = Path(sys.executable).parent / "frontdesk"
DEMO = Path(__file__).resolve().parents[2] / "deploy" / "demo"


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FRONTDESK), *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_validate_accepts_the_demo() -> None:
    result = run(
        "validate", str(DEMO / "frontdesk.yaml"), str(DEMO / "workflows" / "route-by-team.yaml")
    )
    assert result.returncode == 0, result.stderr
    assert "frontdesk.yaml: ok (config)" in result.stdout
    assert "route-by-team.yaml: ok (workflow)" in result.stdout


def test_validate_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "team.yaml"
    options = "".join(f"      - {{id: o{i}, label: L{i}}}\n" for i in range(11))
    bad.write_text(
        "name: team\ntrigger: conversation_opened\nsteps:\n"
        "  - id: ask\n    type: ask_question\n    text: Pick\n    answer: multiple_choice\n"
        "    options:\n" + options
    )
    result = run("validate", str(DEMO / "frontdesk.yaml"), str(bad))
    assert result.returncode == 1
    assert f"{bad}:8: steps[0].options: at most 10 options" in result.stderr
    assert "frontdesk.yaml: ok (config)" in result.stdout


def test_serve_refuses_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "frontdesk.yaml"
    config.write_text("channels:\n  webhook: {secret: short, callback_url: http://x}\n")
    result = run("serve", "--config", str(config))
    assert result.returncode == 1
    assert f"{config}:2: channels.webhook.secret:" in result.stderr


def test_chat_walks_the_demo_workflow() -> None:
    result = run(
        "chat",
        str(DEMO / "workflows" / "route-by-team.yaml"),
        "--config",
        str(DEMO / "frontdesk.yaml"),
        stdin="hello\nsomething else\nsupport\n/quit\n",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bot: Hi You! Welcome to Example Co." in out
    assert "bot: Which team would you like to talk to?" in out
    assert "     1. Sales  [sales]" in out
    assert "bot: Please pick Sales or Support (you can type 1 or 2)." in out
    assert "▸ assign_support (assign)" in out
    assert "bot: Thanks! Carol from Support will help you shortly." in out
    assert "(open; team=support assignee=carol)" in out


def test_chat_without_config_and_skip_a_wait(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yaml"
    workflow.write_text(
        "name: w\ntrigger: conversation_opened\nsteps:\n"
        "  - {id: pause, type: wait, seconds: 60}\n"
        "  - {id: give, type: assign, team: billing}\n"
        "  - {id: told, type: send_message, text: 'You have {{ agent.name }}'}\n"
    )
    result = run("chat", str(workflow), stdin="hi\n/skip\n")
    assert result.returncode == 0, result.stderr
    assert "(a wait is due in 60s: /skip to pass it)" in result.stdout
    assert "bot: You have billing-agent" in result.stdout


def test_a_wrong_log_level_or_format_is_refused_by_name() -> None:
    flag = run("--log-format", "xml", "templates")
    assert flag.returncode == 2
    assert "'xml' is not one of 'text', 'json'" in flag.stderr

    env = subprocess.run(
        [str(FRONTDESK), "templates"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FRONTDESK_LOG_LEVEL": "LOUD"},
    )
    assert env.returncode == 2
    assert "FRONTDESK_LOG_LEVEL='LOUD'" in env.stderr
    assert env.stdout == ""
