"""End to end over real HTTP: a Telegram customer's journey through the route-by-team workflow,
with Telegram played by a fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.telegram import TelegramChannel
from adapters.telegram.inbound import SECRET_HEADER
from core.ports import OutboxRecord
from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fakes import CHAT_ID, SECRET_TOKEN, button_update, message_update
from tests.support.harness import START, Running, records_of, running
from tests.support.telegram import CHAT, QUESTION, THANKS, WELCOME, texts, write_telegram_config
from tests.support.waiting import until


async def post_update(
    fd: Running, update: dict[str, Any], secret: str = SECRET_TOKEN
) -> tuple[int, dict[str, Any]]:
    headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}
    async with fd.session.post(
        f"{fd.url}/telegram/updates", data=json.dumps(update), headers=headers
    ) as response:
        return response.status, await response.json()


async def deliver(fd: Running, update: dict[str, Any]) -> None:
    """Telegram delivers an update; frontdesk stores it and processes it."""
    assert await post_update(fd, update) == (200, {"status": "accepted"})
    await fd.frontdesk.runtime.idle()


async def outbox_when(
    fd: Running, ready: Callable[[list[OutboxRecord]], bool]
) -> list[OutboxRecord]:
    """The chat's outbox rows once `ready` holds."""
    return await fd.outbox_when(CHAT, ready, channel="telegram")


async def test_a_telegram_customer_is_greeted_asked_and_assigned_by_button(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team)
    async with running(config) as fd:
        await deliver(fd, message_update(1, text="hi"))

        sent = await bot_api.wait_for("sendMessage", 2)
        assert texts(bot_api) == [WELCOME, QUESTION]
        assert {c.params["chat_id"] for c in sent} == {CHAT}
        assert "reply_markup" not in sent[0].params
        assert sent[1].params["reply_markup"] == {
            "inline_keyboard": [
                [{"text": "Sales", "callback_data": "fd:sales"}],
                [{"text": "Support", "callback_data": "fd:support"}],
            ]
        }

        question_id = 2  # the fake numbers the messages it is sent
        buttons = {"fd:sales": "Sales", "fd:support": "Support"}
        await deliver(
            fd, button_update(2, "fd:sales", message_id=question_id, buttons=buttons, text=QUESTION)
        )

        await bot_api.wait_for("sendMessage", 3)
        assert texts(bot_api)[2] == THANKS
        channel = fd.frontdesk.channels["telegram"]
        assert isinstance(channel, TelegramChannel)
        await channel.idle()
        [answered] = bot_api.of("answerCallbackQuery")
        assert answered.params == {"callback_query_id": "cb-2"}
        # The question shows what was chosen, without its buttons.
        [edited] = bot_api.of("editMessageText")
        assert edited.params == {
            "chat_id": CHAT,
            "message_id": str(question_id),
            "text": f"{QUESTION}\n✔ Sales",
        }

        store = records_of(fd.frontdesk)
        [conversation] = await store.conversations_of("telegram", CHAT)
        assert (conversation.team, conversation.assignee) == ("sales", "alice")
        transcript = await store.transcript(conversation.id)
        assert [(e.direction, e.text or e.option_id) for e in transcript] == [
            ("in", "hi"),
            ("out", WELCOME),
            ("out", QUESTION),
            ("in", "sales"),
            ("out", THANKS),
        ]
        rows = await outbox_when(fd, lambda rows: len(rows) == 3 and rows[2].status == "sent")
        assert [r.status for r in rows] == ["sent"] * 3


async def test_the_same_update_twice_is_processed_once(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team)
    async with running(config) as fd:
        update = message_update(5, text="hello")
        assert await post_update(fd, update) == (200, {"status": "accepted"})
        assert await post_update(fd, update) == (200, {"status": "duplicate"})
        await fd.frontdesk.runtime.idle()

        await bot_api.wait_for("sendMessage", 2)
        [conversation] = await records_of(fd.frontdesk).conversations_of("telegram", CHAT)
        transcript = await records_of(fd.frontdesk).transcript(conversation.id)
        assert [e.direction for e in transcript] == ["in", "out", "out"]


async def test_a_wrong_secret_and_an_edit_change_nothing(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team)
    async with running(config) as fd:
        status, _ = await post_update(fd, message_update(7, text="hi"), secret="wrong")
        assert status == 401
        edited = message_update(8, kind="edited_message", text="hi!", edit_date=1_714_996_900)
        assert await post_update(fd, edited) == (200, {"status": "ignored"})
        await fd.frontdesk.runtime.idle()

        assert await records_of(fd.frontdesk).conversations_of("telegram", CHAT) == []
        assert await records_of(fd.frontdesk).contact_at("telegram", CHAT) is None
        assert await fd.frontdesk.store.pending_inbound(10) == []
        assert bot_api.calls == []


