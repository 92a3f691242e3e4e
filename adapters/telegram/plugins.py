"""Frontdesk routing inside an existing bot: plug-ins for aiogram 3 and python-telegram-bot.

The host bot keeps receiving every update (by its own polling or webhook). It runs frontdesk
with `core.app.embedded` and a telegram channel in `mode: embedded` (no webhook route and no
poller, which would fight the host for getUpdates), and puts a plug-in first in its chain:

- aiogram: `dp.include_router(aiogram_router(routing))`, before the host's own routers.
- python-telegram-bot: `application.add_handler(ptb_handler(routing), group=-1)`.

The plug-in offers each message and button press from a private chat to `FrontdeskRouting`,
which takes it when frontdesk is handling that chat (an open conversation whose workflow waits,
or that an agent has); everything else goes on to the host's handlers. The host opens a
conversation by handing an update to `FrontdeskRouting.start` (from its `/support` handler,
say), which runs the conversation_opened workflow.

Sending stays with frontdesk: its transactional outbox delivers through the channel's own
Bot API client (the channel's token and base_url), not through the host's client. That keeps
frontdesk's guarantees (retries, 429 retry-after, never sending twice) whichever SDK the host
uses, at the cost of a second HTTP client for the same token, which Telegram allows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import telegram
from aiogram import BaseMiddleware, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.types import TelegramObject, Update
from telegram.ext import ApplicationHandlerStop, CallbackContext, TypeHandler

from adapters.telegram.channel import TelegramChannel
from adapters.telegram.inbound import read_update
from adapters.telegram.payloads import Update as BotApiUpdate
from core.app import Frontdesk
from core.arrival import handled

PtbContext = CallbackContext[Any, Any, Any, Any]
# What a host hands over: aiogram's update, or the Bot API's JSON of one (python-telegram-bot's
# `update.to_dict()`).
HostUpdate = Update | dict[str, Any]


class FrontdeskRouting:
    """Decides which updates of a host bot go to frontdesk, and hands them over through the
    channel's own path (so they are stored, deduplicated on update_id and processed exactly
    as a webhook delivery would be)."""

    def __init__(self, frontdesk: Frontdesk, slug: str) -> None:
        channel = frontdesk.channels.get(slug)
        if not isinstance(channel, TelegramChannel):
            raise ValueError(f"'{slug}' is not a telegram channel of this frontdesk")
        self._slug = slug
        self._store = frontdesk.store
        self._handler = channel.handler

    async def offer(self, update: HostUpdate) -> bool:
        """True when frontdesk took the update (the host must not handle it too): a message or
        button press from a private chat that frontdesk is handling. An update of that chat
        that frontdesk has no use for (a service message, a press of the host's own button)
        is left to the host."""
        raw = _json(update)
        parsed = read_update(raw)
        chat_id = _private_chat(parsed)
        if chat_id is None:
            return False
        if not handled(await self._store.open_conversation(self._slug, str(chat_id))):
            return False
        return await self._handler.handle(raw, parsed) != "ignored"

    async def start(self, update: HostUpdate) -> bool:
        """Hand the update to frontdesk whoever handles its chat: with no open conversation,
        this opens one. True when frontdesk took it (or had it already)."""
        return await self._handler.handle(_json(update)) != "ignored"


def _json(update: HostUpdate) -> dict[str, Any]:
    """The update as the Bot API's JSON, which the channel reads and keeps with the event."""
    if isinstance(update, dict):
        return update
    return update.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _private_chat(update: BotApiUpdate) -> int | None:
    if update.message is not None:
        chat = update.message.chat
        return chat.id if chat.type == "private" else None
    query = update.callback_query
    if query is not None:
        if query.message is None:  # too old to carry its message: the user's private chat
            return query.from_user.id
        chat = query.message.chat
        return chat.id if chat.type == "private" else None
    return None


class _OfferMiddleware(BaseMiddleware):
    def __init__(self, routing: FrontdeskRouting) -> None:
        self._routing = routing

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        update = data.get("event_update")
        if isinstance(update, Update) and await self._routing.offer(update):
            return None  # consumed: the host's handlers never see it
        return await handler(event, data)


def aiogram_router(routing: FrontdeskRouting) -> Router:
    """A router whose outer middleware gives frontdesk's chats to frontdesk.

    Include it before the host's routers, and register the host's handlers on routers rather
    than on the Dispatcher itself: aiogram runs the Dispatcher's own handlers before any
    included router.
    """
    router = Router(name="frontdesk")
    middleware = _OfferMiddleware(routing)
    for observer in (router.message, router.callback_query):
        observer.outer_middleware(middleware)
        # A handler that passes every update on, so that the update types frontdesk needs
        # are in `dp.resolve_used_update_types()`, the allowed_updates of aiogram's polling
        # (a host without button handlers would otherwise never get the presses).
        observer.register(_pass_on)
    return router


async def _pass_on(event: TelegramObject) -> None:
    raise SkipHandler


def ptb_handler(
    routing: FrontdeskRouting,
) -> TypeHandler[telegram.Update, PtbContext, None]:
    """A handler for python-telegram-bot: add it with `group=-1` so that it runs before the
    host's handlers; it stops the rest of the groups when frontdesk takes the update."""

    async def offer(update: telegram.Update, context: PtbContext) -> None:
        # PTB's to_dict gives back the Bot API's JSON, which is what the channel reads.
        if await routing.offer(update.to_dict()):
            raise ApplicationHandlerStop

    return TypeHandler(telegram.Update, offer)


def aiogram_update(update: telegram.Update) -> Update:
    """A python-telegram-bot update as aiogram's type (from a host's `/support` handler:
    `await routing.start(aiogram_update(update))`; `routing.start(update.to_dict())` does
    the same without aiogram's parsing)."""
    # PTB's to_dict gives back the Bot API's JSON, which is what aiogram's types read.
    return Update.model_validate(update.to_dict())
