"""Frontdesk inside a host bot: the aiogram router and the python-telegram-bot handler take the
chats frontdesk handles and leave every other one to the host, against a fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import telegram
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import ErrorEvent, Message, Update
from telegram.ext import Application, CallbackContext, MessageHandler, filters

from adapters.telegram.plugins import FrontdeskRouting, aiogram_router, aiogram_update, ptb_handler
from core.app import Frontdesk, embedded
from core.arrival import handled
from core.clock import ManualClock
from core.config import load_config
from core.errors import Backlogged
from tests.adapters.telegram.fake_bot_api import TOKEN, FakeBotApi
from tests.adapters.telegram.fakes import CHAT_ID, button_update, text_update
from tests.support.backlog import Held, bounded
from tests.support.harness import START, records_of
from tests.support.telegram import CHAT, QUESTION, THANKS, WELCOME, texts, write_telegram_config

Feed = Callable[[dict[str, Any]], Awaitable[None]]
PtbContext = CallbackContext[Any, Any, Any, Any]
KEYBOARD = {
    "inline_keyboard": [
        [{"text": "Sales", "callback_data": "fd:sales"}],
        [{"text": "Support", "callback_data": "fd:support"}],
    ]
}


@pytest.fixture
async def frontdesk(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> AsyncIterator[Frontdesk]:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team, mode="embedded")
    async with embedded(load_config(config), ManualClock(START)) as running:
        assert list(running.channels["telegram"].routes()) == []
        yield running


async def assert_untouched(frontdesk: Frontdesk, bot_api: FakeBotApi) -> None:
    await frontdesk.runtime.idle()
    assert await records_of(frontdesk).contact_at("telegram", CHAT) is None
    assert await frontdesk.store.pending_inbound(10) == []
    assert bot_api.of("sendMessage") == []


async def assert_opened(frontdesk: Frontdesk, bot_api: FakeBotApi) -> None:
    await frontdesk.runtime.idle()
    sent = await bot_api.wait_for("sendMessage", 2)
    assert texts(bot_api) == [WELCOME, QUESTION]
    assert sent[1].params["reply_markup"] == KEYBOARD
    assert handled(await frontdesk.store.open_conversation("telegram", CHAT))


async def assert_assigned_to_sales(frontdesk: Frontdesk, bot_api: FakeBotApi) -> None:
    await frontdesk.runtime.idle()
    await bot_api.wait_for("sendMessage", 3)
    assert texts(bot_api)[2] == THANKS
    [conversation] = await records_of(frontdesk).conversations_of("telegram", CHAT)
    assert (conversation.team, conversation.assignee) == ("sales", "alice")


async def hand_over_support(
    feed: Feed, seen: list[str | None], frontdesk: Frontdesk, bot_api: FakeBotApi
) -> None:
    """The customer says hello (the host's to answer), asks for /support (which the host
    hands to frontdesk) and picks Sales (frontdesk's: the host never sees it)."""
    await feed(text_update(1, "hello"))
    assert seen == ["hello"]
    await assert_untouched(frontdesk, bot_api)

    await feed(text_update(2, "/support"))
    assert seen == ["hello", "/support"]
    await assert_opened(frontdesk, bot_api)

    await feed(text_update(3, "Sales"))
    assert seen == ["hello", "/support"]
    await assert_assigned_to_sales(frontdesk, bot_api)


async def test_an_aiogram_host_hands_over_support_chats(
    frontdesk: Frontdesk, bot_api: FakeBotApi
) -> None:
    routing = FrontdeskRouting(frontdesk, "telegram")
    seen: list[str | None] = []
    host = Router(name="host")

    @host.message()
    async def on_message(message: Message, event_update: Update) -> None:
        seen.append(message.text)
        if message.text == "/support":
            await routing.start(event_update)

    dp = Dispatcher()
    dp.include_router(aiogram_router(routing))
    dp.include_router(host)
    assert set(dp.resolve_used_update_types()) == {"message", "callback_query"}
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(bot_api.url)))

    async def feed(data: dict[str, Any]) -> None:
        await dp.feed_update(bot, Update.model_validate(data))

    try:
        await hand_over_support(feed, seen, frontdesk, bot_api)

        # The agent has the chat now: frontdesk keeps taking it, button presses too.
        await feed(text_update(4, "are you there?"))
        await feed(button_update(5, "fd:support", message_id=2))
        assert seen == ["hello", "/support"]
    finally:
        await bot.session.close()


