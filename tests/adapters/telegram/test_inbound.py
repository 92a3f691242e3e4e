"""`POST /<slug>/updates`: secret, size, JSON, shape, normalising, then the inbox."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import pytest

from adapters.telegram import TelegramChannel
from adapters.telegram.inbound import SECRET_HEADER
from core.clock import ManualClock
from core.models import Attachment, ContactProfile, Inbound
from tests.adapters.conftest import Serve, Start
from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fakes import (
    CHAT_ID,
    MAX_BODY,
    PRIVATE_CHAT,
    SECRET_TOKEN,
    SLUG,
    USER,
    button_update,
    make_settings,
    message_update,
    text_update,
)
from tests.support.inbox import FakeInbox

ANA = ContactProfile(external_id=str(CHAT_ID), name="Ana García", username="ana_g", language="es")
GROUP = {"id": -1001, "type": "supergroup", "title": "Customers"}


async def post(
    http: aiohttp.ClientSession,
    url: str,
    body: object,
    secret: str | None = SECRET_TOKEN,
) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with http.post(url, data=raw, headers=headers) as response:
        return response.status, await response.json()


async def test_a_text_message_is_normalised_and_accepted(
    http: aiohttp.ClientSession, updates_url: str, inbox: FakeInbox
) -> None:
    update = text_update(10, "hello")

    assert await post(http, updates_url, update) == (200, {"status": "accepted"})

    assert inbox.events == [
        Inbound(channel=SLUG, event_id="10", contact=ANA, text="hello", raw=update)
    ]


async def test_a_repeated_update_is_acknowledged_as_a_duplicate(
    http: aiohttp.ClientSession, updates_url: str, inbox: FakeInbox
) -> None:
    update = text_update(11, "hello")

    assert await post(http, updates_url, update) == (200, {"status": "accepted"})
    assert await post(http, updates_url, update) == (200, {"status": "duplicate"})
    assert len(inbox.events) == 1


async def test_a_name_is_what_the_user_has(
    http: aiohttp.ClientSession, updates_url: str, inbox: FakeInbox
) -> None:
    sender = {"id": CHAT_ID, "is_bot": False, "first_name": "Bo"}

    await post(http, updates_url, text_update(12, "hi", sender=sender))

    assert inbox.events[0].contact == ContactProfile(external_id=str(CHAT_ID), name="Bo")


async def test_a_button_press_is_the_option_and_its_buttons_are_cleared(
    http: aiohttp.ClientSession,
    updates_url: str,
    inbox: FakeInbox,
    channel: TelegramChannel,
    bot_api: FakeBotApi,
) -> None:
    update = button_update(20, "fd:sales", message_id=7)

    assert await post(http, updates_url, update) == (200, {"status": "accepted"})

    assert inbox.events == [
        Inbound(channel=SLUG, event_id="20", contact=ANA, option_id="sales", raw=update)
    ]
    await channel.idle()
    [answered] = bot_api.of("answerCallbackQuery")
    assert answered.params == {"callback_query_id": "cb-20"}
    [edited] = bot_api.of("editMessageReplyMarkup")
    assert edited.params == {"chat_id": str(CHAT_ID), "message_id": "7"}


async def test_a_failing_follow_up_is_logged_and_harmless(
    http: aiohttp.ClientSession,
    updates_url: str,
    inbox: FakeInbox,
    channel: TelegramChannel,
    bot_api: FakeBotApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot_api.fail_next("answerCallbackQuery", 400)
    bot_api.fail_next("editMessageReplyMarkup", 500)

    assert await post(http, updates_url, button_update(21, "fd:sales")) == (
        200,
        {"status": "accepted"},
    )

    await channel.idle()
    assert len(inbox.events) == 1
    assert "answerCallbackQuery failed" in caplog.text
    assert "could not remove the keyboard" in caplog.text


async def test_a_repeated_button_press_is_followed_up_once(
    http: aiohttp.ClientSession,
    updates_url: str,
    channel: TelegramChannel,
    bot_api: FakeBotApi,
) -> None:
    update = button_update(22, "fd:sales")
    await post(http, updates_url, update)
    assert await post(http, updates_url, update) == (200, {"status": "duplicate"})

    await channel.idle()
    assert len(bot_api.of("answerCallbackQuery")) == 1


async def test_a_button_that_is_not_ours_is_ignored(
    http: aiohttp.ClientSession,
    updates_url: str,
    inbox: FakeInbox,
    channel: TelegramChannel,
    bot_api: FakeBotApi,
) -> None:
    assert await post(http, updates_url, button_update(23, "something-else")) == (
        200,
        {"status": "ignored"},
    )
    assert inbox.events == []
    await channel.idle()
    assert bot_api.calls == []  # the host's button: its spinner and keyboard are not ours


async def test_a_button_press_before_start_is_stored_without_a_follow_up(
    inbox: FakeInbox, clock: ManualClock, bot_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    channel = TelegramChannel(SLUG, make_settings(bot_api.url), inbox, clock)
    update = button_update(24, "fd:sales")

    assert await channel.handler.handle(update) == "accepted"

    await channel.idle()
    assert [e.option_id for e in inbox.events] == ["sales"]
    assert "cannot answer callback query, channel not started" in caplog.text
    assert bot_api.calls == []


@pytest.mark.parametrize("given", ["34600000000", "+34600000000"])
async def test_the_senders_own_contact_gives_the_phone(
    http: aiohttp.ClientSession, updates_url: str, inbox: FakeInbox, given: str
) -> None:
    # Telegram's "share my contact" button sends the number without its "+".
    contact = {"phone_number": given, "first_name": "Ana", "user_id": CHAT_ID}

    await post(http, updates_url, message_update(30, contact=contact))

    [event] = inbox.events
    assert (event.shared_phone, event.contact.phone, event.text) == (
        "+34600000000",
        "+34600000000",
        None,
    )
    assert event.attachment == Attachment(kind="contact", name=f"Ana {given}")


async def test_someone_elses_contact_is_only_an_attachment(
    http: aiohttp.ClientSession, updates_url: str, inbox: FakeInbox
) -> None:
    contact = {"phone_number": "+34611111111", "first_name": "Eve", "user_id": 999}

    await post(http, updates_url, message_update(31, contact=contact))

    [event] = inbox.events
    assert (event.shared_phone, event.contact.phone, event.attachment) == (
        None,
        None,
        Attachment(kind="contact", name="Eve +34611111111"),
    )


@pytest.mark.parametrize(
    ("content", "described", "text"),
    [
        (
            {"photo": [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]},
            Attachment(kind="photo", file_id="p"),
            None,
        ),
        (
            {
                "photo": [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}],
                "caption": "my invoice",
            },
            Attachment(kind="photo", file_id="p"),
            "my invoice",
        ),
        (
            {"document": {"file_id": "d", "file_unique_id": "u", "file_name": "bill.pdf"}},
            Attachment(kind="document", file_id="d", name="bill.pdf"),
            None,
        ),
        (
            {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "u",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            },
            Attachment(kind="sticker", file_id="s"),
            None,
        ),
        (
            {"voice": {"file_id": "v", "file_unique_id": "u", "duration": 2}},
            Attachment(kind="voice", file_id="v"),
            None,
        ),
        (
            {"location": {"latitude": 40.4, "longitude": -3.7}},
            Attachment(kind="location", latitude=40.4, longitude=-3.7),
            None,
        ),
        (
            {
                "video": {
                    "file_id": "v",
                    "file_unique_id": "u",
                    "width": 1,
                    "height": 1,
                    "duration": 1,
                }
            },
            Attachment(kind="video", file_id="v"),
            None,
        ),
    ],
)
async def test_media_is_an_attachment_of_its_kind(
    http: aiohttp.ClientSession,
    updates_url: str,
    inbox: FakeInbox,
    content: dict[str, Any],
    described: Attachment,
    text: str | None,
) -> None:
    assert await post(http, updates_url, message_update(40, **content)) == (
        200,
        {"status": "accepted"},
    )

    [event] = inbox.events
    assert (event.attachment, event.text, event.option_id) == (described, text, None)
    assert event.contact == ANA


@pytest.mark.parametrize(
    "update",
    [
        pytest.param(message_update(50, kind="edited_message", text="fixed"), id="edited"),
        pytest.param(text_update(51, "hi all", chat=GROUP), id="group"),
        pytest.param(button_update(52, "fd:sales", chat=GROUP), id="button in a group"),
        pytest.param(message_update(53, new_chat_title="New"), id="service message"),
        pytest.param(
            {
                "update_id": 54,
                "my_chat_member": {
                    "chat": PRIVATE_CHAT,
                    "from": USER,
                    "date": 1,
                    "old_chat_member": {"status": "member", "user": USER},
                    "new_chat_member": {"status": "kicked", "user": USER, "until_date": 0},
                },
            },
            id="my_chat_member",
        ),
        pytest.param({"update_id": 55, "brand_new_update_type": {"x": 1}}, id="unknown type"),
        pytest.param({"update_id": 56}, id="no event"),
    ],
)
async def test_updates_without_a_customer_message_are_ignored(
    http: aiohttp.ClientSession, updates_url: str, inbox: FakeInbox, update: dict[str, Any]
) -> None:
    assert await post(http, updates_url, update) == (200, {"status": "ignored"})
    assert inbox.events == []


async def test_groups_are_read_when_not_private_only(
    http: aiohttp.ClientSession,
    inbox: FakeInbox,
    clock: ManualClock,
    bot_api: FakeBotApi,
    start: Start,
    serve: Serve,
) -> None:
    settings = make_settings(bot_api.url, private_chats_only=False)
    channel = await start(TelegramChannel(SLUG, settings, inbox, clock))
    url = str((await serve(channel)).make_url(f"/{SLUG}/updates"))

    assert (await post(http, url, text_update(60, "hi all", chat=GROUP)))[0] == 200

    [event] = inbox.events
    assert (event.contact.external_id, event.contact.name) == ("-1001", "Ana García")


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("another-secret", id="other"),
        pytest.param(SECRET_TOKEN + "x", id="longer"),
        pytest.param(SECRET_TOKEN.upper(), id="case"),
    ],
)
async def test_a_wrong_secret_token_is_refused(
    http: aiohttp.ClientSession,
    updates_url: str,
    inbox: FakeInbox,
    secret: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    status, answer = await post(http, updates_url, text_update(70, "hi"), secret)

    assert status == 401
    assert answer == {"error": f"missing or wrong {SECRET_HEADER}"}
    assert inbox.events == []
    assert SECRET_TOKEN not in caplog.text


async def test_a_wrong_secret_is_refused_before_the_body_is_read(
    http: aiohttp.ClientSession, updates_url: str
) -> None:
    assert (await post(http, updates_url, b"x" * (MAX_BODY * 2), secret="nope"))[0] == 401


async def test_an_oversized_body_is_refused(
    http: aiohttp.ClientSession, updates_url: str, inbox: FakeInbox
) -> None:
    status, answer = await post(http, updates_url, text_update(71, "x" * MAX_BODY))

    assert (status, answer) == (413, {"error": f"body is over {MAX_BODY} bytes"})
    assert inbox.events == []


async def test_an_oversized_chunked_body_is_refused(
    http: aiohttp.ClientSession, updates_url: str, inbox: FakeInbox
) -> None:
    async def chunks() -> Any:
        for _ in range(3):
            yield b"x" * MAX_BODY

    headers = {SECRET_HEADER: SECRET_TOKEN}
    async with http.post(updates_url, data=chunks(), headers=headers) as response:
        assert response.status == 413
    assert inbox.events == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"\xff\xfe", "body is not valid JSON"),
        (b"[1, 2]", "body: must be a JSON object"),
        (b"{}", "update_id: Field required"),
        (b'{"update_id": "x"}', "update_id: Input should be a valid integer"),
        (
            json.dumps({"update_id": 1, "message": {"message_id": 1}}).encode(),
            "message.date: Field required",
        ),
    ],
)
async def test_a_malformed_update_gets_400_with_a_reason(
    http: aiohttp.ClientSession, updates_url: str, inbox: FakeInbox, body: bytes, reason: str
) -> None:
    status, answer = await post(http, updates_url, body)

    assert status == 400
    assert reason in answer["error"]
    assert inbox.events == []


async def test_a_store_failure_gets_503_so_telegram_sends_again(
    http: aiohttp.ClientSession,
    updates_url: str,
    inbox: FakeInbox,
    channel: TelegramChannel,
    bot_api: FakeBotApi,
) -> None:
    inbox.unavailable = True

    status, answer = await post(http, updates_url, button_update(80, "fd:sales"))

    assert (status, answer) == (503, {"error": "store unavailable, retry later"})
    await channel.idle()  # a follow-up, had one been started, would have run by now
    assert bot_api.of("answerCallbackQuery") == []
