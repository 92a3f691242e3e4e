"""The settings of one Slack channel, as its block in the frontdesk config gives them."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, SecretStr
from pydantic_core import PydanticCustomError


def _bot_token(token: SecretStr) -> SecretStr:
    # A user token (xoxp-) or an app-level token (xapp-) would post as someone else or not
    # at all; say so at start. The message never includes the token.
    # https://api.slack.com/concepts/token-types
    if not token.get_secret_value().startswith("xoxb-"):
        raise PydanticCustomError(
            "bot_token", "must be a bot token (xoxb-...) from the app's OAuth & Permissions page"
        )
    return token


def _signing_secret(secret: SecretStr) -> SecretStr:
    if not secret.get_secret_value().strip():
        raise PydanticCustomError(
            "signing_secret", "must be the app's signing secret from its Basic Information page"
        )
    return secret


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError("base_url", "must be an http(s) URL like https://slack.com/api/")
    # slack_sdk joins method names onto it with urljoin: without the slash the last path
    # segment ("api") would be replaced instead of extended.
    return url if url.endswith("/") else url + "/"


class SlackSettings(BaseModel):
    # hide_input_in_errors: a rejected token must not be echoed into a config error message.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    bot_token: Annotated[SecretStr, AfterValidator(_bot_token)]
    """The bot user's OAuth token (xoxb-...)."""

    signing_secret: Annotated[SecretStr, AfterValidator(_signing_secret)]
    """Verifies that requests to `/<slug>/...` come from Slack."""

    base_url: Annotated[str, AfterValidator(_base_url)] = "https://slack.com/api/"
    """The Web API's base URL (tests point it at a fake); a missing final "/" is added."""

    per_channel_interval_seconds: float = Field(default=1.0, ge=0)
    """At most one message to one Slack channel or DM per this many seconds (0: no spacing).
    A message that must wait is deferred in the outbox (DEFER), never slept on.
    https://api.slack.com/apis/rate-limits#posting-messages"""

    per_bot_per_second: int = Field(default=20, ge=1)
    """At most this many messages from the bot in any one second, over all channels; a 429
    from Slack also pauses every channel's sends for its Retry-After. Both limits count every
    replica's messages together."""

    timeout_seconds: float = Field(default=10, gt=0)
    """Total time for one Web API call; a call that takes longer is retried later."""

    max_body_bytes: int = Field(default=512 * 1024, gt=0)
    """Inbound requests (events, interactions, commands) larger than this are refused."""


class SlackUserId(RootModel[str]):
    """An agent's address on a Slack desk (`agents.<id>.desk.<slug>`): their member id, which
    their profile's menu copies ("Copy member ID"). Notices reach them in a direct message.
    https://api.slack.com/methods/conversations.open"""

    root: str = Field(pattern=r"^[UW][A-Z0-9]+$")


class SlackPlace(RootModel[str]):
    """A team's place on a Slack desk (`teams.<name>.desk.<slug>`): the channel notices go to,
    by id or by name, as chat.postMessage takes it.
    https://api.slack.com/methods/chat.postMessage#arg_channel"""

    root: str = Field(min_length=1, pattern=r"^\S+$")
