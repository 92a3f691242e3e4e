"""Slack's requests checked before slack-bolt sees them: signed, parsed, and of a shape that
bolt and frontdesk's listeners can read.

slack-bolt trusts what Slack signs: a signed body of another shape (`[]`, `payload=[]`,
`"actions": null`, a number where an id belongs) raises deep inside it, and a timestamp
header that is not a number raises in its signature check. Checked here first, each is a 4xx
with its reason. Only the parts bolt or the listeners read are pinned down; Slack adds fields
often, and those pass.
https://api.slack.com/authentication/verifying-requests-from-slack
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_sdk.signature import SignatureVerifier

from core.bodies import describe, json_object
from core.errors import BadInbound, Unauthorized
from core.values import Text

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"


def verify(verifier: SignatureVerifier, body: str, headers: Mapping[str, str]) -> None:
    """Raise Unauthorized unless the request is signed with the signing secret, recently."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise Unauthorized(f"missing or wrong {TIMESTAMP_HEADER}")
    signature = headers.get(SIGNATURE_HEADER, "")
    # compare_digest refuses str with non-ASCII characters (a TypeError, not a mismatch).
    if not signature.isascii() or not verifier.is_valid(body, timestamp, signature):
        raise Unauthorized(f"missing, wrong or expired {SIGNATURE_HEADER}")


class _Shape(BaseModel):
    # strict: a number where Slack sends a string would only fail later, inside bolt.
    model_config = ConfigDict(extra="allow", strict=True)


class _Named(_Shape):
    id: Text


class _Authorization(_Shape):
    team_id: Text | None = None
    enterprise_id: Text | None = None
    user_id: Text | None = None
    is_enterprise_install: bool | None = None


class _Envelope(_Shape):
    """What bolt reads of every request to find the workspace and the user."""

    enterprise: Text | _Named | None = None
    enterprise_id: Text | None = None
    team: Text | _Named | None = None
    team_id: Text | None = None
    user: Text | _Named | None = None
    user_id: Text | None = None
    channel: Text | _Named | None = None
    channel_id: Text | None = None
    authorizations: list[_Authorization] | None = None
    is_enterprise_install: bool | Text | None = None
    is_ext_shared_channel: bool | None = None
    view: dict[str, Any] | None = None


class _Event(_Shape):
    type: Text
    user: Text | None = None
    channel: Text | None = None
    channel_type: Text | None = None
    text: Text | None = None
    ts: Text | None = None
    thread_ts: Text | None = None
    subtype: Text | None = None
    bot_id: Text | None = None
    tab: Text | None = None
    team: Text | None = None
    user_team: Text | None = None
    files: list[Any] | None = None
    item: dict[str, Any] | None = None
    message: dict[str, Any] | None = None


class EventCallback(_Envelope):
    type: Literal["event_callback"]
    event_id: Text | None = None
    event: _Event


class UrlVerification(_Shape):
    type: Literal["url_verification"]
    challenge: Text


class _ButtonText(_Shape):
    text: Text | None = None


class _Action(_Shape):
    action_id: Text
    value: Text | None = None
    action_ts: Text | None = None
    block_id: Text | None = None
    text: _ButtonText | None = None


class _Container(_Shape):
    channel_id: Text | None = None
    message_ts: Text | None = None


class _Message(_Shape):
    text: Text | None = None
    ts: Text | None = None
    thread_ts: Text | None = None


class BlockActions(_Envelope):
    type: Literal["block_actions"]
    event: dict[str, Any] | None = None  # bolt reads `event.bot_id` of every request
    user: _Named
    actions: list[_Action] = Field(min_length=1)
    container: _Container | None = None
    message: _Message | None = None


class SlashCommand(_Envelope):
    event: dict[str, Any] | None = None
    command: Text
    user_id: Text
    text: Text = ""


def checked(body: str, content_type: str | None) -> dict[str, Any] | None:
    """The body as bolt will parse it, once it has a shape bolt and the listeners can read;
    None for a request frontdesk has no listener for (answered 200, not handed to bolt).
    Raises BadInbound with the reason otherwise."""
    data = _parsed(body, content_type)
    kind = data.get("type")
    model: type[BaseModel] | None
    if kind == "event_callback":
        model = EventCallback
    elif kind == "url_verification":
        model = UrlVerification
    elif kind == "block_actions":
        model = BlockActions
    elif "command" in data:
        model = SlashCommand
    else:
        return None
    try:
        model.model_validate(data)
    except ValidationError as exc:
        raise BadInbound(describe(exc)) from exc
    return data


def _parsed(body: str, content_type: str | None) -> dict[str, Any]:
    """The same reading of a body as slack-bolt's (JSON, a form, or a form whose `payload`
    field is JSON), done first so that what bolt cannot read is refused here."""
    if not body:
        raise BadInbound("body is empty")
    if content_type == "application/json" or body.startswith("{"):
        return json_object(body)
    form = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in body:
        payload = form.get("payload")
        if payload is None:
            raise BadInbound("payload: missing from the form")
        return json_object(payload)
    return form
