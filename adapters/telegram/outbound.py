"""The sender: delivers each outbound message with the channel's `BotApi` client and says how
it went.

Every platform failure becomes a `Delivery`, never an exception, so that the outbox decides
what to do: SENT, RETRY (with Telegram's own retry_after on a 429) or FAILED. A message that
our own rate limit (`core.pacing`) holds back is not sent at all: DEFER, with the exact wait.
"""

from __future__ import annotations

import logging
from typing import TypedDict

from adapters.telegram.errors import (
    BotApiFailure,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from adapters.telegram.hints import token_refused
from adapters.telegram.keyboards import PhoneKeyboards
from adapters.telegram.settings import TelegramSettings
from adapters.telegram.texts import MESSAGE_LIMIT, split_text
from adapters.telegram.updates import callback_data
from adapters.telegram.wire import BotApi
from core.deliveries import Delivery, DeliveryOutcome
from core.models import Option, Outbound
from core.pacing import Pacing

log = logging.getLogger(__name__)

# Total time for one Bot API call; well under the outbox lease, so a hung call is retried.
REQUEST_TIMEOUT_SECONDS = 15


# The reply_markup objects the sender writes, as the Bot API spells them:
# https://core.telegram.org/bots/api#inlinekeyboardmarkup
class InlineButton(TypedDict):
    text: str
    callback_data: str


class InlineKeyboard(TypedDict):
    inline_keyboard: list[list[InlineButton]]


class ContactButton(TypedDict):
    text: str
    request_contact: bool


class ReplyKeyboard(TypedDict):
    keyboard: list[list[ContactButton]]
    one_time_keyboard: bool
    resize_keyboard: bool


class RemoveKeyboard(TypedDict):
    remove_keyboard: bool


Markup = InlineKeyboard | ReplyKeyboard | RemoveKeyboard


class BotSender:
    def __init__(
        self, slug: str, settings: TelegramSettings, *, limiter: Pacing, keyboards: PhoneKeyboards
    ) -> None:
        self._slug = slug
        self._settings = settings
        self._limiter = limiter
        self._api = BotApi(settings, REQUEST_TIMEOUT_SECONDS)
        # Parts of a split message already delivered, by message id, so that a retry after a
        # failure half way does not send the first parts again. Only in this process: after a
        # restart a half-sent long message is sent whole again (at least once on the wire).
        self._parts_sent: dict[str, int] = {}
        # Chats shown the share-my-phone keyboard, which stays under the input field until
        # a message removes it: the chat's next message that is not a phone question does.
        self._keyboards = keyboards

    @property
    def api(self) -> BotApi | None:
        """The bot's client while the sender runs (button follow-ups and the poller share
        its connections); None before start and after close."""
        return self._api if self._api.started else None

    async def start(self) -> None:
        self._api.start()

    async def close(self) -> None:
        await self._api.close()

    async def send(self, message: Outbound) -> Delivery:
        if not self._api.started:
            raise RuntimeError("the telegram sender was not started")
        parts = split_text(message.text, MESSAGE_LIMIT)
        done = self._parts_sent.get(message.message_id, 0)
        try:
            for index in range(done, len(parts)):
                # Each part is a message to Telegram's limits; the parts already sent are
                # remembered below, so a deferred long message goes on where it stopped.
                # The markup first (it may read the store): a call holds its place in the
                # bot's window from `start`, and only the call itself should hold it.
                markup = await self._markup(message, last=index == len(parts) - 1)
                wait = await self._limiter.start(message.recipient)
                if wait > 0:
                    return Delivery.defer(wait)
                try:
                    # No parse_mode: the text goes as plain text, so nothing in it is markup
                    # and nothing needs escaping.
                    await self._api.send_message(message.recipient, parts[index], markup)
                finally:
                    await self._limiter.finish(message.recipient)
                self._parts_sent[message.message_id] = index + 1
                await self._shown(message.recipient, markup)
        except Exception as exc:
            if isinstance(exc, TelegramRetryAfter):
                # Telegram's flood limit is per bot: every chat waits, not only this one.
                await self._limiter.pause(float(exc.retry_after))
            delivery = self._unsent(message, exc)
            if delivery.outcome != DeliveryOutcome.RETRY:
                self._parts_sent.pop(message.message_id, None)
            return delivery
        self._parts_sent.pop(message.message_id, None)
        return Delivery.sent()

    async def _markup(self, message: Outbound, last: bool) -> Markup | None:
        """The buttons under one part of a message: a question's inline keyboard, or the
        share-my-phone button under a phone question (on its last part); else, to a chat
        that still shows that button, the word to take it away."""
        if last and message.options:
            return keyboard(message.options)
        if message.answer == "phone":
            return share_phone(self._settings.share_phone_label) if last else None
        if await self._keyboards.shown(message.recipient):
            return RemoveKeyboard(remove_keyboard=True)
        return None

    async def _shown(self, chat: str, markup: Markup | None) -> None:
        if markup is not None and "keyboard" in markup:
            await self._keyboards.mark(chat, shown=True)
        elif markup is not None and "remove_keyboard" in markup:
            await self._keyboards.mark(chat, shown=False)

    def _unsent(self, message: Outbound, exc: Exception) -> Delivery:
        if isinstance(exc, TelegramRetryAfter):
            return Delivery.retry(_reason(exc), float(exc.retry_after))
        if isinstance(exc, TelegramForbiddenError):  # blocked by the user, kicked, deactivated
            return Delivery.failed(_reason(exc), recipient_gone=True)
        if isinstance(exc, TelegramBadRequest | TelegramEntityTooLarge):
            return Delivery.failed(_reason(exc))
        if isinstance(exc, TelegramServerError | TelegramNetworkError | TimeoutError):
            # The client turns timeouts and connection errors into TelegramNetworkError.
            return Delivery.retry(_reason(exc))
        if isinstance(exc, ClientDecodeError):  # e.g. a proxy's HTML error page
            return Delivery.retry(f"ClientDecodeError: {exc.message}")
        if isinstance(exc, TelegramUnauthorizedError):
            log.error(
                token_refused(self._slug),
                extra={"channel": self._slug, "conversation_id": message.conversation_id},
            )
            return Delivery.failed(_reason(exc))
        if isinstance(exc, TelegramAPIError):  # 404, 409, migrated chat
            return Delivery.failed(_reason(exc))
        log.exception(
            "telegram %s: unexpected error sending message %s of conversation %s",
            self._slug,
            message.message_id,
            message.conversation_id,
        )
        return Delivery.retry(f"{type(exc).__name__}: {exc}")


def keyboard(options: list[Option]) -> InlineKeyboard | None:
    """One button per row, so that long labels are never cut; None without options."""
    if not options:
        return None
    return InlineKeyboard(
        inline_keyboard=[
            [InlineButton(text=o.label, callback_data=callback_data(o.id))] for o in options
        ]
    )


def share_phone(label: str) -> ReplyKeyboard:
    """One button that sends the customer's own contact (with their user_id), shown once
    and small. https://core.telegram.org/bots/api#keyboardbutton"""
    return ReplyKeyboard(
        keyboard=[[ContactButton(text=label, request_contact=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )


def _reason(exc: BotApiFailure | TimeoutError) -> str:
    if isinstance(exc, BotApiFailure):
        return f"{type(exc).__name__}: {exc.message}"
    return f"{type(exc).__name__}: no answer in time"
