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


def test_validate_flags_a_misspelt_template_variable(tmp_path: Path) -> None:
    typo = tmp_path / "typo.yaml"
    typo.write_text(
        "name: typo\ntrigger: conversation_opened\nsteps:\n"
        "  - {id: hi, type: send_message, text: 'Hi {{ contact.nmae }}'}\n"
        "  - {id: crm, type: send_message, text: '{{ settings.crm_ur }}'}\n"
    )
    alone = run("validate", str(typo))
    assert alone.returncode == 1
    assert f"{typo}:4: steps[0].text: unknown field contact.nmae" in alone.stderr
    assert "settings" not in alone.stderr  # without a config, any setting may exist
    beside = run("validate", str(DEMO / "frontdesk.yaml"), str(typo))
    assert beside.returncode == 1
    assert f"{typo}:5: steps[1].text: no settings.crm_ur under settings in frontdesk.yaml" in (
        beside.stderr
    )


def test_a_config_whose_workflow_reads_an_unknown_name_does_not_serve(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(
        "name: w\ntrigger: conversation_opened\nsteps:\n"
        "  - {id: hi, type: send_message, text: 'Hi {{ vars.name }}'}\n"
    )
    config = tmp_path / "frontdesk.yaml"
    config.write_text("store: {type: sqlite, path: x.db}\nworkflows: [w.yaml]\n")
    result = run("serve", "--config", str(config))
    assert result.returncode == 1
    assert "w.yaml:4: steps[0].text: vars.name is read before any step saves it" in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_chat_checks_the_workflow_against_its_config(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yaml"
    workflow.write_text(
        "name: w\ntrigger: conversation_opened\nsteps:\n  - {id: give, type: assign, team: salez}\n"
    )
    result = run("chat", str(workflow), "--config", str(DEMO / "frontdesk.yaml"), stdin="hi\n")
    assert result.returncode == 1
    assert f"{workflow}:4: steps[0].team: no team 'salez' in frontdesk.yaml" in result.stderr
    assert "bot:" not in result.stdout


def test_chat_plays_customers_agents_and_the_clock(tmp_path: Path) -> None:
    config = tmp_path / "frontdesk.yaml"
    config.write_text(
        "agents:\n  ana: {name: Ana, status: online}\n"
        "teams:\n  support: {agents: [ana], schedule: office, away_outside_schedule: true}\n"
        "schedules:\n  office: {timezone: UTC, hours: {mon: ['09:00-17:00']}}\n"
    )
    workflow = tmp_path / "w.yaml"
    workflow.write_text(
        "name: w\ntrigger: conversation_opened\nsteps:\n"
        "  - {id: hi, type: send_message, text: 'Hi {{ contact.name }} ({{ contact.email }},"
        " {{ contact.language }}, {{ conversation.channel }})'}\n"
        "  - id: give\n    type: assign\n    team: support\n"
        "    assigned_message: '{{ agent.name }} will help you.'\n"
        "    when_unavailable: [{id: queued, type: send_message, text: In the queue.}]\n"
        "  - {id: pause, type: wait, seconds: 600}\n"
        "  - {id: later, type: send_message, text: Ten minutes on.}\n"
    )
    result = run(
        "chat",
        str(workflow),
        "--config",
        str(config),
        "--at",
        "2026-11-23 16:55",
        "--name",
        "Pia",
        "--email",
        "pia@example.com",
        "--language",
        "es",
        "--channel",
        "telegram",
        stdin="hi\n/wait 300\n/as bo\nhello\n/agent ana online\n/wait 600\n/close\n/close\n"
        "/wait soon\n/agent nobody away\n",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bot: Hi Pia (pia@example.com, es, telegram)" in out
    assert out.index("bot: Ana will help you.") < out.index("(ana is away: outside")
    assert "(now writing as bo)" in out
    assert "bot: Hi bo (None, None, telegram)" in out
    assert out.index("bot: In the queue.") > out.index("(now writing as bo)")
    # Back online (by hand, after hours): the queue's customer hears who took them.
    assert out.count("bot: Ana will help you.") == 2
    assert out.count("bot: Ten minutes on.") == 2  # both waits passed within /wait 600
    assert "(closed; team=support assignee=ana)" in out
    assert "(no open conversation to close)" in out
    assert "(/wait takes a number of seconds" in out
    assert "(no agent 'nobody')" in out
