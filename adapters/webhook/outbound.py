"""The sender: POSTs each outbound message to the callback URL and says how it went.

Every platform failure becomes a `Delivery`, never an exception, so that the outbox decides
what to do: SENT, RETRY (maybe with the receiver's own `retry_after`) or FAILED.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from adapters.webhook.payload import CallbackMessage
from adapters.webhook.settings import WebhookSettings
from adapters.webhook.signing import SIGNATURE_HEADER, sign
from core.bodies import read_at_most
from core.deliveries import Delivery
from core.models import Outbound
from core.ports import Clock

IDEMPOTENCY_HEADER = "Idempotency-Key"
# 408 Request Timeout and 425 Too Early say "the same request later may work", like a 5xx.
_TRANSIENT_STATUSES = frozenset({408, 425})
_ERROR_BODY_CHARS = 200


class CallbackSender:
    def __init__(self, settings: WebhookSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self._settings.timeout_seconds)
            self._session = aiohttp.ClientSession(timeout=timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, message: Outbound) -> Delivery:
        if self._session is None:
            raise RuntimeError("the webhook sender was not started")
        body = CallbackMessage.from_outbound(message).model_dump_json().encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._settings.secret.get_secret_value(), body),
            IDEMPOTENCY_HEADER: message.message_id,
        }
        try:
            # Redirects are not followed: aiohttp would turn some into a GET and drop the body,
            # and a moved callback URL is a config matter, reported as a failure below.
            async with self._session.post(
                str(self._settings.callback_url),
                data=body,
                headers=headers,
                allow_redirects=False,
            ) as response:
                if 200 <= response.status < 300:
                    return Delivery.sent()
                return await self._unsent(response)
        except TimeoutError:
            return Delivery.retry(f"no answer within {self._settings.timeout_seconds:g}s")
        except aiohttp.ClientError as exc:
            return Delivery.retry(f"{type(exc).__name__}: {exc}")

    async def _unsent(self, response: aiohttp.ClientResponse) -> Delivery:
        status = response.status
        # Enough bytes for 200 characters of any UTF-8 text, and no more: the body is the
        # receiver's to make huge.
        raw = await read_at_most(response.content, _ERROR_BODY_CHARS * 4)
        text = raw.decode("utf-8", errors="replace")[:_ERROR_BODY_CHARS].strip()
        error = f"HTTP {status}: {text}" if text else f"HTTP {status}"
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock.now())
            return Delivery.retry(error, retry_after)
        if status >= 500 or status in _TRANSIENT_STATUSES:
            return Delivery.retry(error)
        return Delivery.failed(error)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date.

    None when absent or unreadable (the outbox then uses its own backoff); never negative.
    See https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP dates are always GMT; parsedate leaves "-0000" naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
