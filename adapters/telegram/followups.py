"""What a button press needs once its event is stored: stop the button's spinner and take the
keyboard off the question, so that the same question cannot be answered twice by tapping.

Both are Bot API calls, made in tracked background tasks so that the webhook's 200 never
waits for them; a failure is logged and otherwise harmless (the answer is already stored).
https://core.telegram.org/bots/api#answercallbackquery
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.types import CallbackQuery

from core.tasks import TaskSet

log = logging.getLogger(__name__)

# close() lets running follow-ups finish for this long before it cancels them.
CLOSE_GRACE_SECONDS = 5.0


class ButtonFollowUps:
    def __init__(self, slug: str, bot: Callable[[], Bot | None]) -> None:
        self._slug = slug
        self._bot = bot
        self._tasks = TaskSet()

    def pressed(self, query: CallbackQuery) -> None:
        bot = self._bot()
        if bot is None:  # not started, or closing: nothing to call Telegram with
            log.warning(
                "telegram %s: cannot answer callback query, channel not started", self._slug
            )
            return
        self._tasks.spawn(self._follow_up(bot, query))

    async def _follow_up(self, bot: Bot, query: CallbackQuery) -> None:
        try:
            await bot.answer_callback_query(callback_query_id=query.id)
        except Exception:
            log.exception("telegram %s: answerCallbackQuery failed", self._slug)
        message = query.message
        if message is None:
            return
        try:
            await bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
            )
        except Exception:
            log.exception(
                "telegram %s: could not remove the keyboard of message %s in chat %s",
                self._slug,
                message.message_id,
                message.chat.id,
            )

    async def idle(self) -> None:
        """Wait for every follow-up started so far (tests)."""
        await self._tasks.join()

    async def close(self) -> None:
        await self._tasks.close(CLOSE_GRACE_SECONDS)
