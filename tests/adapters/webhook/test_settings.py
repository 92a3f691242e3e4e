"""`WebhookSettings`: what a webhook channel's config block may say."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from adapters.webhook import WebhookSettings

GOOD: dict[str, Any] = {
    "secret": "s3cret-s3cret-s3cret",
    "callback_url": "https://crm.example.com/frontdesk",
}


def test_defaults() -> None:
    settings = WebhookSettings.model_validate(GOOD)

    assert (settings.max_body_bytes, settings.timeout_seconds) == (65536, 10.0)
    assert str(settings.callback_url) == "https://crm.example.com/frontdesk"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"secret": "too-short"}, "secret", "must be at least 16 characters long"),
        ({"callback_url": "ftp://example.com/"}, "callback_url", "URL scheme should be"),
        ({"callback_url": "not a url"}, "callback_url", "Input should be a valid URL"),
        ({"max_body_bytes": 0}, "max_body_bytes", "greater than 0"),
        ({"timeout_seconds": 0}, "timeout_seconds", "greater than 0"),
        ({"secrte": "s3cret-s3cret-s3cret"}, "secrte", "Extra inputs are not permitted"),
    ],
)
def test_a_wrong_setting_names_its_field(change: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookSettings.model_validate({**GOOD, **change})

    [error] = caught.value.errors()
    assert error["loc"] == (field,)
    assert message in error["msg"]


def test_a_rejected_secret_is_not_echoed() -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookSettings.model_validate({**GOOD, "secret": "hunter2-hunter2"})

    assert "hunter2" not in str(caught.value)


def test_the_secret_is_masked_when_printed() -> None:
    settings = WebhookSettings.model_validate(GOOD)

    assert GOOD["secret"] not in repr(settings)
