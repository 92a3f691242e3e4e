"""The Telegram channel: Bot API updates in through a webhook or getUpdates, messages out
through aiogram."""

from adapters.telegram.channel import TelegramChannel
from adapters.telegram.settings import TelegramSettings

__all__ = ["TelegramChannel", "TelegramSettings"]
