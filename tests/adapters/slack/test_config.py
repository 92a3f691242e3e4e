"""The desk in a config file: the Slack example validates, and mistakes name file, line and
field."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.config import load_config
from core.errors import ConfigError

FRONTDESK = Path(sys.executable).parent / "frontdesk"
EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "slack"
ENVIRONMENT = {
    "FRONTDESK_API_TOKEN": "an-api-token-of-some-length",
    "FRONTDESK_WEBHOOK_SECRET": "a-webhook-secret-of-some-length",
    "FRONTDESK_CALLBACK_URL": "https://crm.example.com/frontdesk",
    "FRONTDESK_SLACK_BOT_TOKEN": "xoxb-1-example",
    "FRONTDESK_SLACK_SIGNING_SECRET": "0123456789abcdef",
    "SLACK_ID_CAROL": "U01",
    "SLACK_ID_DAVE": "U02",
    "SLACK_ID_ALICE": "U03",
    "SLACK_SUPPORT_CHANNEL": "C01",
}


def test_the_slack_example_validates() -> None:
    result = subprocess.run(
        [str(FRONTDESK), "validate", str(EXAMPLE / "frontdesk.yaml")],
        capture_output=True,
        text=True,
        env={**os.environ, **ENVIRONMENT},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "frontdesk.yaml: ok (config)" in result.stdout


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "frontdesk.yaml"
    path.write_text(
        textwrap.dedent(
            """
            channels:
              hook: {type: webhook, secret: a-webhook-secret-of-some-length,
                     callback_url: "http://127.0.0.1:9/x"}
              slack: {type: slack, bot_token: xoxb-1-x, signing_secret: s3cret}
            agents:
              carol: {desk: {slack: U01}}
            """
        )
        + textwrap.dedent(body)
    )
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


def test_the_desk_must_be_a_channel_agents_can_work_in(tmp_path: Path) -> None:
    path = config(tmp_path, "desk: {channel: hook}\n")
    [problem] = problems(path)
    assert "desk.channel" in problem
    assert "of type webhook, where agents cannot work" in problem


def test_the_desk_channel_must_exist(tmp_path: Path) -> None:
    [problem] = problems(config(tmp_path, "desk: {channel: slak}\n"))
    assert problem.endswith("desk.channel: no channel 'slak'")


def test_desk_settings_are_checked(tmp_path: Path) -> None:
    [problem] = problems(config(tmp_path, "desk: {channel: slack, notify: everyone}\n"))
    assert problem.endswith(":8: desk.notify: Input should be 'dm', 'team' or 'both'")


def test_away_outside_schedule_needs_a_known_schedule(tmp_path: Path) -> None:
    body = """
    teams:
      support: {agents: [carol], schedule: office, away_outside_schedule: true}
    """
    [problem] = problems(config(tmp_path, body))
    assert "teams.support.schedule: no schedule 'office'" in problem


def test_a_desk_config_loads(tmp_path: Path) -> None:
    body = """
    desk: {channel: slack, notify: both}
    teams:
      support: {agents: [carol], desk: {slack: C01}}
    """
    loaded = load_config(config(tmp_path, body))
    assert loaded.desk is not None
    assert loaded.desk.settings.notify == "both"
    assert loaded.addresses.of_team("slack", "support") == "C01"
    assert loaded.desk.channel_types == {"hook": "webhook", "slack": "slack"}


def test_a_slack_address_is_checked_by_the_slack_channel(tmp_path: Path) -> None:
    body = """
    teams:
      support: {agents: [carol], desk: {slack: "# support"}}
    """
    path = config(tmp_path, body)
    path.write_text(path.read_text().replace("desk: {slack: U01}", "desk: {slack: carol}"))

    first, second = problems(path)

    assert first.endswith(
        ":7: agents.carol.desk.slack: String should match pattern '^[UW][A-Z0-9]+$'"
    )
    assert second.endswith(":10: teams.support.desk.slack: String should match pattern '^\\S+$'")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "frontdesk.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_the_slack_keys_of_before_still_load_with_one_warning_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path,
        """
        channels:
          hook: {type: webhook, secret: a-webhook-secret-of-some-length,
                 callback_url: "http://127.0.0.1:9/x"}
          helpdesk: {type: slack, bot_token: xoxb-1-x, signing_secret: s3cret}
        desk: {channel: helpdesk, notify: both}
        agents:
          carol: {slack_user_id: U01}
          dave: {slack_user_id: U02}
          erin: {slack_user_id: ""}
        teams:
          support: {agents: [carol, dave], slack_channel: C01}
        """,
    )
    with caplog.at_level(logging.WARNING, logger="frontdesk.config"):
        loaded = load_config(path)

    assert loaded.addresses.agents == {"carol": {"helpdesk": "U01"}, "dave": {"helpdesk": "U02"}}
    assert loaded.addresses.teams == {"support": {"helpdesk": "C01"}}
    assert [record.getMessage() for record in caplog.records] == [
        f"{path}:8: agents.carol.slack_user_id is deprecated: write agents.carol.desk.helpdesk "
        "instead (and 2 more)",
        f"{path}:12: teams.support.slack_channel is deprecated: write "
        "teams.support.desk.helpdesk instead",
    ]


def test_a_slack_key_of_before_without_a_slack_channel_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path,
        """
        channels:
          hook: {type: webhook, secret: a-webhook-secret-of-some-length,
                 callback_url: "http://127.0.0.1:9/x"}
        agents:
          carol: {name: Carol, slack_user_id: U01}
        """,
    )
    with caplog.at_level(logging.WARNING, logger="frontdesk.config"):
        loaded = load_config(path)

    assert [agent.name for agent in loaded.agents] == ["Carol"]
    assert loaded.addresses.agents == {}
    assert [record.getMessage() for record in caplog.records] == [
        f"{path}:6: agents.carol.slack_user_id is deprecated and ignored: no channel of its "
        "type is configured"
    ]
