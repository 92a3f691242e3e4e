"""Polling mode: getUpdates in a background task, through the same handler as the webhook."""

from __future__ import annotations

import logging

import pytest

from adapters.telegram import TelegramChannel
from adapters.telegram.polling import cursor_name
from core.clock import ManualClock
from core.models import ContactProfile, Inbound
from tests.adapters.conftest import Start
from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fakes import (
    CHAT_ID,
    SLUG,
    button_update,
    make_settings,
    message_update,
    text_update,
)
from tests.support.inbox import FakeInbox
from tests.support.waiting import until

ANA = ContactProfile(external_id=str(CHAT_ID), name="Ana García", username="ana_g", language="es")
CURSOR = cursor_name(SLUG)


@pytest.fixture
async def poller(
    inbox: FakeInbox, clock: ManualClock, bot_api: FakeBotApi, start: Start
) -> TelegramChannel:
    settings = make_settings(bot_api.url, mode="polling", secret_token=None)
    return await start(TelegramChannel(SLUG, settings, inbox, clock))


async def test_queued_updates_reach_the_inbox_in_order_and_move_the_offset(
    poller: TelegramChannel, inbox: FakeInbox, bot_api: FakeBotApi
) -> None:
    first, second = text_update(10, "hello"), text_update(11, "again")
    bot_api.queue_update(first, second)

    await until(lambda: inbox.cursors.get(CURSOR) == "11")

    assert inbox.events == [
        Inbound(channel=SLUG, event_id="10", contact=ANA, text="hello", raw=first),
        Inbound(channel=SLUG, event_id="11", contact=ANA, text="again", raw=second),
    ]
    await until(lambda: not bot_api.pending_updates)  # the next call confirmed both
    assert [c.method for c in bot_api.calls[:2]] == ["deleteWebhook", "getUpdates"]
    assert bot_api.calls[0].params.get("drop_pending_updates") in (None, "false", "False")
    polls = bot_api.of("getUpdates")
    assert polls[0].params["allowed_updates"] == ["message", "callback_query"]
    assert polls[0].params["timeout"] == "25"
    assert "offset" not in polls[0].params
    assert polls[-1].params["offset"] == "12"


async def test_polling_serves_no_webhook_route(poller: TelegramChannel) -> None:
    assert list(poller.routes()) == []


async def test_ignored_updates_move_the_offset_too(
    poller: TelegramChannel, inbox: FakeInbox, bot_api: FakeBotApi
) -> None:
    bot_api.queue_update(message_update(20, kind="edited_message", text="hi!", edit_date=1))

    await until(lambda: inbox.cursors.get(CURSOR) == "20")

    assert inbox.events == []


async def test_a_button_press_is_followed_up(
    poller: TelegramChannel, inbox: FakeInbox, bot_api: FakeBotApi
) -> None:
    bot_api.queue_update(button_update(30, "fd:sales", message_id=7))

    await until(lambda: inbox.cursors.get(CURSOR) == "30")
    await poller.idle()

    assert [e.option_id for e in inbox.events] == ["sales"]
    [answered] = bot_api.of("answerCallbackQuery")
    assert answered.params == {"callback_query_id": "cb-30"}


async def test_an_unavailable_store_makes_the_poller_try_the_same_update_again(
    poller: TelegramChannel, inbox: FakeInbox, bot_api: FakeBotApi
) -> None:
    await bot_api.wait_for("getUpdates")  # polling, with the offset loaded
    inbox.unavailable = True
    polls_before = len(bot_api.of("getUpdates"))
    bot_api.queue_update(text_update(40, "hello"))

    # Asked again (the update still unconfirmed) after each failure to store it.
    await bot_api.wait_for("getUpdates", polls_before + 3)
    assert inbox.events == []
    assert CURSOR not in inbox.cursors
    assert [u["update_id"] for u in bot_api.pending_updates] == [40]

    inbox.unavailable = False
    await until(lambda: inbox.cursors.get(CURSOR) == "40")

    assert [e.event_id for e in inbox.events] == ["40"]
    await until(lambda: not bot_api.pending_updates)


async def test_the_poller_resumes_after_the_saved_offset(
    inbox: FakeInbox, clock: ManualClock, bot_api: FakeBotApi, start: Start
) -> None:
    inbox.cursors[CURSOR] = "50"
    await start(TelegramChannel(SLUG, make_settings(bot_api.url, mode="polling"), inbox, clock))

    await bot_api.wait_for("getUpdates")

    assert bot_api.of("getUpdates")[0].params["offset"] == "51"


async def test_bot_api_errors_are_retried(
    inbox: FakeInbox, clock: ManualClock, bot_api: FakeBotApi, start: Start
) -> None:
    bot_api.fail_next("deleteWebhook", 500)
    bot_api.fail_next("getUpdates", 502, times=2)
    bot_api.queue_update(text_update(60, "hello"))
    await start(TelegramChannel(SLUG, make_settings(bot_api.url, mode="polling"), inbox, clock))

    await until(lambda: inbox.cursors.get(CURSOR) == "60")

    assert [e.event_id for e in inbox.events] == ["60"]
    assert len(bot_api.of("deleteWebhook")) == 2
    assert len(bot_api.of("getUpdates")) >= 3


async def test_an_update_that_can_never_be_stored_is_skipped_not_polled_forever(
    poller: TelegramChannel, inbox: FakeInbox, bot_api: FakeBotApi
) -> None:
    poison = text_update(40, "\ud83d")  # text that is not valid Unicode
    bot_api.queue_update(poison, text_update(41, "after it"))

    await until(lambda: inbox.cursors.get(CURSOR) == "41")

    assert [e.text for e in inbox.events] == ["after it"]


async def test_a_refused_token_is_an_error_saying_what_to_do_and_polling_goes_on(
    inbox: FakeInbox,
    clock: ManualClock,
    bot_api: FakeBotApi,
    start: Start,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot_api.fail_next("getUpdates", 401)
    bot_api.queue_update(text_update(70, "hello"))
    await start(TelegramChannel(SLUG, make_settings(bot_api.url, mode="polling"), inbox, clock))

    await until(lambda: inbox.cursors.get(CURSOR) == "70")

    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "the bot token was refused (401 Unauthorized)" in error.getMessage()
    assert "@BotFather" in error.getMessage()
    assert error.__dict__["channel"] == SLUG
