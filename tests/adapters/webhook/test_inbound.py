"""`POST /<slug>/events`: size, signature, JSON, shape, then the inbox, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from adapters.webhook.signing import SIGNATURE_HEADER, sign
from core.models import ContactProfile, Inbound
from tests.adapters.webhook.fakes import MAX_BODY, SECRET, SLUG
from tests.support.inbox import FakeInbox

EVENT: dict[str, Any] = {
    "event_id": "evt-123",
    "contact": {
        "id": "c-42",
        "name": "Ana",
        "language": "es",
        "email": "ana@example.com",
        "phone": "+34600000000",
    },
    "message": {"text": "hello"},
}

SIGN = object()  # sign the body properly


async def post(
    http: aiohttp.ClientSession,
    url: str,
    body: bytes,
    signature: str | object | None = SIGN,
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if signature is SIGN:
        headers[SIGNATURE_HEADER] = sign(SECRET, body)
    elif isinstance(signature, str):
        headers[SIGNATURE_HEADER] = signature
    async with http.post(url, data=body, headers=headers) as response:
        return response.status, await response.json()


def encode(payload: object) -> bytes:
    return json.dumps(payload).encode("utf-8")


async def test_an_event_is_normalised_and_accepted(
    http: aiohttp.ClientSession, events_url: str, inbox: FakeInbox
) -> None:
    status, answer = await post(http, events_url, encode(EVENT))

    assert (status, answer) == (200, {"status": "accepted"})
    assert inbox.events == [
        Inbound(
            channel=SLUG,
            event_id="evt-123",
            contact=ContactProfile(
                external_id="c-42",
                name="Ana",
                language="es",
                email="ana@example.com",
                phone="+34600000000",
            ),
            text="hello",
            raw=EVENT,
        )
    ]


@pytest.mark.parametrize(
    "message",
    [{"option_id": "sales"}, {"text": "Sales", "option_id": "sales"}],
)
async def test_an_option_may_come_with_or_without_text(
    http: aiohttp.ClientSession, events_url: str, inbox: FakeInbox, message: dict[str, str]
) -> None:
    event = {"event_id": "evt-1", "contact": {"id": "c-1"}, "message": message}

    status, _ = await post(http, events_url, encode(event))

    assert status == 200
    [seen] = inbox.events
    assert (seen.option_id, seen.text) == ("sales", message.get("text"))
    assert seen.contact == ContactProfile(external_id="c-1")


async def test_a_repeated_event_is_acknowledged_as_a_duplicate(
    http: aiohttp.ClientSession, events_url: str, inbox: FakeInbox
) -> None:
    first = await post(http, events_url, encode(EVENT))
    again = await post(http, events_url, encode(EVENT))

    assert first == (200, {"status": "accepted"})
    assert again == (200, {"status": "duplicate"})
    assert len(inbox.events) == 1


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(sign("another-secret-of-length", encode(EVENT)), id="other secret"),
        pytest.param(sign(SECRET, b"{}"), id="other body"),
        pytest.param(sign(SECRET, encode(EVENT)).upper(), id="not lowercase"),
        pytest.param(sign(SECRET, encode(EVENT)).removeprefix("sha256="), id="no prefix"),
        pytest.param("sha256=ñ", id="non-ascii"),
    ],
)
async def test_a_bad_signature_is_refused_before_anything_is_read(
    http: aiohttp.ClientSession,
    events_url: str,
    inbox: FakeInbox,
    signature: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    status, answer = await post(http, events_url, encode(EVENT), signature)

    assert status == 401
    assert answer == {"error": f"missing or wrong {SIGNATURE_HEADER}"}
    assert inbox.events == []
    assert "refused an event with 401" in caplog.text
    assert SECRET not in caplog.text
    assert not signature or signature not in caplog.text


async def test_an_unsigned_malformed_body_gets_401_not_400(
    http: aiohttp.ClientSession, events_url: str
) -> None:
    status, _ = await post(http, events_url, b"{not json", signature=None)

    assert status == 401


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe{}"])
async def test_malformed_json_is_a_400(
    http: aiohttp.ClientSession, events_url: str, inbox: FakeInbox, body: bytes
) -> None:
    status, answer = await post(http, events_url, body)

    assert (status, answer) == (400, {"error": "body is not valid JSON"})
    assert inbox.events == []


def without(key: str, inside: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(json.dumps(EVENT))
    del (event[inside] if inside else event)[key]
    return event


def changed(path: str, value: object) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(json.dumps(EVENT))
    *parents, last = path.split(".")
    target = event
    for parent in parents:
        target = target[parent]
    target[last] = value
    return event


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param(without("event_id"), "event_id: Field required", id="no event id"),
        pytest.param(without("id", "contact"), "contact.id: Field required", id="no contact id"),
        pytest.param(without("message"), "message: Field required", id="no message"),
        pytest.param(changed("message", {}), "message: give text or option_id", id="empty message"),
        pytest.param(
            changed("message.text", ""),
            "message.text: String should have at least 1 character",
            id="empty text",
        ),
        pytest.param(
            changed("event_id", ""),
            "event_id: String should have at least 1 character",
            id="empty event id",
        ),
        pytest.param(
            changed("contact.id", "c" * 257),
            "contact.id: String should have at most 256 characters",
            id="long contact id",
        ),
        pytest.param(
            changed("event_id", 123), "event_id: Input should be a valid string", id="number"
        ),
        pytest.param(
            changed("contact.nmae", "Ana"),
            "contact.nmae: Extra inputs are not permitted",
            id="typo",
        ),
        pytest.param(
            changed("contact", "c-42"),
            "contact: Input should be a valid dictionary",
            id="contact not an object",
        ),
        pytest.param([EVENT], "body: must be a JSON object", id="array"),
    ],
)
async def test_a_wrong_shape_is_a_400_naming_the_field(
    http: aiohttp.ClientSession,
    events_url: str,
    inbox: FakeInbox,
    payload: object,
    reason: str,
) -> None:
    status, answer = await post(http, events_url, encode(payload))

    assert status == 400
    assert answer["error"].startswith(reason)
    assert inbox.events == []


def event_of_size(size: int) -> bytes:
    """A valid event exactly `size` bytes long, padded in the contact's name."""
    empty = encode(changed("contact.name", ""))
    return encode(changed("contact.name", "x" * (size - len(empty))))


