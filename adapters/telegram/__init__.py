"""The Telegram channel: Bot API updates in through a webhook or getUpdates, messages out
through the channel's own small Bot API client (`wire`)."""

from adapters.telegram.channel import TelegramChannel
from adapters.telegram.settings import TelegramSettings

__all__ = ["TelegramChannel", "TelegramSettings"]
