"""The config file: what loads, how each mistake is named, secrets from the environment."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.config import load_config
from core.errors import ConfigError

WORKFLOW = """
name: w
trigger: conversation_opened
steps:
  - {id: hi, type: send_message, text: hi}
  - {id: give, type: assign, team: nope}
  - {id: give2, type: assign, agent: zed}
"""
FLOW = "name: w\ntrigger: conversation_opened\nsteps: [{id: hi, type: send_message, text: hi}]\n"


def write(folder: Path, text: str, workflow: str = WORKFLOW) -> Path:
    (folder / "workflows").mkdir(exist_ok=True)
    (folder / "workflows" / "w.yaml").write_text(textwrap.dedent(workflow))
    path = folder / "frontdesk.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


def test_demo_config_loads() -> None:
    config = load_config(Path(__file__).parents[2] / "deploy" / "demo" / "frontdesk.yaml")
    assert set(config.channels) == {"webhook"}
    assert config.teams == {"sales": ["alice", "bob"], "support": ["carol", "dave"]}
    assert [w.name for w in config.workflows] == ["route-by-team"]
    assert config.store.type == "sqlite"


def test_every_problem_is_reported_with_its_place(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        server: {port: 99999}
        channels:
          webhook:
            type: webhook
            secret: short
            callback_url: not a url
          Bad Name: {type: webhook}
          fax: {type: fax}
        agents:
          alice: {status: sleeping}
        teams:
          sales: {agents: [alice, ghost]}
        workflows: [workflows/w.yaml]
        colour: red
        """,
    )
    found = problems(path)
    assert f"{path}:1: server.port: Input should be less than or equal to 65535" in found
    assert f"{path}:14: colour: unknown field" in found
    assert f"{path}:10: agents.alice.status: Input should be 'online', 'away' or 'offline'" in found


def test_channel_settings_are_checked_by_the_channel(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        channels:
          webhook:
            type: webhook
            secret: short
            callback_url: not a url
          fax: {type: fax}
        agents:
          alice: {}
        teams:
          sales: {agents: [alice, ghost]}
        workflows: [workflows/w.yaml]
        """,
    )
    found = problems(path)
    assert any(p.startswith(f"{path}:4: channels.webhook.secret:") for p in found), found
    assert any(p.startswith(f"{path}:5: channels.webhook.callback_url:") for p in found), found
    assert any(
        p.startswith(f"{path}:6: channels.fax.type: unknown channel type 'fax'") for p in found
    ), found
    assert f"{path}:10: teams.sales.agents[1]: no agent 'ghost' under agents" in found
    workflow = tmp_path / "workflows" / "w.yaml"
    assert f"{workflow}:6: steps[1].team: no team 'nope' in frontdesk.yaml" in found
    assert f"{workflow}:7: steps[2].agent: no agent 'zed' in frontdesk.yaml" in found


def test_secrets_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = """\
    api: {token: "${FD_TEST_TOKEN}"}
    channels:
      webhook:
        secret: "${FD_TEST_SECRET:-fallback-secret-0123456789}"
        callback_url: http://127.0.0.1:9/cb
    """
    path = write(tmp_path, text)
    assert problems(path) == [f"{path}:1: api.token: environment variable FD_TEST_TOKEN is not set"]
    monkeypatch.setenv("FD_TEST_TOKEN", "token-from-the-environment")
    config = load_config(path)
    assert config.api.token is not None
    assert config.api.token.get_secret_value() == "token-from-the-environment"
    settings = config.channels["webhook"].settings
    assert "fallback-secret" not in repr(settings)  # secrets never show in reprs or logs


SMALL = "{name: w, trigger: conversation_opened, steps: [{id: a, type: close_conversation}]}"


def test_missing_files_are_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        channels: {}
        workflows:
          - workflows/w.yaml
          - workflows/missing.yaml
        """,
        workflow=SMALL,
    )
    # The line of the config that names it, as for any other wrong value.
    assert problems(path) == [f"{path}:4: workflows[1]: no such file workflows/missing.yaml"]
    assert problems(tmp_path / "nope.yaml")[0].startswith(f"{tmp_path / 'nope.yaml'}: cannot read")


OK_WORKFLOW = """
name: w
trigger: conversation_opened
steps:
  - {id: hi, type: send_message, text: hi}
"""
TELEGRAM = "type: telegram, token: '123:abc', mode: polling"


def test_after_crash_is_a_setting_of_every_channel(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""\
        channels:
          webhook: {{type: webhook, secret: 0123456789abcdef, callback_url: "http://x/cb"}}
          telegram: {{{TELEGRAM}, after_crash: skip}}
        workflows: [workflows/w.yaml]
        """,
        OK_WORKFLOW,
    )
    config = load_config(path)
    assert config.after_crash() == {"webhook": "resend", "telegram": "skip"}


def test_a_wrong_after_crash_is_named_with_its_place(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        channels:
          telegram:
            type: telegram
            token: "123:abc"
            mode: polling
            after_crash: maybe
        workflows: [workflows/w.yaml]
        """,
        OK_WORKFLOW,
    )
    assert problems(path) == [
        f"{path}:6: channels.telegram.after_crash: Input should be 'resend' or 'skip'"
    ]


BOMB = """\
name: w
trigger: conversation_opened
lol: &lol [{id: a, type: close_conversation}]
more: &more [*lol, *lol, *lol, *lol, *lol, *lol, *lol, *lol, *lol]
steps: *more
"""


def test_yaml_aliases_are_refused_at_their_line(tmp_path: Path) -> None:
    """Nested aliases ("billion laughs") make a tiny file stand for billions of values."""
    path = write(tmp_path, "workflows: [workflows/w.yaml]\n", workflow=BOMB)
    assert problems(path) == [
        f"{tmp_path / 'workflows' / 'w.yaml'}:4: YAML aliases (*lol) are not supported: "
        "write the value out"
    ]
    config = write(tmp_path, "defaults: &d {status: online}\nagents:\n  ann: *d\n")
    assert problems(config) == [
        f"{config}:3: YAML aliases (*d) are not supported: write the value out"
    ]


def test_every_secret_is_known_to_the_logs(tmp_path: Path) -> None:
    telegram_token = "123456:AAtelegram-token-for-logs"
    path = write(
        tmp_path,
        f"""\
        api: {{token: api-token-0123456789}}
        secrets: {{crm: crm-token-value}}
        channels:
          tg: {{type: telegram, token: "{telegram_token}", secret_token: tg-secret-token}}
          slack:
            type: slack
            bot_token: xoxb-slack-bot-token
            signing_secret: slack-signing-secret
          webhook:
            type: webhook
            secret: webhook-secret-0123456789
            callback_url: http://127.0.0.1:9/
        workflows: [workflows/w.yaml]
        """,
        FLOW,
    )

    assert load_config(path).hidden_values() == {
        "api-token-0123456789",
        "crm-token-value",
        telegram_token,
        "tg-secret-token",
        "xoxb-slack-bot-token",
        "slack-signing-secret",
        "webhook-secret-0123456789",
    }


def test_metrics_are_on_the_main_server_unless_given_a_port(tmp_path: Path) -> None:
    flow = FLOW
    default = load_config(write(tmp_path, "workflows: [workflows/w.yaml]\n", flow)).metrics
    assert (default.enabled, default.port) == (True, None)

    path = write(tmp_path, "metrics: {port: 99999, colour: red}\n", flow)
    assert problems(path) == [
        f"{path}:1: metrics.port: Input should be less than or equal to 65535",
        f"{path}:1: metrics.colour: unknown field",
    ]