async def test_a_body_at_the_limit_is_accepted(
    http: aiohttp.ClientSession, events_url: str, inbox: FakeInbox
) -> None:
    body = event_of_size(MAX_BODY)
    assert len(body) == MAX_BODY

    status, _ = await post(http, events_url, body)

    assert status == 200
    assert len(inbox.events) == 1


async def test_a_body_over_the_limit_is_a_413(
    http: aiohttp.ClientSession, events_url: str, inbox: FakeInbox
) -> None:
    status, answer = await post(http, events_url, event_of_size(MAX_BODY + 1))

    assert (status, answer) == (413, {"error": f"body is over {MAX_BODY} bytes"})
    assert inbox.events == []


async def test_an_oversized_content_length_is_refused_before_the_body_is_sent(
    events_url: str,
) -> None:
    url = URL(events_url)
    assert url.host is not None
    assert url.port is not None
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        # Only the head goes out: were the server waiting for the body, no answer would come.
        writer.write(
            f"POST {url.path} HTTP/1.1\r\nHost: {url.host}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
        await writer.wait_closed()

    assert status_line.split()[1] == b"413"


async def chunks(total: int, size: int = 100) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b"x" * min(size, total - sent)
        sent += len(chunk)
        yield chunk


async def test_an_oversized_chunked_body_is_cut_short_and_refused(
    http: aiohttp.ClientSession, events_url: str, inbox: FakeInbox
) -> None:
    # An async iterator is sent chunked, with no Content-Length to check up front. Unsigned,
    # too: the size check comes before the signature's.
    async with http.post(events_url, data=chunks(MAX_BODY * 20)) as response:
        status, answer = response.status, await response.json()

    assert (status, answer) == (413, {"error": f"body is over {MAX_BODY} bytes"})
    assert inbox.events == []


async def test_a_chunked_body_under_the_limit_is_read_whole(
    http: aiohttp.ClientSession, events_url: str, inbox: FakeInbox
) -> None:
    body = event_of_size(MAX_BODY)

    async def in_pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    headers = {SIGNATURE_HEADER: sign(SECRET, body)}
    async with http.post(events_url, data=in_pieces(), headers=headers) as response:
        assert response.status == 200
    assert len(inbox.events) == 1


async def test_a_store_failure_is_a_503_so_the_sender_retries(
    http: aiohttp.ClientSession,
    events_url: str,
    inbox: FakeInbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox.unavailable = True
    failed = await post(http, events_url, encode(EVENT))
    inbox.unavailable = False
    retried = await post(http, events_url, encode(EVENT))

    assert failed == (503, {"error": "store unavailable, retry later"})
    assert retried == (200, {"status": "accepted"})
    assert "evt-123" in caplog.text
    assert SECRET not in caplog.text
