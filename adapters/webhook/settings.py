"""The settings of one webhook channel, as its block in the frontdesk config gives them."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr
from pydantic_core import PydanticCustomError

MIN_SECRET_LENGTH = 16


def _long_enough(secret: SecretStr) -> SecretStr:
    # A short shared secret can be guessed offline from one signed request, so it is a config
    # error rather than a warning.
    if len(secret.get_secret_value()) < MIN_SECRET_LENGTH:
        raise PydanticCustomError(
            "secret_too_short",
            "must be at least {min_length} characters long",
            {"min_length": MIN_SECRET_LENGTH},
        )
    return secret


class WebhookSettings(BaseModel):
    # hide_input_in_errors: a rejected secret must not be echoed into a config error message.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    secret: Annotated[SecretStr, AfterValidator(_long_enough)]
    """Shared with the integrated system; signs requests both ways (HMAC-SHA256)."""

    callback_url: AnyHttpUrl
    """Where frontdesk POSTs each outbound message."""

    max_body_bytes: int = Field(default=65536, gt=0)
    """Inbound events larger than this are refused with 413."""

    timeout_seconds: float = Field(default=10.0, gt=0)
    """Total time allowed for one outbound POST, connecting included."""
