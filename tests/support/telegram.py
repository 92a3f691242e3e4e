"""A frontdesk with a Telegram channel whose Bot API is the fake, and what its customer sees
in the route-by-team journey."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.adapters.telegram.fake_bot_api import TOKEN, FakeBotApi
from tests.adapters.telegram.fakes import CHAT_ID, SECRET_TOKEN
from tests.support.harness import API_TOKEN, DIRECTORY

CHAT = str(CHAT_ID)
WELCOME = "Hi Ana García! Welcome to Example Co."
QUESTION = "Which team would you like to talk to?"
THANKS = "Thanks! Alice from Sales will help you shortly."


def write_telegram_config(
    folder: Path,
    base_url: str,
    workflow: str,
    mode: str = "webhook",
    per_chat_interval_seconds: float = 0,
) -> Path:
    """Like `harness.write_config`, with one telegram channel called `telegram` (in polling
    mode without a secret_token). The per-chat spacing is off unless asked for, so that a
    test sees a workflow's messages without moving the clock between them."""
    secret = f"secret_token: {SECRET_TOKEN}" if mode == "webhook" else ""
    (folder / "workflows").mkdir(exist_ok=True)
    (folder / "workflows" / "route-by-team.yaml").write_text(workflow)
    config = folder / "frontdesk.yaml"
    config.write_text(
        f"""
server: {{host: 127.0.0.1, port: 0}}
store: {{type: sqlite, path: frontdesk.db}}
api: {{token: {API_TOKEN}}}
outbox: {{base_delay_seconds: 1, max_delay_seconds: 60, max_attempts: 5}}
channels:
  telegram:
    type: telegram
    token: "{TOKEN}"
    mode: {mode}
    {secret}
    base_url: {base_url}
    per_chat_interval_seconds: {per_chat_interval_seconds}
{textwrap.dedent(DIRECTORY)}
workflows:
  - workflows/route-by-team.yaml
"""
    )
    return config


def texts(api: FakeBotApi) -> list[str]:
    return [c.params["text"] for c in api.of("sendMessage")]
