"""`frontdesk slack check`, against the fake Web API."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner, Result

from adapters.slack.cli import slack
from tests.adapters.slack.fake_web_api import TOKEN, FakeWebApi, serving


async def run(*args: str) -> Result:
    # The command runs its own event loop (asyncio.run): a thread of its own, while this
    # test's loop keeps serving the fake.
    return await asyncio.to_thread(CliRunner().invoke, slack, list(args))


def config_file(folder: Path, base_url: str, token: str = TOKEN) -> Path:
    path = folder / "frontdesk.yaml"
    path.write_text(
        f"""
channels:
  desk:
    type: slack
    bot_token: {token}
    signing_secret: s3cret
    base_url: {base_url}
  hooks: {{type: webhook, secret: s3cret-s3cret-s3cret, callback_url: "http://127.0.0.1:9/x"}}
agents:
  carol: {{name: Carol, desk: {{desk: UCAROL}}}}
  dave: {{name: Dave, desk: {{desk: UGONE}}}}
  erin: {{name: Erin}}
"""
    )
    return path


async def test_check_names_the_bot_and_each_agents_problem(
    tmp_path: Path, web_api: FakeWebApi
) -> None:
    web_api.add_user("UCAROL", "Carol Diaz")
    config = str(config_file(tmp_path, web_api.url))

    result = await run("check", "--config", config, "--channel", "desk")

    assert result.exit_code == 1
    assert result.stdout == "bot: UBOT in team Fake\nagent carol: UCAROL (Carol Diaz)\n"
    assert "problem: agent dave: UGONE is user_not_found" in result.stderr
    assert "problem: agent erin has no Slack id (agents.erin.desk.desk)" in result.stderr
    assert TOKEN not in result.output


async def test_check_passes_when_everything_is_right(tmp_path: Path, web_api: FakeWebApi) -> None:
    web_api.add_user("UCAROL", "Carol Diaz")
    web_api.add_user("UGONE", "Dave")
    config = config_file(tmp_path, web_api.url)
    config.write_text(config.read_text().replace("  erin: {name: Erin}\n", ""))

    result = await run("check", "--config", str(config), "--channel", "desk")

    assert result.exit_code == 0, result.output


async def test_a_wrong_token_is_said_plainly(tmp_path: Path, web_api: FakeWebApi) -> None:
    config = str(config_file(tmp_path, web_api.url, token="xoxb-wrong"))

    result = await run("check", "--config", config, "--channel", "desk")

    assert result.exit_code == 1
    assert "auth.test said invalid_auth: check bot_token" in result.stderr
    assert "xoxb-wrong" not in result.output


async def test_check_refuses_a_channel_that_is_not_slack(
    tmp_path: Path, web_api: FakeWebApi
) -> None:
    config = str(config_file(tmp_path, web_api.url))

    result = await run("check", "--config", config, "--channel", "hooks")

    assert result.exit_code == 2
    assert "channel 'hooks' is a webhook channel, not a slack one" in result.output


async def test_a_web_api_that_cannot_be_reached_is_said_plainly(tmp_path: Path) -> None:
    async with serving() as gone:
        url = gone.url
    config = str(config_file(tmp_path, url))

    result = await run("check", "--config", config, "--channel", "desk")

    assert result.exit_code == 1
    assert f"problem: cannot reach {url}: ClientConnectorError" in result.stderr
