"""A frontdesk with a Telegram channel whose Bot API is the fake, and what its customer sees
in the route-by-team journey."""

from __future__ import annotations

from pathlib import Path

from tests.adapters.telegram.fake_bot_api import TOKEN, FakeBotApi
from tests.adapters.telegram.fakes import CHAT_ID, SECRET_TOKEN
from tests.support.harness import write_config

CHAT = str(CHAT_ID)
WELCOME = "Hi Ana García! Welcome to Example Co."
QUESTION = "Which team would you like to talk to?"
THANKS = "Thanks! Alice from Sales will help you shortly."


def telegram_channel(
    base_url: str, mode: str = "webhook", per_chat_interval_seconds: float = 0
) -> str:
    """The `channels` entry of a telegram channel called `telegram` whose Bot API is the fake
    at `base_url` (in polling mode, without a secret_token). The per-chat spacing is off
    unless asked for, so that a test sees a workflow's messages without moving the clock."""
    secret = f"secret_token: {SECRET_TOKEN}" if mode == "webhook" else ""
    return f"""
  telegram:
    type: telegram
    token: "{TOKEN}"
    mode: {mode}
    {secret}
    base_url: {base_url}
    per_chat_interval_seconds: {per_chat_interval_seconds}
"""


def write_telegram_config(
    folder: Path,
    base_url: str,
    workflow: str,
    mode: str = "webhook",
    per_chat_interval_seconds: float = 0,
) -> Path:
    """`harness.write_config` with the telegram channel beside the webhook one (which these
    tests do not use), and `workflow` as workflows/route-by-team.yaml."""
    return write_config(
        folder,
        "http://127.0.0.1:9/unused",
        {"route-by-team": workflow},
        channels=telegram_channel(base_url, mode, per_chat_interval_seconds),
    )


def texts(api: FakeBotApi) -> list[str]:
    return [c.params["text"] for c in api.of("sendMessage")]
