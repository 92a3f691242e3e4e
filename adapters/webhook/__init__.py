"""The generic webhook channel: JSON in and out over HTTP, signed with a shared secret."""

from adapters.webhook.channel import WebhookChannel
from adapters.webhook.settings import WebhookSettings

__all__ = ["WebhookChannel", "WebhookSettings"]
