"""The sender: one aiogram `Bot` that delivers each outbound message and says how it went.

Every platform failure becomes a `Delivery`, never an exception, so that the outbox decides
what to do: SENT, RETRY (with Telegram's own retry_after on a 429) or FAILED. A message that
our own rate limit (`core.pacing`) holds back is not sent at all: DEFER, with the exact wait.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
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
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from adapters.telegram.hints import token_refused
from adapters.telegram.settings import TelegramSettings
from adapters.telegram.texts import MESSAGE_LIMIT, split_text
from adapters.telegram.updates import callback_data
from adapters.telegram.wire import WireSender
from core.deliveries import Delivery, DeliveryOutcome
from core.models import Option, Outbound
from core.pacing import Pacing

log = logging.getLogger(__name__)

# Total time for one Bot API call; well under the outbox lease, so a hung call is retried.
REQUEST_TIMEOUT_SECONDS = 15
# The most chats remembered as showing the share-my-phone keyboard; past it, the oldest is
# forgotten (its keyboard then stays until used: it is a one-time keyboard).
KEYBOARDS_REMEMBERED = 100_000

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def new_bot(settings: TelegramSettings) -> Bot:
    """A client of the channel's bot at its `base_url`; whoever makes it closes its session."""
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(settings.base_url), timeout=REQUEST_TIMEOUT_SECONDS
    )
    return Bot(settings.token.get_secret_value(), session=session)


class BotSender:
    def __init__(self, slug: str, settings: TelegramSettings, limiter: Pacing) -> None:
        self._slug = slug
        self._settings = settings
        self._limiter = limiter
        self._bot: Bot | None = None
        self._wire = WireSender(settings, REQUEST_TIMEOUT_SECONDS)
        # Parts of a split message already delivered, by message id, so that a retry after a
        # failure half way does not send the first parts again. Only in this process: after a
        # restart a half-sent long message is sent whole again (at least once on the wire).
        self._parts_sent: dict[str, int] = {}
        # Chats shown the share-my-phone keyboard, which stays under the input field until
        # a message removes it: the chat's next message that is not a phone question does.
        # Only in this process: after a restart the keyboard stays until used (one time).
        self._phone_keyboards: OrderedDict[str, None] = OrderedDict()

    @property
    def bot(self) -> Bot | None:
        return self._bot

    async def start(self) -> None:
        if self._bot is None:
            self._bot = new_bot(self._settings)
        self._wire.start()

    async def close(self) -> None:
        await self._wire.close()
        if self._bot is not None:
            await self._bot.session.close()
            self._bot = None

    async def send(self, message: Outbound) -> Delivery:
        if self._bot is None:
            raise RuntimeError("the telegram sender was not started")
        parts = split_text(message.text, MESSAGE_LIMIT)
        done = self._parts_sent.get(message.message_id, 0)
        try:
            for index in range(done, len(parts)):
                # Each part is a message to Telegram's limits; the parts already sent are
                # remembered below, so a deferred long message goes on where it stopped.
                wait = await self._limiter.start(message.recipient)
                if wait > 0:
                    return Delivery.defer(wait)
                markup = self._markup(message, last=index == len(parts) - 1)
                try:
                    # No parse_mode: the text goes as plain text, so nothing in it is markup
                    # and nothing needs escaping.
                    await self._wire.send_message(message.recipient, parts[index], _plain(markup))
                finally:
                    await self._limiter.finish(message.recipient)
                self._parts_sent[message.message_id] = index + 1
                self._shown(message.recipient, markup)
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

    def _markup(self, message: Outbound, last: bool) -> Markup | None:
        """The buttons under one part of a message: a question's inline keyboard, or the
        share-my-phone button under a phone question (on its last part); else, to a chat
        that still shows that button, the word to take it away."""
        if last and message.options:
            return keyboard(message.options)
        if message.answer == "phone":
            return share_phone(self._settings.share_phone_label) if last else None
        if message.recipient in self._phone_keyboards:
            return ReplyKeyboardRemove(remove_keyboard=True)
        return None

    def _shown(self, chat: str, markup: Markup | None) -> None:
        if isinstance(markup, ReplyKeyboardMarkup):
            self._phone_keyboards.pop(chat, None)
            self._phone_keyboards[chat] = None
            if len(self._phone_keyboards) > KEYBOARDS_REMEMBERED:
                self._phone_keyboards.popitem(last=False)
        elif isinstance(markup, ReplyKeyboardRemove):
            self._phone_keyboards.pop(chat, None)

    def _unsent(self, message: Outbound, exc: Exception) -> Delivery:
        if isinstance(exc, TelegramRetryAfter):
            return Delivery.retry(_reason(exc), float(exc.retry_after))
        if isinstance(exc, TelegramForbiddenError):  # blocked by the user, kicked, deactivated
            return Delivery.failed(_reason(exc), recipient_gone=True)
        if isinstance(exc, TelegramBadRequest | TelegramEntityTooLarge):
            return Delivery.failed(_reason(exc))
        if isinstance(exc, TelegramServerError | TelegramNetworkError | TimeoutError):
            # aiogram turns timeouts and connection errors into TelegramNetworkError.
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


def keyboard(options: list[Option]) -> InlineKeyboardMarkup | None:
    """One button per row, so that long labels are never cut; None without options."""
    if not options:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=o.label, callback_data=callback_data(o.id))] for o in options
        ]
    )


def share_phone(label: str) -> ReplyKeyboardMarkup:
    """One button that sends the customer's own contact (with their user_id), shown once
    and small. https://core.telegram.org/bots/api#keyboardbutton"""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=label, request_contact=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )


def _plain(markup: Markup | None) -> dict[str, Any] | None:
    return None if markup is None else markup.model_dump(mode="json", exclude_none=True)


def _reason(exc: TelegramAPIError | TimeoutError) -> str:
    if isinstance(exc, TelegramAPIError):
        return f"{type(exc).__name__}: {exc.message}"
    return f"{type(exc).__name__}: no answer in time"
