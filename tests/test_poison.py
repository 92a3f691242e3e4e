"""Input that can never be processed is refused at once with its reason, on every channel,
and stores nothing: a sender told to retry (503) would retry it forever."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from tests.adapters.telegram.fakes import CHAT_ID, USER, text_update
from tests.support.channels import Everywhere, everywhere
from tests.support.harness import event, records_of
from tests.support.receiver import Receiver

LONE = "\ud83d"  # half of a surrogate pair: valid JSON (`"\ud83d"`), never valid UTF-8


async def nothing_stored(fd: Everywhere) -> None:
    assert await fd.run.frontdesk.store.pending_inbound(10) == []
    await fd.run.frontdesk.runtime.idle()
    for channel, contact in (("webhook", "c-1"), ("telegram", str(CHAT_ID)), ("slack", "UANA")):
        assert await records_of(fd.run.frontdesk).conversations_of(channel, contact) == []


@pytest.mark.parametrize("field", ["name", "language", "email"])
async def test_a_webhook_contact_field_that_is_not_unicode_is_a_400_on_the_first_try(
    tmp_path: Path, receiver: Receiver, field: str
) -> None:
    async with everywhere(tmp_path, receiver) as fd:
        body = json.dumps(event("c-1", "hi", **{field: LONE})).encode()  # "\ud83d" escaped

        for _ in range(2):  # the same answer however often it is sent
            status, answer = await fd.run.post(body)
            assert status == 400
            assert answer == {
                "error": f"contact.{field}: not valid Unicode text (a lone surrogate)"
            }
        await nothing_stored(fd)
        await fd.run.say("c-1", "hi", name="Ana")  # the same contact, writing properly
        assert await receiver.wait_for_texts("c-1", 2) == ["Hello!", "What is your name?"]


async def test_a_telegram_update_that_is_not_unicode_is_a_400(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with everywhere(tmp_path, receiver) as fd:
        update = text_update(1, "hi", sender={**USER, "first_name": LONE})

        status, answer = await fd.telegram_update(update)

        assert status == 400
        assert "not valid Unicode text" in json.loads(answer)["error"]
        await nothing_stored(fd)


async def test_a_slack_message_that_is_not_unicode_is_a_400(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with everywhere(tmp_path, receiver) as fd:
        status, answer = await fd.slack.message("UANA", "DANA", LONE)

        assert status == 400
        assert "not valid Unicode text" in json.loads(answer)["error"]
        await nothing_stored(fd)


async def test_a_slack_profile_that_is_not_unicode_leaves_the_customer_known_by_id(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with everywhere(tmp_path, receiver) as fd:
        fd.web_api.add_user("UANA", LONE)

        status, _ = await fd.slack.message("UANA", "DANA", "hola")

        assert status == 200
        await fd.run.frontdesk.runtime.idle()
        contact = await records_of(fd.run.frontdesk).contact_at("slack", "UANA")
        assert contact is not None
        assert contact.name is None


DEEP = b'{"a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"


async def test_json_nested_too_deeply_is_a_400_on_the_webhook_and_telegram(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    async with everywhere(tmp_path, receiver) as fd:
        status, answer = await fd.run.post(DEEP)
        assert (status, answer) == (400, {"error": "body: nested deeper than 64 levels"})
        status, text = await fd.telegram(DEEP)
        assert (status, json.loads(text)) == (400, {"error": "body: nested deeper than 64 levels"})
        # Deep, but not too deep to parse: kept out of the store, whose reader stops earlier.
        update = text_update(2, "hi")
        nested: object = 1
        for _ in range(200):
            nested = {"a": nested}
        update["extra"] = nested
        status, _ = await fd.telegram_update(update)
        assert status == 400
        await nothing_stored(fd)
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("[]", "application/json"),
        ("payload=", "application/x-www-form-urlencoded"),
        ("payload=%5B%5D", "application/x-www-form-urlencoded"),
        ("xpayload=1", "application/x-www-form-urlencoded"),
        ('{"type": "event_callback", "event": null}', "application/json"),
        ('{"type": "event_callback", "event": {"type": 5}}', "application/json"),
        ('{"type": "event_callback", "team": 5, "event": {"type": "message"}}', "application/json"),
        (
            "payload="
            + json.dumps({"type": "block_actions", "user": {"id": "U1"}, "actions": None}),
            "application/x-www-form-urlencoded",
        ),
        (
            "payload="
            + json.dumps({"type": "block_actions", "user": {"id": "U1"}, "actions": [{}]}),
            "application/x-www-form-urlencoded",
        ),
        ("command=%2Ffrontdesk&text=online", "application/x-www-form-urlencoded"),
        ("", "application/json"),
    ],
)
async def test_a_signed_slack_body_of_the_wrong_shape_is_a_400_with_one_warning(
    tmp_path: Path,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    body: str,
    content_type: str,
) -> None:
    async with everywhere(tmp_path, receiver) as fd:
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            status, answer = await fd.slack.post(body, content_type)

        assert status == 400
        assert json.loads(answer)["error"]
        [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert warning.levelno == logging.WARNING
        assert warning.exc_info is None
        await nothing_stored(fd)


async def test_a_slack_timestamp_that_is_not_a_number_is_a_401(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with everywhere(tmp_path, receiver) as fd:
        body = json.dumps({"type": "url_verification", "challenge": "abc"})
        headers = {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=00"}
        async with fd.run.session.post(fd.slack.url, data=body, headers=headers) as response:
            assert response.status == 401
            assert await response.json() == {"error": "missing or wrong X-Slack-Request-Timestamp"}
        # A signature made for another body, or too long ago, is refused the same way.
        status, _ = await fd.slack.post(body, "application/json", at=time.time() - 3600)
        assert status == 401
