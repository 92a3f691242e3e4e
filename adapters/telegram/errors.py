"""How a Bot API call can fail, as the channel tells it apart.

The names are aiogram's (aiogram/exceptions.py), so that a delivery's stored error reads the
same as it did when the channel sent through aiogram ("TelegramForbiddenError: Forbidden: bot
was blocked by the user"); the classes are ours, so that serving never imports aiogram.
https://core.telegram.org/bots/api#making-requests
"""

from __future__ import annotations


class BotApiFailure(Exception):
    """A call that did not succeed; `message` says why, never with the token in it."""

    def __init__(self, method: str, message: str) -> None:
        super().__init__(message)
        self.method = method
        self.message = message


class ClientDecodeError(BotApiFailure):
    """The answer was not the Bot API's JSON (a proxy's HTML error page, say)."""


class TelegramNetworkError(BotApiFailure):
    """No answer: the connection failed or the call timed out."""


class TelegramAPIError(BotApiFailure):
    """The Bot API answered `ok: false`."""


class TelegramRetryAfter(TelegramAPIError):
    """429: flood control; `retry_after` seconds before the bot may call again.
    https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this"""

    def __init__(self, method: str, message: str, retry_after: int) -> None:
        super().__init__(
            method,
            f"Flood control exceeded on method {method!r}. Retry in {retry_after} seconds."
            f"\nOriginal description: {message}",
        )
        self.retry_after = retry_after


class TelegramMigrateToChat(TelegramAPIError):
    """The group became a supergroup with another chat id.
    https://core.telegram.org/bots/api#responseparameters"""

    def __init__(self, method: str, message: str, migrate_to_chat_id: int) -> None:
        super().__init__(
            method,
            f"The group has been migrated to a supergroup with id {migrate_to_chat_id}"
            f"\nOriginal description: {message}",
        )
        self.migrate_to_chat_id = migrate_to_chat_id


class TelegramBadRequest(TelegramAPIError):
    """400"""


class TelegramUnauthorizedError(TelegramAPIError):
    """401: the token is wrong or was revoked."""


class TelegramForbiddenError(TelegramAPIError):
    """403: blocked by the user, kicked from the chat, or a deactivated user."""


class TelegramNotFound(TelegramAPIError):
    """404"""


class TelegramConflictError(TelegramAPIError):
    """409: getUpdates while a webhook is set, or two getUpdates at once."""


class TelegramEntityTooLarge(TelegramAPIError):
    """413"""


class TelegramServerError(TelegramAPIError):
    """5xx: Telegram's side; worth trying again."""
