"""The settings of one Telegram channel, as its block in the frontdesk config gives them."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

# What Telegram allows in setWebhook's secret_token, and so in the header it sends back.
# https://core.telegram.org/bots/api#setwebhook
SECRET_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{1,256}$"


# The bot's id, a colon, and the secret part: https://core.telegram.org/bots/api#authorizing-your-bot
BOT_TOKEN_PATTERN = r"^[0-9]+:[^\s]+$"


def _bot_token(token: SecretStr) -> SecretStr:
    # Checked here so that a mistyped token is a config error at start, not a 404 on every
    # call (the token is part of each call's URL). The message never includes the token.
    if re.fullmatch(BOT_TOKEN_PATTERN, token.get_secret_value()) is None:
        raise PydanticCustomError(
            "bot_token", "must be a bot token as @BotFather gives it, like 123456:ABC-DEF..."
        )
    return token


def _secret_token(secret: SecretStr) -> SecretStr:
    if re.fullmatch(SECRET_TOKEN_PATTERN, secret.get_secret_value()) is None:
        raise PydanticCustomError(
            "secret_token", "must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    return secret


class TelegramSettings(BaseModel):
    # hide_input_in_errors: a rejected token must not be echoed into a config error message.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    token: Annotated[SecretStr, AfterValidator(_bot_token)]
    """The bot's token from @BotFather."""

    mode: Literal["webhook", "polling", "embedded"] = "webhook"
    """How updates come in: "webhook" (Telegram POSTs them to `/<slug>/updates`),
    "polling" (frontdesk asks with getUpdates: local development without a public URL) or
    "embedded" (a host bot receives them and its plug-in hands frontdesk's chats over:
    `adapters.telegram.plugins`)."""

    # Declared after `mode`, so that its validator can see it; validated when left out too.
    secret_token: Annotated[SecretStr, AfterValidator(_secret_token)] | None = Field(
        default=None, validate_default=True
    )
    """Given to setWebhook; Telegram sends it back in `X-Telegram-Bot-Api-Secret-Token`.
    Required in webhook mode; unused in polling mode."""

    base_url: str = "https://api.telegram.org"
    """The Bot API server: Telegram's, or a self-hosted local Bot API server."""

    private_chats_only: bool = True
    """Ignore updates from groups, supergroups and channels."""

    max_body_bytes: int = Field(default=1_048_576, gt=0)
    """Inbound updates larger than this are refused with 413."""

    poll_timeout_seconds: int = Field(default=25, ge=0)
    """Polling mode: how long one getUpdates call waits for an update to arrive (the Bot
    API's long-poll `timeout`)."""

    per_chat_interval_seconds: float = Field(default=1.0, ge=0)
    """At most one message to one chat per this many seconds (0: no spacing). A message that
    must wait is deferred in the outbox (DEFER: not a failed attempt), never slept on.
    Telegram's advice: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this"""

    per_bot_per_second: int = Field(default=30, ge=1)
    """At most this many calls from the bot in any one second, over all chats: messages and
    button follow-ups (answerCallbackQuery, editMessageText), each counted until a second
    after Telegram answered it (`core.pacing`); a 429 from Telegram also pauses every chat's
    sends for its `retry_after`. Both limits count every replica's calls together."""

    share_phone_label: str = Field(default="Share my phone number", min_length=1, max_length=64)
    """The label of the button offered under a phone question, which shares the customer's
    own number (Telegram's request_contact keyboard button)."""

    @field_validator("secret_token", mode="after")
    @classmethod
    def _required_for_webhooks(
        cls, secret: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if secret is None and info.data.get("mode") == "webhook":
            raise PydanticCustomError("missing", "Field required in webhook mode")
        return secret
