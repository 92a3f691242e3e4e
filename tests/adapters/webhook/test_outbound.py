"""`WebhookChannel.send`: the signed POST to the callback URL, and what each answer means."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

from adapters.webhook import WebhookChannel, WebhookSettings
from adapters.webhook.outbound import parse_retry_after
from adapters.webhook.signing import SIGNATURE_HEADER, verify
from core.clock import ManualClock
from core.deliveries import Delivery, DeliveryOutcome
from core.models import Option, Outbound
from core.ports import Channel
from tests.adapters.conftest import Start
from tests.adapters.webhook.fakes import (
    NOW,
    SECRET,
    SLUG,
    Answer,
    Receiver,
    make_settings,
)
from tests.support.inbox import FakeInbox
from tests.support.process import free_port

MESSAGE = Outbound(
    message_id="m-1",
    conversation_id="conv-9",
    channel=SLUG,
    recipient="c-42",
    text="Which team?",
    options=[Option(id="sales", label="Sales"), Option(id="support", label="Support")],
    language="es",
)


def answering(status: int, body: str = "", headers: dict[str, str] | None = None) -> Answer:
    async def respond(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text=body, headers=headers)

    return respond


def test_the_channel_fits_the_port(inbox: FakeInbox, clock: ManualClock) -> None:
    # Mostly for mypy. The class itself is not checked against ChannelType: mypy cannot match
    # a class object to a protocol with a ClassVar member (core/ports.py), hence this check.
    channel: Channel = WebhookChannel(SLUG, make_settings("http://127.0.0.1/"), inbox, clock)

    assert WebhookChannel.settings_model is WebhookSettings
    assert channel.slug == SLUG


async def test_a_message_is_posted_signed_with_its_idempotency_key(
    channel: WebhookChannel, receiver: Receiver
) -> None:
    delivery = await channel.send(MESSAGE)

    assert delivery == Delivery(outcome=DeliveryOutcome.SENT)
    [request] = receiver.requests
    assert json.loads(request.body) == {
        "message_id": "m-1",
        "conversation_id": "conv-9",
        "contact_id": "c-42",
        "text": "Which team?",
        "options": [{"id": "sales", "label": "Sales"}, {"id": "support", "label": "Support"}],
        "language": "es",
    }
    assert verify(SECRET, request.body, request.headers[SIGNATURE_HEADER])
    assert request.headers["Idempotency-Key"] == "m-1"
    assert request.headers["Content-Type"] == "application/json"


async def test_a_message_without_options_says_so(
    channel: WebhookChannel, receiver: Receiver
) -> None:
    plain = MESSAGE.model_copy(update={"options": [], "language": None})

    assert (await channel.send(plain)).outcome is DeliveryOutcome.SENT
    body = json.loads(receiver.requests[0].body)
    assert (body["options"], body["language"]) == ([], None)


@pytest.mark.parametrize("status", [500, 502, 503, 408, 425])
async def test_a_server_error_or_timeout_status_is_retried(
    channel: WebhookChannel, receiver: Receiver, status: int
) -> None:
    receiver.answer = answering(status, "boom")

    delivery = await channel.send(MESSAGE)

    assert delivery == Delivery(outcome=DeliveryOutcome.RETRY, error=f"HTTP {status}: boom")


async def test_429_is_retried_after_the_seconds_it_says(
    channel: WebhookChannel, receiver: Receiver
) -> None:
    receiver.answer = answering(429, "slow down", {"Retry-After": "30"})

    delivery = await channel.send(MESSAGE)

    assert delivery == Delivery(
        outcome=DeliveryOutcome.RETRY, error="HTTP 429: slow down", retry_after=30.0
    )


async def test_429_is_retried_at_the_date_it_says(
    channel: WebhookChannel, receiver: Receiver
) -> None:
    # The channel's clock is a ManualClock at NOW, so the date is two minutes ahead of it.
    when = format_datetime(NOW + timedelta(minutes=2), usegmt=True)
    receiver.answer = answering(429, headers={"Retry-After": when})

    delivery = await channel.send(MESSAGE)

    assert delivery == Delivery(outcome=DeliveryOutcome.RETRY, error="HTTP 429", retry_after=120.0)


async def test_429_without_retry_after_leaves_the_wait_to_the_outbox(
    channel: WebhookChannel, receiver: Receiver
) -> None:
    receiver.answer = answering(429)

    delivery = await channel.send(MESSAGE)

    assert (delivery.outcome, delivery.retry_after) == (DeliveryOutcome.RETRY, None)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
        ("Mon, 06 May 2024 12:00:30 -0000", 30.0),
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("²", None),
        ("soon", None),
    ],
)
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
async def test_another_client_error_fails_for_good(
    channel: WebhookChannel, receiver: Receiver, status: int
) -> None:
    receiver.answer = answering(status, "no such contact")

    delivery = await channel.send(MESSAGE)

    assert delivery == Delivery(
        outcome=DeliveryOutcome.FAILED, error=f"HTTP {status}: no such contact"
    )


async def test_the_error_keeps_only_the_start_of_a_long_body(
    channel: WebhookChannel, receiver: Receiver
) -> None:
    receiver.answer = answering(404, "é" * 5000)

    delivery = await channel.send(MESSAGE)

    assert delivery.error == "HTTP 404: " + "é" * 200


async def test_a_redirect_is_not_followed(channel: WebhookChannel, receiver: Receiver) -> None:
    receiver.answer = answering(308, headers={"Location": "/elsewhere"})

    delivery = await channel.send(MESSAGE)

    assert delivery == Delivery(outcome=DeliveryOutcome.FAILED, error="HTTP 308")
    assert len(receiver.requests) == 1


async def test_a_refused_connection_is_retried(
    inbox: FakeInbox, clock: ManualClock, start: Start
) -> None:
    url = f"http://127.0.0.1:{free_port()}/callback"
    channel = await start(WebhookChannel(SLUG, make_settings(url), inbox, clock))

    delivery = await channel.send(MESSAGE)

    assert delivery.outcome is DeliveryOutcome.RETRY
    assert delivery.error is not None
    assert "ClientConnectorError" in delivery.error


async def test_a_receiver_that_never_answers_is_retried(
    inbox: FakeInbox, clock: ManualClock, receiver: Receiver, start: Start
) -> None:
    released = asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        await released.wait()
        return web.Response()

    receiver.answer = hang
    settings = make_settings(receiver.url, timeout_seconds=0.2)
    channel = await start(WebhookChannel(SLUG, settings, inbox, clock))
    try:
        delivery = await channel.send(MESSAGE)
    finally:
        released.set()  # so that the receiver's server can stop

    assert delivery == Delivery(outcome=DeliveryOutcome.RETRY, error="no answer within 0.2s")


async def test_sending_before_start_is_a_programming_error(
    inbox: FakeInbox, clock: ManualClock
) -> None:
    channel = WebhookChannel(SLUG, make_settings("http://127.0.0.1/"), inbox, clock)

    with pytest.raises(RuntimeError, match="not started"):
        await channel.send(MESSAGE)


async def test_close_is_safe_twice(channel: WebhookChannel) -> None:
    await channel.close()
    await channel.close()
