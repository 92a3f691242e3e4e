"""End to end in polling mode: the real app asks a fake Bot API for updates with getUpdates,
and a restart neither loses nor repeats one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.telegram import TelegramChannel
from adapters.telegram.polling import cursor_name
from storage.sqlite import SqliteSettings, SqliteStore
from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fakes import button_update, message_update
from tests.support.harness import Running, records_of, running
from tests.support.telegram import CHAT, QUESTION, THANKS, WELCOME, texts, write_telegram_config
from tests.support.waiting import until

CURSOR = cursor_name("telegram")


async def processed(fd: Running, update_id: int) -> None:
    """Wait until the poller has handed over `update_id` and its turn has run."""

    async def handed_over() -> bool:
        return await fd.frontdesk.store.load_cursor(CURSOR) == str(update_id)

    await until(handed_over)
    await fd.frontdesk.runtime.idle()


async def transcript(fd: Running) -> list[tuple[str, str | None]]:
    [conversation] = await records_of(fd.frontdesk).conversations_of("telegram", CHAT)
    entries = await records_of(fd.frontdesk).transcript(conversation.id)
    return [(e.direction, e.text or e.option_id) for e in entries]


async def test_a_polled_message_is_answered_and_a_polled_button_assigns(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team, mode="polling")
    async with running(config) as fd:
        channel = fd.frontdesk.channels["telegram"]
        assert isinstance(channel, TelegramChannel)
        assert list(channel.routes()) == []
        async with fd.session.post(f"{fd.url}/telegram/updates", json={}) as response:
            assert response.status == 404

        bot_api.queue_update(message_update(1, text="hi"))
        await processed(fd, 1)
        sent = await bot_api.wait_for("sendMessage", 2)
        assert texts(bot_api) == [WELCOME, QUESTION]
        assert {c.params["chat_id"] for c in sent} == {CHAT}

        question_id = 2  # the fake numbers the messages it is sent
        bot_api.queue_update(button_update(2, "fd:sales", message_id=question_id))
        await processed(fd, 2)
        await bot_api.wait_for("sendMessage", 3)
        await channel.idle()

        assert texts(bot_api)[2] == THANKS
        [answered] = bot_api.of("answerCallbackQuery")
        assert answered.params == {"callback_query_id": "cb-2"}
        [conversation] = await records_of(fd.frontdesk).conversations_of("telegram", CHAT)
        assert (conversation.team, conversation.assignee) == ("sales", "alice")
        assert bot_api.of("deleteWebhook")


async def test_a_restart_neither_loses_nor_repeats_an_update(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team, mode="polling")
    first = message_update(1, text="hi")
    async with running(config) as fd:
        bot_api.queue_update(first)
        await processed(fd, 1)
        await bot_api.wait_for("sendMessage", 2)

    # While frontdesk is down, the customer presses a button and writes again. And as if
    # the first run had crashed between storing update 1 and saving its offset, Telegram
    # still holds it and the saved offset is behind.
    bot_api.queue_update(first, button_update(2, "fd:sales", message_id=2))
    bot_api.queue_update(message_update(3, text="thank you"))
    store = SqliteStore(SqliteSettings(path="frontdesk.db"), tmp_path)
    await store.open()
    try:
        assert await store.load_cursor(CURSOR) == "1"
        await store.save_cursor(CURSOR, "0")
    finally:
        await store.close()

    async with running(config) as fd:
        await processed(fd, 3)
        await bot_api.wait_for("sendMessage", 3)
        await asyncio.sleep(0.3)  # a repeat, if there were one, would have been sent by now

        assert texts(bot_api) == [WELCOME, QUESTION, THANKS]
        assert await transcript(fd) == [
            ("in", "hi"),
            ("out", WELCOME),
            ("out", QUESTION),
            ("in", "sales"),
            ("out", THANKS),
            ("in", "thank you"),
        ]
        assert len(await records_of(fd.frontdesk).conversations_of("telegram", CHAT)) == 1
        assert await fd.frontdesk.store.load_cursor(CURSOR) == "3"
        await until(lambda: not bot_api.pending_updates)  # the next getUpdates confirms them