async def test_a_python_telegram_bot_host_hands_over_support_chats(
    frontdesk: Frontdesk, bot_api: FakeBotApi
) -> None:
    routing = FrontdeskRouting(frontdesk, "telegram")
    seen: list[str | None] = []

    async def on_message(
        update: telegram.Update, context: CallbackContext[Any, Any, Any, Any]
    ) -> None:
        assert update.message is not None
        seen.append(update.message.text)
        if update.message.text == "/support":
            await routing.start(aiogram_update(update))

    # PTB appends the token to base_url: "{base}/bot" + token, as Telegram's URLs are.
    application = Application.builder().token(TOKEN).base_url(f"{bot_api.url}/bot").build()
    application.add_handler(ptb_handler(routing), group=-1)
    application.add_handler(MessageHandler(filters.TEXT, on_message))

    async def feed(data: dict[str, Any]) -> None:
        await application.process_update(telegram.Update.de_json(data, application.bot))

    async with application:  # initialize: getMe on the fake
        await hand_over_support(feed, seen, frontdesk, bot_api)


async def test_a_group_chat_is_never_taken(frontdesk: Frontdesk, bot_api: FakeBotApi) -> None:
    routing = FrontdeskRouting(frontdesk, "telegram")
    await routing.start(Update.model_validate(text_update(1, "/support")))
    await assert_opened(frontdesk, bot_api)
    group = {"id": CHAT_ID, "type": "group", "title": "Team"}

    assert not await routing.offer(Update.model_validate(text_update(2, "Sales", chat=group)))
    assert await routing.offer(Update.model_validate(text_update(3, "Sales")))


async def test_routing_needs_a_telegram_channel(frontdesk: Frontdesk) -> None:
    with pytest.raises(ValueError, match="'slack' is not a telegram channel"):
        FrontdeskRouting(frontdesk, "slack")


@pytest.fixture
async def bounded_frontdesk(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> AsyncIterator[Frontdesk]:
    """Embedded, with room in its backlog for one event."""
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team, mode="embedded")
    async with embedded(load_config(bounded(config, 1)), ManualClock(START)) as running:
        yield running


async def fill_the_backlog(
    feed: Feed, frontdesk: Frontdesk, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> Held:
    """Support opened for the customer, then their answer taken and held unprocessed: the
    backlog is full."""
    await FrontdeskRouting(frontdesk, "telegram").start(text_update(1, "/support"))
    await assert_opened(frontdesk, bot_api)
    held = Held(frontdesk.runtime, monkeypatch)
    await feed(text_update(2, "Sales"))
    assert len(await frontdesk.store.pending_inbound(10)) == 1
    return held


async def assert_taken_once_drained(feed: Feed, held: Held, frontdesk: Frontdesk) -> None:
    """Nothing of the event turned away was stored; sent again once the backlog has
    drained, it is taken."""
    assert len(await frontdesk.store.pending_inbound(10)) == 1
    held.release()
    await frontdesk.runtime.idle()
    await feed(text_update(3, "thanks"))
    await frontdesk.runtime.idle()
    [conversation] = await records_of(frontdesk).conversations_of("telegram", CHAT)
    transcript = await records_of(frontdesk).transcript(conversation.id)
    said = [entry.text for entry in transcript if entry.direction == "in"]
    assert said == ["/support", "Sales", "thanks"]


async def test_an_aiogram_host_gets_backlogged_in_its_error_handler_when_the_backlog_is_full(
    bounded_frontdesk: Frontdesk, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    frontdesk = bounded_frontdesk
    seen: list[str | None] = []
    errors: list[Exception] = []
    host = Router(name="host")

    @host.message()
    async def on_message(message: Message) -> None:
        seen.append(message.text)

    dp = Dispatcher()
    dp.include_router(aiogram_router(FrontdeskRouting(frontdesk, "telegram")))
    dp.include_router(host)

    @dp.errors()
    async def on_error(event: ErrorEvent) -> None:
        errors.append(event.exception)

    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(bot_api.url)))

    async def feed(data: dict[str, Any]) -> None:
        await dp.feed_update(bot, Update.model_validate(data))

    try:
        held = await fill_the_backlog(feed, frontdesk, bot_api, monkeypatch)
        await feed(text_update(3, "thanks"))
        [error] = errors
        assert isinstance(error, Backlogged)
        assert error.retry_after_seconds == 5
        assert seen == []  # not the host's to answer either
        await assert_taken_once_drained(feed, held, frontdesk)
        assert (len(errors), seen) == (1, [])
    finally:
        await bot.session.close()