async def test_the_language_comes_from_telegram(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team)
    async with running(config) as fd:
        await deliver(fd, message_update(9, text="hola"))

        contact = await records_of(fd.frontdesk).contact_at("telegram", CHAT)
        assert contact is not None
        assert (contact.name, contact.username, contact.language) == ("Ana García", "ana_g", "es")


async def test_a_429_makes_the_outbox_wait_exactly_retry_after(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    bot_api.fail_next("sendMessage", 429, retry_after=3)
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team)
    async with running(config) as fd:
        await deliver(fd, message_update(10, text="hi"))

        rows = await outbox_when(fd, lambda rows: bool(rows) and rows[0].attempts == 1)
        assert rows[0].status == "pending"
        assert rows[0].last_error is not None
        assert "Too Many Requests" in rows[0].last_error
        assert await fd.frontdesk.store.next_outbound_due() == START + timedelta(seconds=3)

        await fd.advance(2.999)
        assert await fd.frontdesk.runtime.outbox.flush() == 0  # nothing is due yet
        assert len(bot_api.of("sendMessage")) == 1

        advanced_at = time.monotonic()
        await fd.advance(0.001)
        sent = await bot_api.wait_for("sendMessage", 3)
        assert sent[1].at >= advanced_at
        assert texts(bot_api) == [
            WELCOME,
            WELCOME,
            QUESTION,
        ]
        rows = await outbox_when(fd, lambda rows: len(rows) == 2 and rows[1].status == "sent")
        assert [(r.status, r.attempts) for r in rows] == [("sent", 2), ("sent", 1)]


