"""What follows a button press on Telegram: the spinner stopped, the question showing the
choice without its keyboard, all within the bot's limit."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp

from adapters.telegram import TelegramChannel
from core.clock import ManualClock
from core.models import Outbound
from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fakes import CHAT_ID, NOW, button_update
from tests.adapters.telegram.test_inbound import post

TEAMS = {"fd:sales": "Sales", "fd:support": "Support"}


async def test_the_question_shows_the_choice_and_loses_its_buttons(
    http: aiohttp.ClientSession, updates_url: str, channel: TelegramChannel, bot_api: FakeBotApi
) -> None:
    update = button_update(40, "fd:support", message_id=9, buttons=TEAMS)

    assert await post(http, updates_url, update) == (200, {"status": "accepted"})

    await channel.idle()
    [edited] = bot_api.of("editMessageText")
    # No reply_markup: the edited message has no keyboard left.
    assert edited.params == {
        "chat_id": str(CHAT_ID),
        "message_id": "9",
        "text": "Which team?\n✔ Support",
    }
    assert bot_api.of("editMessageReplyMarkup") == []


async def test_without_the_pressed_button_in_the_message_only_the_keyboard_goes(
    http: aiohttp.ClientSession, updates_url: str, channel: TelegramChannel, bot_api: FakeBotApi
) -> None:
    update = button_update(41, "fd:billing", message_id=9, buttons=TEAMS)

    await post(http, updates_url, update)

    await channel.idle()
    assert bot_api.of("editMessageText") == []
    [edited] = bot_api.of("editMessageReplyMarkup")
    assert edited.params == {"chat_id": str(CHAT_ID), "message_id": "9"}


async def test_follow_ups_wait_their_turn_in_the_bots_limit(
    http: aiohttp.ClientSession,
    updates_url: str,
    channel: TelegramChannel,
    bot_api: FakeBotApi,
    clock: ManualClock,
) -> None:
    bot_api.clock = clock
    for n in range(30):  # the bot's 30 calls of this second
        message = Outbound(
            message_id=f"m-{n}", conversation_id=f"c-{n}", channel="tg", recipient=str(n), text="hi"
        )
        assert (await channel.send(message)).outcome == "sent"

    await post(http, updates_url, button_update(42, "fd:sales", buttons=TEAMS))
    follow_ups = asyncio.create_task(channel.idle())
    done, _ = await asyncio.wait({follow_ups}, timeout=0.3)
    assert not done  # waiting on the clock, not calling Telegram
    assert bot_api.of("answerCallbackQuery") == []

    clock.advance(1)
    await asyncio.wait_for(follow_ups, 5)
    [answered] = bot_api.of("answerCallbackQuery")
    [edited] = bot_api.of("editMessageText")
    assert answered.clock_at == edited.clock_at == NOW + timedelta(seconds=1)