async def test_a_python_telegram_bot_host_gets_backlogged_in_its_error_handler(
    bounded_frontdesk: Frontdesk, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    frontdesk = bounded_frontdesk
    seen: list[str | None] = []
    errors: list[object] = []

    async def on_message(update: telegram.Update, context: PtbContext) -> None:
        assert update.message is not None
        seen.append(update.message.text)

    async def on_error(update: object, context: PtbContext) -> None:
        errors.append(context.error)

    application = Application.builder().token(TOKEN).base_url(f"{bot_api.url}/bot").build()
    application.add_handler(ptb_handler(FrontdeskRouting(frontdesk, "telegram")), group=-1)
    application.add_handler(MessageHandler(filters.TEXT, on_message))
    application.add_error_handler(on_error)

    async def feed(data: dict[str, Any]) -> None:
        await application.process_update(telegram.Update.de_json(data, application.bot))

    async with application:
        held = await fill_the_backlog(feed, frontdesk, bot_api, monkeypatch)
        await feed(text_update(3, "thanks"))
        [error] = errors
        assert isinstance(error, Backlogged)
        assert error.retry_after_seconds == 5
        await assert_taken_once_drained(feed, held, frontdesk)
        assert len(errors) == 1


# The README's examples, run as they are written: only the Bot API server is the fake's.

README = Path(__file__).parents[3] / "README.md"


def readme_example(marker: str) -> str:
    blocks = [
        block.split("```", 1)[0]
        for block in README.read_text().split("```python\n")[1:]
        if marker in block.split("```", 1)[0]
    ]
    assert len(blocks) == 1, f"README.md should have one python example with {marker}"
    return blocks[0]


def pointed_at(code: str, original: str, replacement: str) -> str:
    assert original in code, f"the README example no longer has {original}"
    return code.replace(original, replacement)


async def run_example(
    code: str, bot_api: FakeBotApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the example's `main` against the fake while a customer writes, asks for support
    and picks Sales, then stop it as Ctrl-C would."""
    monkeypatch.chdir(tmp_path)  # the example reads frontdesk.yaml from where it runs
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), namespace)
    main = asyncio.create_task(namespace["main"]())
    try:
        bot_api.queue_update(text_update(1, "hello"))
        bot_api.queue_update(text_update(2, "/support", entities=[COMMAND]))
        await bot_api.wait_for("sendMessage", 2)
        bot_api.queue_update(text_update(3, "Sales"))
        await bot_api.wait_for("sendMessage", 3)
        assert texts(bot_api) == [WELCOME, QUESTION, THANKS]
    finally:
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await main


COMMAND = {"type": "bot_command", "offset": 0, "length": len("/support")}


async def test_the_readme_aiogram_example_runs(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_telegram_config(tmp_path, bot_api.url, route_by_team, mode="embedded")
    code = pointed_at(
        readme_example("aiogram_router"),
        'Bot(os.environ["BOT_TOKEN"])',
        'Bot(os.environ["BOT_TOKEN"], session=AiohttpSession('
        f'api=TelegramAPIServer.from_base("{bot_api.url}")))',
    )
    code = "from aiogram.client.session.aiohttp import AiohttpSession\n" + code
    code = "from aiogram.client.telegram import TelegramAPIServer\n" + code
    await run_example(code, bot_api, tmp_path, monkeypatch)


async def test_the_readme_python_telegram_bot_example_runs(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_telegram_config(tmp_path, bot_api.url, route_by_team, mode="embedded")
    code = pointed_at(
        readme_example("ptb_handler"),
        '.token(os.environ["BOT_TOKEN"])',
        f'.token(os.environ["BOT_TOKEN"]).base_url("{bot_api.url}/bot")',
    )
    await run_example(code, bot_api, tmp_path, monkeypatch)
