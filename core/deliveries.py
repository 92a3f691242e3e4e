"""What a channel says about one attempt to send a message."""

from __future__ import annotations

from enum import StrEnum

from pydantic import model_validator

from core.values import Frozen


class DeliveryOutcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    # Not now, and not a failure: the channel's own rate limit. Not counted as an attempt.
    DEFER = "defer"


class Delivery(Frozen):
    """What a channel says about one attempt to send an Outbound.

    DEFER means the channel did not try at all (its own rate limit said wait); it requires
    `retry_after`, the seconds (more than 0) until the message may go.
    """

    outcome: DeliveryOutcome
    error: str | None = None
    retry_after: float | None = None  # seconds, when the platform said how long to wait
    recipient_gone: bool = False  # FAILED because the recipient refuses all messages (403)

    @classmethod
    def sent(cls) -> Delivery:
        return _SENT  # frozen, the same for every message sent: made once

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> Delivery:
        return cls(outcome=DeliveryOutcome.RETRY, error=error, retry_after=retry_after)

    @classmethod
    def failed(cls, error: str, recipient_gone: bool = False) -> Delivery:
        return cls(outcome=DeliveryOutcome.FAILED, error=error, recipient_gone=recipient_gone)

    @classmethod
    def defer(cls, seconds: float) -> Delivery:
        return cls(outcome=DeliveryOutcome.DEFER, retry_after=seconds)

    @model_validator(mode="after")
    def _defer_says_how_long(self) -> Delivery:
        # A wait of zero would have the outbox claim the same message again at once.
        if self.outcome == DeliveryOutcome.DEFER and (self.retry_after or 0) <= 0:
            raise ValueError("a deferred delivery needs a positive retry_after")
        return self


_SENT = Delivery(outcome=DeliveryOutcome.SENT)
