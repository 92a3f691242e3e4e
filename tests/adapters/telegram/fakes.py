"""Fakes, payloads and helpers for the Telegram channel's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.telegram import TelegramSettings
from tests.adapters.telegram.fake_bot_api import TOKEN

SECRET_TOKEN = "fd-secret_token-0123456789"
SLUG = "tg"
NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
MAX_BODY = 4096
CHAT_ID = 4242
USER: dict[str, Any] = {
    "id": CHAT_ID,
    "is_bot": False,
    "first_name": "Ana",
    "last_name": "García",
    "username": "ana_g",
    "language_code": "es",
}
PRIVATE_CHAT: dict[str, Any] = {"id": CHAT_ID, "type": "private", "first_name": "Ana"}


def make_settings(base_url: str, **overrides: object) -> TelegramSettings:
    return TelegramSettings.model_validate(
        {
            "token": TOKEN,
            "secret_token": SECRET_TOKEN,
            "base_url": base_url,
            "max_body_bytes": MAX_BODY,
            **overrides,
        }
    )


def message_update(
    update_id: int,
    chat: dict[str, Any] | None = None,
    sender: dict[str, Any] | None = None,
    kind: str = "message",
    **content: Any,
) -> dict[str, Any]:
    """An update carrying a message (or an edited_message, ...) with the given content."""
    message: dict[str, Any] = {
        "message_id": 100 + update_id,
        "date": 1_714_996_800,
        "chat": chat or PRIVATE_CHAT,
        "from": sender or USER,
        **content,
    }
    return {"update_id": update_id, kind: message}


def text_update(update_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
    return message_update(update_id, text=text, **kwargs)


def button_update(
    update_id: int,
    data: str,
    message_id: int = 7,
    chat: dict[str, Any] | None = None,
    sender: dict[str, Any] | None = None,
    buttons: dict[str, str] | None = None,
    text: str = "Which team?",
) -> dict[str, Any]:
    """A press of an inline keyboard button on the bot's message `message_id`, which has
    the inline keyboard `buttons` (callback_data to label) when given, as Telegram sends the
    message back with the press."""
    update: dict[str, Any] = {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb-{update_id}",
            "from": sender or USER,
            "chat_instance": "-99",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": 1_714_996_800,
                "chat": chat or PRIVATE_CHAT,
                "from": {"id": 123456, "is_bot": True, "first_name": "Frontdesk"},
                "text": text,
            },
        },
    }
    if buttons is not None:
        update["callback_query"]["message"]["reply_markup"] = {
            "inline_keyboard": [[{"text": t, "callback_data": d}] for d, t in buttons.items()]
        }
    return update
