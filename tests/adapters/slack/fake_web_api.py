"""A fake Slack Web API server on 127.0.0.1, speaking what slack_sdk's AsyncWebClient sends.

slack_sdk POSTs `{base_url}{method}` with `Authorization: Bearer <token>`. Methods that take
blocks (chat.postMessage, chat.update, chat.postEphemeral, views.publish) send a JSON body;
the others send their arguments as query parameters (users.info with GET), and other
clients send a form body where `blocks` is a JSON-encoded field. All three are read here
(slack_sdk/web/async_client.py, slack_sdk/web/internal_utils.py: _build_req_args).
Answers are `{"ok": true, ...}` or `{"ok": false, "error": "<code>"}`; a rate limit is
HTTP 429 with a Retry-After header. https://api.slack.com/web#responses
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.serve import serving_app

TOKEN = "xoxb-1-fake-bot-token"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0001"
# Fields other clients send JSON-encoded in a form body.
JSON_FIELDS = frozenset({"blocks", "attachments", "view", "metadata"})
# The methods that address a channel, and so answer a channel's scripted error.
CHANNEL_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
HOLD_SECONDS = 10.0  # bounds a held answer, so that a broken test ends


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when it arrived


@dataclass(frozen=True)
class Failure:
    error: str
    status: int = 200
    retry_after: int | None = None


@dataclass
class Message:
    """A message as the fake holds it; chat.update changes `text` and `blocks`."""

    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    user: str | None = None  # an ephemeral message's only reader


@dataclass(frozen=True)
class Profile:
    real_name: str
    display_name: str = ""
    locale: str = "en-US"


@dataclass
class FakeWebApi:
    """Answers the Web API methods frontdesk uses; records every call; can be told to fail."""

    token: str = TOKEN
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)  # chat.postMessage, in order
    ephemerals: list[Message] = field(default_factory=list)
    updates: list[Message] = field(default_factory=list)  # each chat.update, as asked
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id → home view
    profiles: dict[str, Profile] = field(default_factory=dict)
    _failures: dict[str, list[Failure]] = field(default_factory=dict)
    _channel_errors: dict[str, str] = field(default_factory=dict)
    _dms: dict[str, str] = field(default_factory=dict)
    _holds: dict[str, asyncio.Event] = field(default_factory=dict)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(100, 100))

    # Scripting

    def fail_next(
        self,
        method: str,
        error: str,
        times: int = 1,
        status: int = 200,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, "error": error}`
        and HTTP `status` (a Retry-After header when `retry_after` is given)."""
        failure = Failure(error, status, retry_after)
        self._failures.setdefault(method, []).extend([failure] * times)

    def hold(self, method: str) -> asyncio.Event:
        """Do the next call of `method` (the message is in Slack) but hold its answer back
        until the returned event is set (at most HOLD_SECONDS): the caller is slow to hear."""
        released = asyncio.Event()
        self._holds[method] = released
        return released

    def clear_failures(self) -> None:
        """Answer every method normally again (a scripted channel error stays)."""
        self._failures.clear()

    def rate_limit_next(self, method: str, retry_after: int = 3, times: int = 1) -> None:
        """Answer as Slack does when a method's rate limit is hit: HTTP 429, Retry-After."""
        self.fail_next(method, "ratelimited", times, status=429, retry_after=retry_after)

    def fail_channel(self, channel: str, error: str | None) -> None:
        """Answer every post or update to `channel` with `error` (such as channel_not_found)
        from now on; None: answer normally again."""
        if error is None:
            self._channel_errors.pop(channel, None)
        else:
            self._channel_errors[channel] = error

    def add_user(
        self, user_id: str, real_name: str, display_name: str = "", locale: str = "en-US"
    ) -> None:
        self.profiles[user_id] = Profile(real_name, display_name, locale)

    # Reading

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def dm_of(self, user: str) -> str:
        """The DM channel conversations.open gives for `user`."""
        return self._dms.setdefault(user, f"D{len(self._dms) + 1:04d}")

    def in_channel(self, channel: str) -> list[Message]:
        """The messages posted to `channel` itself (not in threads), oldest first."""
        return [m for m in self.messages if m.channel == channel and m.thread_ts is None]

    def in_thread(self, channel: str, ts: str) -> list[Message]:
        """The replies in the thread of message `ts` in `channel`, oldest first."""
        return [m for m in self.messages if m.channel == channel and m.thread_ts == ts]

    def message(self, channel: str, ts: str) -> Message | None:
        """The message as it is now (after any chat.update)."""
        return next((m for m in self.messages if (m.channel, m.ts) == (channel, ts)), None)

    # Serving

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        self.calls.append(Call(method, params, time.monotonic()))
        token = params.pop("token", None) or _bearer(request.headers.get("Authorization", ""))
        if token != self.token:
            return _error("not_authed" if not token else "invalid_auth")
        script = self._failures.get(method)
        if script:
            failure = script.pop(0)
            return _error(failure.error, failure.status, failure.retry_after)
        channel = params.get("channel")
        if method in CHANNEL_METHODS and channel in self._channel_errors:
            return _error(self._channel_errors[channel])
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if answer is None:
            return _error("unknown_method", 404)
        result: dict[str, Any] | str = answer(params)
        held = self._holds.pop(method, None)
        if held is not None:
            await asyncio.wait_for(held.wait(), HOLD_SECONDS)
        if isinstance(result, str):
            return _error(result)
        return web.json_response({"ok": True, **result})

    # The methods, named as Slack names them ("chat.postMessage" → _chat_postMessage).

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "frontdesk",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any] | str:
        if not params.get("channel"):
            return "channel_not_found"
        if not params.get("text") and not params.get("blocks"):
            return "no_text"
        message = Message(
            channel=str(params["channel"]),
            ts=self._next_ts(),
            text=params.get("text"),
            blocks=params.get("blocks"),
            thread_ts=params.get("thread_ts"),
        )
        self.messages.append(message)
        return {"channel": message.channel, "ts": message.ts, "message": _shown(message)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any] | str:
        current = self.message(str(params.get("channel")), str(params.get("ts")))
        if current is None:
            return "message_not_found"
        self.updates.append(
            Message(current.channel, current.ts, params.get("text"), params.get("blocks"))
        )
        current.text = params.get("text", current.text)
        current.blocks = params.get("blocks")
        return {"channel": current.channel, "ts": current.ts, "text": current.text}

    def _chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any] | str:
        if not params.get("user"):
            return "user_not_found"
        message = Message(
            channel=str(params.get("channel")),
            ts=self._next_ts(),
            text=params.get("text"),
            blocks=params.get("blocks"),
            user=str(params["user"]),
            thread_ts=params.get("thread_ts"),
        )
        self.ephemerals.append(message)
        return {"message_ts": message.ts}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any] | str:
        users = str(params.get("users", ""))
        if not users or "," in users:  # one person: a DM; several would be a group DM
            return "user_not_found"
        return {"channel": {"id": self.dm_of(users)}}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any] | str:
        user = params.get("user_id")
        view = params.get("view")
        if not user or not isinstance(view, dict):
            return "invalid_arguments"
        self.views[str(user)] = view
        return {"view": {"id": f"V{len(self.views):04d}", **view}}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any] | str:
        user_id = str(params.get("user"))
        profile = self.profiles.get(user_id)
        if profile is None:
            return "user_not_found"
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": profile.display_name or profile.real_name.lower(),
            "real_name": profile.real_name,
            "is_bot": False,
            "profile": {"real_name": profile.real_name, "display_name": profile.display_name},
        }
        if str(params.get("include_locale", "")).lower() in ("1", "true"):
            user["locale"] = profile.locale
        return {"user": user}

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"


def _shown(message: Message) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "text": message.text,
        "ts": message.ts,
    }
    if message.blocks is not None:
        shown["blocks"] = message.blocks
    if message.thread_ts is not None:
        shown["thread_ts"] = message.thread_ts
    return shown


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params
    if request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            text = value if isinstance(value, str) else repr(value)
            params[key] = json.loads(text) if key in JSON_FIELDS else text
    return params


def _bearer(header: str) -> str | None:
    scheme, _, credentials = header.partition(" ")
    return credentials if scheme.lower() == "bearer" and credentials else None


def _error(error: str, status: int = 200, retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response({"ok": False, "error": error}, status=status, headers=headers)


@asynccontextmanager
async def serving(api: FakeWebApi | None = None) -> AsyncIterator[FakeWebApi]:
    """A fake Web API listening on 127.0.0.1 on a free port; `api.url` is its base URL
    (ending in "/api/", as Slack's does)."""
    api = api or FakeWebApi()
    async with serving_app(api.app()) as base:
        api.url = f"{base}/api/"
        yield api
