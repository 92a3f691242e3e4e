"""What to tell an operator when Telegram refuses the bot token.

Telegram answers 401 Unauthorized when the token is wrong or was revoked in @BotFather
(https://core.telegram.org/bots/api#making-requests); nothing works until it is replaced, so
it is an error worth saying plainly, with what to do.
"""

from __future__ import annotations


def token_refused(slug: str) -> str:
    return (
        f"telegram {slug}: the bot token was refused (401 Unauthorized): check "
        f"channels.{slug}.token (or the environment variable it names, e.g. "
        "TELEGRAM_BOT_TOKEN); create a new token with @BotFather if it was revoked"
    )
