"""The telegram block of the config: what is required, and what a mistake says."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adapters.telegram import TelegramSettings
from tests.adapters.telegram.fake_bot_api import TOKEN
from tests.adapters.telegram.fakes import SECRET_TOKEN


def test_defaults() -> None:
    settings = TelegramSettings.model_validate({"token": TOKEN, "secret_token": SECRET_TOKEN})

    assert settings.base_url == "https://api.telegram.org"
    assert settings.private_chats_only is True
    assert settings.max_body_bytes == 1_048_576
    assert (settings.per_chat_interval_seconds, settings.per_bot_per_second) == (1.0, 30)
    assert TOKEN not in repr(settings)
    assert SECRET_TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"secret_token": SECRET_TOKEN}, "token", "Field required"),
        ({"token": TOKEN}, "secret_token", "Field required"),
        ({"token": "not a token", "secret_token": SECRET_TOKEN}, "token", "bot token"),
        ({"token": TOKEN, "secret_token": ""}, "secret_token", "1-256 characters"),
        ({"token": TOKEN, "secret_token": "has space"}, "secret_token", "1-256 characters"),
        ({"token": TOKEN, "secret_token": "x" * 257}, "secret_token", "1-256 characters"),
        (
            {"token": TOKEN, "secret_token": SECRET_TOKEN, "max_body_bytes": 0},
            "max_body_bytes",
            "greater than 0",
        ),
        (
            {"token": TOKEN, "secret_token": SECRET_TOKEN, "per_chat_interval_seconds": -1},
            "per_chat_interval_seconds",
            "greater than or equal to 0",
        ),
        (
            {"token": TOKEN, "secret_token": SECRET_TOKEN, "per_bot_per_second": 0},
            "per_bot_per_second",
            "greater than or equal to 1",
        ),
        ({"token": TOKEN, "secret_token": SECRET_TOKEN, "secret": "x"}, "secret", "not permitted"),
    ],
)
def test_mistakes_name_the_field_and_never_echo_secrets(
    body: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        TelegramSettings.model_validate(body)

    [error] = caught.value.errors()
    assert error["loc"] == (field,)
    assert message in error["msg"]
    assert "not a token" not in str(caught.value)
    assert "has space" not in str(caught.value)


def test_the_longest_secret_token_is_allowed() -> None:
    settings = TelegramSettings.model_validate({"token": TOKEN, "secret_token": "A-_z9" * 51 + "x"})

    assert settings.secret_token is not None
    assert len(settings.secret_token.get_secret_value()) == 256


def test_polling_needs_no_secret_token() -> None:
    settings = TelegramSettings.model_validate({"token": TOKEN, "mode": "polling"})

    assert settings.secret_token is None
    assert settings.poll_timeout_seconds == 25


def test_webhook_mode_needs_a_secret_token() -> None:
    with pytest.raises(ValidationError) as caught:
        TelegramSettings.model_validate({"token": TOKEN, "mode": "webhook"})

    [error] = caught.value.errors()
    assert error["loc"] == ("secret_token",)
    assert "Field required" in error["msg"]
