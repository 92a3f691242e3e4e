"""The slack block of the config: what is required, and what a mistake says."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adapters.slack.settings import SlackSettings
from tests.adapters.slack.fake_web_api import TOKEN
from tests.support.slack import SIGNING_SECRET

REQUIRED = {"bot_token": TOKEN, "signing_secret": SIGNING_SECRET}


def test_defaults() -> None:
    settings = SlackSettings.model_validate(REQUIRED)

    assert settings.base_url == "https://slack.com/api/"
    assert (settings.per_channel_interval_seconds, settings.per_bot_per_second) == (1.0, 20)
    assert (settings.timeout_seconds, settings.max_body_bytes) == (10, 512 * 1024)
    assert TOKEN not in repr(settings)
    assert SIGNING_SECRET not in repr(settings)


def test_a_base_url_without_the_final_slash_gets_one() -> None:
    settings = SlackSettings.model_validate({**REQUIRED, "base_url": "http://127.0.0.1:9/api"})

    assert settings.base_url == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"bot_token": None}, "bot_token", "Field required"),
        ({"signing_secret": None}, "signing_secret", "Field required"),
        ({"bot_token": "xoxp-user-token"}, "bot_token", "bot token (xoxb-...)"),
        ({"signing_secret": " "}, "signing_secret", "signing secret"),
        ({"base_url": "slack.com/api/"}, "base_url", "http(s) URL"),
        (
            {"per_channel_interval_seconds": -1},
            "per_channel_interval_seconds",
            "greater than or equal to 0",
        ),
        ({"per_bot_per_second": 0}, "per_bot_per_second", "greater than or equal to 1"),
        ({"timeout_seconds": 0}, "timeout_seconds", "greater than 0"),
        ({"max_body_bytes": 0}, "max_body_bytes", "greater than 0"),
        ({"token": TOKEN}, "token", "not permitted"),
    ],
)
def test_mistakes_name_the_field_and_never_echo_secrets(
    changes: dict[str, object], field: str, message: str
) -> None:
    body = {k: v for k, v in {**REQUIRED, **changes}.items() if v is not None}

    with pytest.raises(ValidationError) as caught:
        SlackSettings.model_validate(body)

    [error] = caught.value.errors()
    assert error["loc"] == (field,)
    assert message in error["msg"]
    assert "xoxp-user-token" not in str(caught.value)


def test_settings_are_frozen() -> None:
    settings = SlackSettings.model_validate(REQUIRED)

    with pytest.raises(ValidationError, match="frozen"):
        settings.base_url = "http://elsewhere/"  # type: ignore[misc]
