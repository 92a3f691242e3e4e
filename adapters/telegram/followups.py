"""What a button press needs once its event is stored: stop the button's spinner, and show
on the question what was chosen ("✔ Support", as on Slack) with its keyboard taken off, so
that the chat shows the choice and the same question cannot be answered twice by tapping.

Both are Bot API calls, made in tracked background tasks so that the webhook's 200 never
waits for them; a failure is logged and otherwise harmless (the answer is already stored).
They count against the bot's limit like its messages do, and wait their turn on the clock.
https://core.telegram.org/bots/api#answercallbackquery
https://core.telegram.org/bots/api#editmessagetext
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from adapters.telegram.payloads import CallbackQuery, Message
from adapters.telegram.texts import MESSAGE_LIMIT, utf16_length
from adapters.telegram.wire import BotApi
from core.pacing import Pacing
from core.ports import Clock
from core.tasks import TaskSet

log = logging.getLogger(__name__)

T = TypeVar("T")

# close() lets running follow-ups finish for this long before it cancels them.
CLOSE_GRACE_SECONDS = 5.0
CHOSEN_MARK = "✔"


class ButtonFollowUps:
    def __init__(
        self, slug: str, bot: Callable[[], BotApi | None], limiter: Pacing, clock: Clock
    ) -> None:
        self._slug = slug
        self._bot = bot
        self._limiter = limiter
        self._clock = clock
        self._tasks = TaskSet()

    def pressed(self, query: CallbackQuery) -> None:
        bot = self._bot()
        if bot is None:  # not started, or closing: nothing to call Telegram with
            log.warning(
                "telegram %s: cannot answer callback query, channel not started", self._slug
            )
            return
        self._tasks.spawn(self._follow_up(bot, query))

    async def _follow_up(self, bot: BotApi, query: CallbackQuery) -> None:
        try:
            await self._paced(
                lambda: bot.call("answerCallbackQuery", {"callback_query_id": query.id})
            )
        except Exception:
            log.exception("telegram %s: answerCallbackQuery failed", self._slug)
        message = query.message
        if message is None:
            return
        chat_id, message_id = message.chat.id, message.message_id
        text = chosen_text(message, query.data)
        where = {"chat_id": chat_id, "message_id": message_id}
        try:
            if text is not None:
                # Without reply_markup, the edited message has no inline keyboard.
                await self._paced(lambda: bot.call("editMessageText", {**where, "text": text}))
            else:
                await self._paced(lambda: bot.call("editMessageReplyMarkup", where))
        except Exception:
            log.exception(
                "telegram %s: could not remove the keyboard of message %s in chat %s",
                self._slug,
                message_id,
                chat_id,
            )

    async def _paced(self, call: Callable[[], Awaitable[T]]) -> T:
        """Make `call` once the bot's limit lets it go (a 429's pause included)."""
        while (wait := await self._limiter.start(None)) > 0:
            await self._clock.sleep_until(self._clock.now() + timedelta(seconds=wait))
        try:
            return await call()
        finally:
            await self._limiter.finish(None)

    async def idle(self) -> None:
        """Wait for every follow-up started so far (tests)."""
        await self._tasks.join()

    async def close(self) -> None:
        await self._tasks.close(CLOSE_GRACE_SECONDS)


def chosen_text(question: Message, data: str | None) -> str | None:
    """The question's text with a line saying which of its buttons was pressed; None when
    the button or the text is not there (then only the keyboard comes off), or when the
    line would not fit in a message."""
    markup = question.reply_markup
    if question.text is None or data is None or markup is None:
        return None
    label = next(
        (b.text for row in markup.inline_keyboard for b in row if b.callback_data == data), None
    )
    if label is None:
        return None
    text = f"{question.text}\n{CHOSEN_MARK} {label}"
    return text if utf16_length(text) <= MESSAGE_LIMIT else None
