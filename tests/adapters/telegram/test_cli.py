"""`frontdesk telegram set-webhook`, `delete-webhook` and `info`, against the fake Bot API."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner, Result

from adapters.telegram.cli import telegram
from tests.adapters.telegram.fake_bot_api import TOKEN, FakeBotApi
from tests.adapters.telegram.fakes import SECRET_TOKEN


async def run(*args: str) -> Result:
    # The command runs its own event loop (asyncio.run), so it gets a thread of its own while
    # this test's loop keeps serving the fake.
    return await asyncio.to_thread(CliRunner().invoke, telegram, list(args))


def config_file(folder: Path, base_url: str) -> Path:
    path = folder / "frontdesk.yaml"
    path.write_text(
        f"""
store: {{type: sqlite, path: frontdesk.db}}
channels:
  bot:
    type: telegram
    token: "{TOKEN}"
    secret_token: {SECRET_TOKEN}
    base_url: {base_url}
  polled:
    type: telegram
    token: "{TOKEN}"
    mode: polling
    base_url: {base_url}
  hooks:
    type: webhook
    secret: s3cret-s3cret-s3cret
    callback_url: http://127.0.0.1:9/callback
"""
    )
    return path


async def test_set_webhook_gives_telegram_the_url_and_secret(
    tmp_path: Path, bot_api: FakeBotApi
) -> None:
    config = str(config_file(tmp_path, bot_api.url))
    url = "https://fd.example.com/bot/updates"

    result = await run("set-webhook", "--config", config, "--channel", "bot", "--url", url)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"webhook set to {url}\n"
    [call] = bot_api.of("setWebhook")
    assert call.params == {
        "url": url,
        "secret_token": SECRET_TOKEN,
        "allowed_updates": ["message", "callback_query"],
        "drop_pending_updates": "false",
    }
    assert SECRET_TOKEN not in result.output
    assert TOKEN not in result.output


async def test_a_refused_token_says_what_to_do(tmp_path: Path, bot_api: FakeBotApi) -> None:
    config = str(config_file(tmp_path, bot_api.url))
    bot_api.token = "999:a-token-telegram-revoked"

    result = await run("info", "--config", config, "--channel", "bot")

    assert result.exit_code == 1
    assert "telegram bot: the bot token was refused (401 Unauthorized)" in result.output
    assert "@BotFather" in result.output
    assert TOKEN not in result.output


async def test_info_then_delete_webhook(tmp_path: Path, bot_api: FakeBotApi) -> None:
    config = str(config_file(tmp_path, bot_api.url))
    bot_api.webhook_url = "https://fd.example.com/bot/updates"

    shown = await run("info", "--config", config, "--channel", "bot")
    deleted = await run("delete-webhook", "--config", config, "--channel", "bot")
    after = await run("info", "--config", config, "--channel", "bot")

    assert (shown.exit_code, deleted.exit_code, after.exit_code) == (0, 0, 0)
    assert shown.stdout.splitlines() == [
        "bot: @fd_bot (123456)",
        "url: https://fd.example.com/bot/updates",
        "pending updates: 0",
    ]
    assert deleted.stdout == "webhook deleted\n"
    assert "url: (none: updates are not pushed)" in after.stdout
    assert [c.method for c in bot_api.calls] == [
        "getMe",
        "getWebhookInfo",
        "deleteWebhook",
        "getMe",
        "getWebhookInfo",
    ]


async def test_an_api_error_is_reported_without_the_token(
    tmp_path: Path, bot_api: FakeBotApi
) -> None:
    config = str(config_file(tmp_path, bot_api.url))
    bot_api.fail_next("deleteWebhook", 500)

    result = await run("delete-webhook", "--config", config, "--channel", "bot")

    assert result.exit_code == 1
    assert "the Bot API said no" in result.output
    assert "Internal Server Error" in result.output
    assert TOKEN not in result.output


async def test_the_channel_must_be_a_telegram_one(tmp_path: Path, bot_api: FakeBotApi) -> None:
    config = str(config_file(tmp_path, bot_api.url))

    missing = await run("info", "--config", config)
    other = await run("info", "--config", config, "--channel", "hooks")

    assert missing.exit_code == 2
    assert "has no channel 'telegram'" in missing.output
    assert other.exit_code == 2
    assert "is a webhook channel, not a telegram one" in other.output
    assert bot_api.calls == []


async def test_set_webhook_notes_a_url_that_is_not_the_channels_endpoint(
    tmp_path: Path, bot_api: FakeBotApi
) -> None:
    config = str(config_file(tmp_path, bot_api.url))
    url = "https://fd.example.com/telegram/updates"

    result = await run("set-webhook", "--config", config, "--channel", "bot", "--url", url)

    assert result.exit_code == 0, result.output
    assert result.stderr == "note: the channel's endpoint path is /bot/updates\n"
    assert bot_api.webhook_url == url


async def test_set_webhook_refuses_a_channel_that_is_not_in_webhook_mode(
    tmp_path: Path, bot_api: FakeBotApi
) -> None:
    config = str(config_file(tmp_path, bot_api.url))
    url = "https://fd.example.com/polled/updates"

    result = await run("set-webhook", "--config", config, "--channel", "polled", "--url", url)

    assert result.exit_code == 2
    assert "channel 'polled' is in polling mode" in result.stderr
    assert bot_api.calls == []
