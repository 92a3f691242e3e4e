"""The sender: delivers each outbound message through Slack's Web API and says how it went.

A message without a notice goes to a customer on Slack, in a DM with the bot. A notice goes
to the agents' desk: a HANDOFF is posted to its targets (and each post remembered as a
`DeskThread`), a MESSAGE goes into those posts' threads, an OUTCOME replaces the post
in place, and a REFUSED is shown only to whoever tried the action.

Every platform failure becomes a `Delivery`, never an exception. A message that our own rate
limit holds back is not sent at all: DEFER, with the exact wait.
https://api.slack.com/apis/rate-limits
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackObjectFormationError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import customer_message, handoff, outcome, relay
from adapters.slack.hints import TOKEN_ERRORS, token_refused
from core.deliveries import Delivery, DeliveryOutcome
from core.desk_port import Desk
from core.models import DeskThread, Notice, NoticeKind, NoticeTarget, Outbound
from core.pacing import Pacing

log = logging.getLogger(__name__)

# Slack's error codes that another attempt would meet again.
# https://api.slack.com/methods/chat.postMessage#errors
PERMANENT_ERRORS = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "account_inactive",
        "user_not_found",
        "user_disabled",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "missing_scope",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "user_not_in_channel",
    }
)
# For a customer, these mean nobody is there to read anything we send.
GONE_ERRORS = frozenset({"account_inactive", "user_not_found", "user_disabled"})
# Errors after which a cached DM channel may no longer be the user's.
STALE_DM_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})

# How many users' DM channels, and how many messages' partial progress, are remembered.
MAX_REMEMBERED = 10_000

K = TypeVar("K")
V = TypeVar("V")


class SlackSender:
    def __init__(self, client: AsyncWebClient, desk: Desk, slug: str, limiter: Pacing) -> None:
        self._client = client
        self._desk = desk
        self._slug = slug
        self._limiter = limiter
        self._dms: dict[str, str] = {}  # user id → their DM channel with the bot
        # Threads a MESSAGE already went into, by message id, so that a retry after
        # a failure half way does not post twice. Only in this process (as Telegram's split
        # messages): after a restart a half-relayed line is relayed again.
        self._relayed: dict[str, set[str]] = {}
        # Handoff posts made but not yet saved to the desk (the store failed), by handoff
        # id: saved first on the retry instead of being posted again.
        self._unsaved: dict[str, list[DeskThread]] = {}

    async def close(self) -> None:
        """Forget what this process remembered; the client is its owner's to close."""
        self._dms.clear()
        self._relayed.clear()
        self._unsaved.clear()

    async def send(self, message: Outbound) -> Delivery:
        try:
            if message.notice is None:
                return await self._to_customer(message)
            return await self._to_desk(message, message.notice)
        except SlackApiError as exc:
            return await self._refused(
                exc, customer=message.recipient if message.notice is None else None
            )
        except SlackObjectFormationError as exc:
            # A rendering Block Kit would refuse (such as an option id over 2000 characters).
            return Delivery.failed(f"slack: cannot render the message: {exc}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Delivery.retry(_network_reason(exc))
        except Exception as exc:
            log.exception(
                "slack %s: unexpected error sending message %s of conversation %s",
                self._slug,
                message.message_id,
                message.conversation_id,
            )
            return Delivery.retry(f"{type(exc).__name__}: {exc}")

    # A customer on Slack

    async def _to_customer(self, message: Outbound) -> Delivery:
        place = await self._dm(message.recipient)
        wait = await self._limiter.acquire(place)
        if wait > 0:
            return Delivery.defer(wait)
        text, blocks = customer_message(message.text, message.options)
        await self._client.chat_postMessage(channel=place, text=text, blocks=blocks)
        return Delivery.sent()

    async def _dm(self, user: str) -> str:
        """The DM channel between the bot and `user`, opened once and then remembered."""
        channel = self._dms.get(user)
        if channel is None:
            response = await self._client.conversations_open(users=user)
            opened = response.get("channel")
            if not isinstance(opened, Mapping) or not opened.get("id"):
                raise ValueError("conversations.open answered without a channel id")
            channel = str(opened["id"])
            _remember(self._dms, user, channel)
        return channel

    # The desk

    async def _to_desk(self, message: Outbound, notice: Notice) -> Delivery:
        if notice.kind == NoticeKind.HANDOFF:
            return await self._post_handoff(notice)
        if notice.kind == NoticeKind.REFUSED:
            if not notice.place or not notice.actor:
                return Delivery.failed("a refused action's notice needs the place and the actor")
            await self._client.chat_postEphemeral(
                channel=notice.place, user=notice.actor, text=relay(notice)
            )
            return Delivery.sent()
        threads = [
            t for t in await self._desk.threads_of(notice.handoff_id) if t.desk == self._slug
        ]
        if not threads:
            return Delivery.failed(
                f"the handoff notice was never posted (handoff {notice.handoff_id}),"
                f" so there is no thread for this {notice.kind.value} notice"
            )
        if notice.kind == NoticeKind.OUTCOME:
            return await self._update(notice, threads)
        return await self._relay(message, notice, threads)

    async def _update(self, notice: Notice, threads: list[DeskThread]) -> Delivery:
        text, blocks = outcome(notice)
        problems: list[str] = []
        for thread in threads:  # an update is idempotent: a retry simply does it again
            try:
                await self._client.chat_update(
                    channel=thread.place, ts=thread.ts, text=text, blocks=blocks
                )
            except SlackApiError as exc:
                delivery = await self._refused(exc)
                if delivery.outcome != DeliveryOutcome.FAILED:
                    return delivery
                # A post someone deleted does not keep the others from being updated.
                problems.append(f"{thread.place} {thread.ts}: {delivery.error}")
        if problems:
            return Delivery.failed("; ".join(problems))
        return Delivery.sent()

    async def _relay(
        self, message: Outbound, notice: Notice, threads: list[DeskThread]
    ) -> Delivery:
        text = relay(notice)
        done = self._relayed.get(message.message_id, set())
        for thread in threads:
            key = f"{thread.place}/{thread.ts}"
            if key in done:
                continue
            wait = await self._limiter.acquire(thread.place)
            if wait > 0:
                return Delivery.defer(wait)
            await self._client.chat_postMessage(
                channel=thread.place, thread_ts=thread.ts, text=text
            )
            done.add(key)
            _remember(self._relayed, message.message_id, done)
        self._relayed.pop(message.message_id, None)
        return Delivery.sent()

    async def _post_handoff(self, notice: Notice) -> Delivery:
        if not notice.targets:
            return Delivery.failed("no Slack user id or team channel to notify")
        unknown = [t.kind for t in notice.targets if t.kind not in ("user", "channel")]
        if unknown:
            return Delivery.failed(f"unknown notice target kind {unknown[0]!r}")
        for thread in list(self._unsaved.get(notice.handoff_id, [])):
            await self._save(thread)
        existing = await self._desk.threads_of(notice.handoff_id)
        posted = {t.place for t in existing if t.desk == self._slug}
        text, blocks = handoff(notice)
        problems: list[str] = []
        for target in notice.targets:
            try:
                place = await self._place(target)
                if place in posted:  # a retry after a partial success
                    continue
                wait = await self._limiter.acquire(place)
                if wait > 0:
                    return Delivery.defer(wait)
                response = await self._client.chat_postMessage(
                    channel=place, text=text, blocks=blocks
                )
            except SlackApiError as exc:
                delivery = await self._refused(exc)
                if delivery.outcome != DeliveryOutcome.FAILED:
                    return delivery
                # One dead target (an archived channel) does not keep the others from it.
                problems.append(f"{target.kind} {target.id}: {delivery.error}")
                continue
            thread = DeskThread(
                desk=self._slug,
                place=str(response.get("channel") or place),
                ts=str(response["ts"]),
                conversation_id=notice.conversation_id,
                handoff_id=notice.handoff_id,
                agent_id=notice.agent.id if notice.agent is not None else None,
            )
            posted.update({place, thread.place})
            unsaved = [*self._unsaved.get(notice.handoff_id, []), thread]
            _remember(self._unsaved, notice.handoff_id, unsaved)
            await self._save(thread)
        if problems:
            return Delivery.failed("; ".join(problems))
        return Delivery.sent()

    async def _place(self, target: NoticeTarget) -> str:
        return await self._dm(target.id) if target.kind == "user" else target.id

    async def _save(self, thread: DeskThread) -> None:
        await self._desk.save_thread(thread)
        remaining = [t for t in self._unsaved.get(thread.handoff_id, []) if t != thread]
        if remaining:
            self._unsaved[thread.handoff_id] = remaining
        else:
            self._unsaved.pop(thread.handoff_id, None)

    # Slack's answers

    async def _refused(self, exc: SlackApiError, *, customer: str | None = None) -> Delivery:
        """What Slack's refusal means; `customer` is the user id when the message was to one."""
        status = getattr(exc.response, "status_code", None)
        data = getattr(exc.response, "data", None)
        code = data.get("error") if isinstance(data, Mapping) else None
        if status == 429 or code == "ratelimited":
            # Slack's limits are per method and workspace: every channel waits, not only this.
            retry_after = _retry_after(getattr(exc.response, "headers", None))
            await self._limiter.pause(retry_after)
            return Delivery.retry("slack: ratelimited", retry_after)
        if code in TOKEN_ERRORS:
            log.error(
                token_refused(self._slug, f"Slack refused the bot token ({code})"),
                extra={"channel": self._slug},
            )
        if code in PERMANENT_ERRORS:
            if customer is not None and code in STALE_DM_ERRORS:
                self._dms.pop(customer, None)
            gone = customer is not None and code in GONE_ERRORS
            return Delivery.failed(f"slack: {code}", recipient_gone=gone)
        if code:
            return Delivery.retry(f"slack: {code}")
        return Delivery.retry(f"slack: HTTP {status}")


def _retry_after(headers: Any) -> float:
    """Slack's Retry-After in seconds; 1 when it is missing or not a number."""
    value = None
    if isinstance(headers, Mapping):
        # aiohttp's headers are case-insensitive already; a plain dict may not be.
        value = headers.get("Retry-After")
        if value is None:
            value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    try:
        seconds = float(value) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0
    return seconds if seconds > 0 else 1.0


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"{type(exc).__name__}: no answer in time"
    return f"{type(exc).__name__}: {exc}"


def _remember(cache: dict[K, V], key: K, value: V) -> None:
    """Set `key`, dropping the oldest entries beyond MAX_REMEMBERED."""
    cache.pop(key, None)
    cache[key] = value
    while len(cache) > MAX_REMEMBERED:
        del cache[next(iter(cache))]