async def test_one_chats_messages_go_a_second_apart_without_failed_attempts(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(
        tmp_path, bot_api.url, route_by_team, per_chat_interval_seconds=1
    )
    async with running(config) as fd:
        await deliver(fd, message_update(11, text="hi"))

        await bot_api.wait_for("sendMessage", 1)
        a_second_on = START + timedelta(seconds=1)

        async def deferred() -> bool:  # the question has been claimed and deferred
            return await fd.frontdesk.store.next_outbound_due() == a_second_on

        await until(deferred)
        rows = await outbox_when(fd, lambda rows: len(rows) == 2)
        # The question is deferred by the chat's limit, not tried: no attempt, no error.
        assert [(r.status, r.attempts, r.last_error) for r in rows] == [
            ("sent", 1, None),
            ("pending", 0, None),
        ]
        assert await fd.frontdesk.store.next_outbound_due() == a_second_on

        await fd.advance(0.999)
        assert await fd.frontdesk.runtime.outbox.flush() == 0  # nothing is due yet
        assert texts(bot_api) == [WELCOME]

        await fd.advance(0.001)
        await bot_api.wait_for("sendMessage", 2)
        assert texts(bot_api) == [WELCOME, QUESTION]
        rows = await outbox_when(fd, lambda rows: len(rows) == 2 and rows[1].status == "sent")
        assert [(r.status, r.attempts, r.last_error) for r in rows] == [
            ("sent", 1, None),
            ("sent", 1, None),
        ]
        assert [r.sent_at for r in rows] == [START, a_second_on]


async def test_a_bot_blocked_by_the_user_marks_the_contact_unreachable(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    bot_api.fail_next("sendMessage", 403, times=2)  # blocked: the welcome and the question
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team)
    async with running(config) as fd:
        await deliver(fd, message_update(20, text="hi"))
        rows = await outbox_when(fd, lambda rows: all(r.status == "failed" for r in rows))
        assert [(r.status, r.attempts) for r in rows] == [("failed", 1), ("failed", 1)]

        async def unreachable_since() -> datetime | None:  # marked just after the failure
            contact = await records_of(fd.frontdesk).contact_at("telegram", CHAT)
            return None if contact is None else contact.unreachable_since

        assert await until(unreachable_since) == START
        # They unblock the bot and answer: reachable again, and the workflow goes on.
        await deliver(fd, message_update(21, text="Sales"))
        contact = await records_of(fd.frontdesk).contact_at("telegram", CHAT)
        assert contact is not None
        assert contact.unreachable_since is None
        await bot_api.wait_for("sendMessage", 3)
        assert texts(bot_api)[2] == THANKS


BY_LANGUAGE = """
name: by-language
trigger: conversation_opened
steps:
  - {id: hello, type: send_message, text: "Hello!", translations: {es: "¡Hola!"}}
  - id: route
    type: branch
    branches:
      - conditions: [{field: contact.language, op: equals, value: es}]
        steps: [{id: to_spanish, type: assign, team: support}]
    else:
      - {id: to_others, type: assign, team: sales}
  - {id: told, type: send_message, text: "{{ agent.name }}"}
"""


async def test_a_spanish_speaker_is_routed_by_the_language_branch(
    tmp_path: Path, bot_api: FakeBotApi
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, BY_LANGUAGE)
    english = {"id": 77, "is_bot": False, "first_name": "Jo", "language_code": "en-GB"}
    async with running(config) as fd:
        await deliver(fd, message_update(30, text="hola"))  # language_code "es"
        await deliver(
            fd,
            message_update(31, chat={"id": 77, "type": "private"}, sender=english, text="hi"),
        )
        sent = await bot_api.wait_for("sendMessage", 4)
        by_chat: dict[str, list[str]] = {}
        for call in sent:
            by_chat.setdefault(str(call.params["chat_id"]), []).append(call.params["text"])
        assert by_chat == {CHAT: ["¡Hola!", "Carol"], "77": ["Hello!", "Alice"]}
        [spanish] = await records_of(fd.frontdesk).conversations_of("telegram", CHAT)
        assert (spanish.team, spanish.assignee) == ("support", "carol")


ASK_PHONE = """
name: ask-phone
trigger: conversation_opened
steps:
  - {id: phone, type: ask_question, text: "What is your phone number?", answer: phone}
  - {id: thanks, type: send_message, text: "We will call {{ contact.phone }}."}
"""
PHONE_RETRY = "That doesn't look like a phone number. Please include the country code."
SHARE_PHONE = {
    "keyboard": [[{"text": "Share my phone number", "request_contact": True}]],
    "resize_keyboard": True,
    "one_time_keyboard": True,
}


async def test_a_shared_contact_of_their_own_answers_the_phone_question(
    tmp_path: Path, bot_api: FakeBotApi
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, ASK_PHONE)
    async with running(config) as fd:
        await deliver(fd, message_update(40, text="hi"))
        # A card of someone else (forwarded) is not their number: asked again.
        eve = {"phone_number": "+447700900123", "first_name": "Eve", "user_id": 999}
        await deliver(fd, message_update(41, contact=eve))
        # Their own, from the share button: Telegram leaves out the "+".
        own = {"phone_number": "34612345678", "first_name": "Ana", "user_id": CHAT_ID}
        await deliver(fd, message_update(42, contact=own))

        sent = await bot_api.wait_for("sendMessage", 3)
        assert [(c.params["text"], c.params.get("reply_markup")) for c in sent] == [
            ("What is your phone number?", SHARE_PHONE),
            (PHONE_RETRY, SHARE_PHONE),
            ("We will call +34612345678.", {"remove_keyboard": True}),
        ]
        contact = await records_of(fd.frontdesk).contact_at("telegram", CHAT)
        assert contact is not None
        assert (contact.phone, contact.country) == ("+34612345678", "ES")
        [conversation] = await records_of(fd.frontdesk).conversations_of("telegram", CHAT)
        transcript = await records_of(fd.frontdesk).transcript(conversation.id)
        assert [
            (e.direction, e.attachment.name if e.attachment else e.text) for e in transcript
        ] == [
            ("in", "hi"),
            ("out", "What is your phone number?"),
            ("in", "Eve +447700900123"),
            ("out", PHONE_RETRY),
            ("in", "Ana 34612345678"),
            ("out", "We will call +34612345678."),
        ]


async def test_the_phone_keyboard_is_taken_away_after_a_restart(
    tmp_path: Path, bot_api: FakeBotApi
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, ASK_PHONE)
    async with running(config) as fd:
        await deliver(fd, message_update(50, text="hi"))
        await bot_api.wait_for("sendMessage", 1)
    # A new process on the same SQLite file: nothing it holds in memory says a keyboard shows.
    async with running(config) as fd:
        own = {"phone_number": "34612345678", "first_name": "Ana", "user_id": CHAT_ID}
        await deliver(fd, message_update(51, contact=own))
        sent = await bot_api.wait_for("sendMessage", 2)
    assert [(c.params["text"], c.params.get("reply_markup")) for c in sent] == [
        ("What is your phone number?", SHARE_PHONE),
        ("We will call +34612345678.", {"remove_keyboard": True}),
    ]
