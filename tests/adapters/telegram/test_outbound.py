"""`TelegramChannel.send` against the fake Bot API: what is sent, and what each answer means."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

from adapters.telegram import TelegramChannel, TelegramSettings
from adapters.telegram.texts import split_text, utf16_length
from core.clock import ManualClock
from core.deliveries import Delivery, DeliveryOutcome
from core.models import Option, Outbound
from core.ports import Channel
from tests.adapters.conftest import Start
from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fakes import CHAT_ID, SLUG, make_settings
from tests.support.inbox import FakeInbox
from tests.support.process import free_port
from tests.support.serve import serving_app

MESSAGE = Outbound(
    message_id="m-1",
    conversation_id="conv-9",
    channel=SLUG,
    recipient=str(CHAT_ID),
    text="Which team? <b>not bold</b> *nor this*",
    options=[Option(id="sales", label="Sales"), Option(id="support", label="Support")],
    language="es",
)
MESSAGE_KEYBOARD = {
    "inline_keyboard": [
        [{"text": "Sales", "callback_data": "fd:sales"}],
        [{"text": "Support", "callback_data": "fd:support"}],
    ]
}


def test_the_channel_fits_the_port(inbox: FakeInbox, clock: ManualClock) -> None:
    channel: Channel = TelegramChannel(SLUG, make_settings("http://127.0.0.1/"), inbox, clock)

    assert TelegramChannel.settings_model is TelegramSettings
    assert channel.slug == SLUG


async def test_sending_before_start_is_a_programming_error(
    inbox: FakeInbox, clock: ManualClock
) -> None:
    channel = TelegramChannel(SLUG, make_settings("http://127.0.0.1/"), inbox, clock)

    with pytest.raises(RuntimeError, match="not started"):
        await channel.send(MESSAGE)


async def test_a_message_goes_as_plain_text_with_one_button_per_row(
    channel: TelegramChannel, bot_api: FakeBotApi
) -> None:
    assert await channel.send(MESSAGE) == Delivery(outcome=DeliveryOutcome.SENT)

    [call] = bot_api.calls
    assert call.method == "sendMessage"
    assert call.params == {
        "chat_id": str(CHAT_ID),
        "text": "Which team? <b>not bold</b> *nor this*",
        "reply_markup": {
            "inline_keyboard": [
                [{"text": "Sales", "callback_data": "fd:sales"}],
                [{"text": "Support", "callback_data": "fd:support"}],
            ]
        },
    }  # no parse_mode: Telegram shows the text exactly as written


async def test_a_message_without_options_has_no_keyboard(
    channel: TelegramChannel, bot_api: FakeBotApi
) -> None:
    plain = MESSAGE.model_copy(update={"options": []})

    assert (await channel.send(plain)).outcome == DeliveryOutcome.SENT
    assert "reply_markup" not in bot_api.calls[0].params


async def test_callback_data_of_the_longest_option_id_fits_telegrams_limit(
    channel: TelegramChannel, bot_api: FakeBotApi
) -> None:
    longest = "a.b-c_" + "x" * 26  # 32 characters, the most a workflow allows
    message = MESSAGE.model_copy(update={"options": [Option(id=longest, label="L")]})

    await channel.send(message)

    [[button]] = bot_api.calls[0].params["reply_markup"]["inline_keyboard"]
    assert button["callback_data"] == "fd:" + longest
    assert len(button["callback_data"].encode()) <= 64


async def test_a_long_text_is_split_with_the_keyboard_on_the_last_part(
    channel: TelegramChannel, bot_api: FakeBotApi, clock: ManualClock
) -> None:
    paragraph = "word " * 999 + "end."  # 4999 characters
    long = MESSAGE.model_copy(update={"text": paragraph + "\n" + paragraph})

    # Each part is a message to the chat, so the parts go out a second apart.
    deferred = Delivery(outcome=DeliveryOutcome.DEFER, retry_after=1.0)
    assert await channel.send(long) == deferred
    clock.advance(1)
    assert await channel.send(long) == deferred
    clock.advance(1)
    assert (await channel.send(long)).outcome == DeliveryOutcome.SENT

    sent = [c.params for c in bot_api.of("sendMessage")]
    assert len(sent) == 3
    assert all(len(p["text"]) <= 4096 for p in sent)
    assert " ".join(p["text"] for p in sent).split() == long.text.split()
    assert [("reply_markup" in p) for p in sent] == [False, False, True]


async def test_a_retry_after_a_half_sent_long_text_sends_only_the_rest(
    inbox: FakeInbox, clock: ManualClock, bot_api: FakeBotApi, start: Start
) -> None:
    long = MESSAGE.model_copy(update={"text": "a" * 4096 + " " + "b" * 10})
    # No per-chat spacing, so that the second part is tried (and fails) at once.
    settings = make_settings(bot_api.url, per_chat_interval_seconds=0)
    channel = await start(TelegramChannel(SLUG, settings, inbox, clock))

    first = await _send_failing_second_part(channel, bot_api, long)
    again = await channel.send(long)

    assert (first.outcome, again.outcome) == (DeliveryOutcome.RETRY, DeliveryOutcome.SENT)
    assert [c.params["text"][0] for c in bot_api.of("sendMessage")] == ["a", "b", "b"]


async def _send_failing_second_part(
    channel: TelegramChannel, bot_api: FakeBotApi, message: Outbound
) -> Delivery:
    # The first part goes through, and its arrival scripts a 500 for the second.
    original = bot_api._sendMessage
    count = 0

    def flaky(params: dict[str, object]) -> dict[str, object]:
        nonlocal count
        count += 1
        if count == 1:
            bot_api.fail_next("sendMessage", 500)
        return original(params)

    bot_api._sendMessage = flaky  # type: ignore[method-assign]
    try:
        return await channel.send(message)
    finally:
        bot_api._sendMessage = original  # type: ignore[method-assign]


async def test_429_is_a_retry_after_telegrams_delay(
    channel: TelegramChannel, bot_api: FakeBotApi
) -> None:
    bot_api.fail_next("sendMessage", 429, retry_after=3)

    delivery = await channel.send(MESSAGE)

    assert delivery.outcome == DeliveryOutcome.RETRY
    assert delivery.retry_after == 3
    assert delivery.error is not None
    assert "Too Many Requests" in delivery.error


async def test_a_429_defers_every_chat_of_the_bot_for_retry_after(
    channel: TelegramChannel, bot_api: FakeBotApi, clock: ManualClock
) -> None:
    bot_api.fail_next("sendMessage", 429, retry_after=3)
    other_chat = MESSAGE.model_copy(update={"message_id": "m-2", "recipient": "777"})

    assert (await channel.send(MESSAGE)).outcome == DeliveryOutcome.RETRY
    clock.advance(0.5)

    # Telegram's flood limit is per bot: the other chat waits too, without asking Telegram.
    assert await channel.send(other_chat) == Delivery(
        outcome=DeliveryOutcome.DEFER, retry_after=2.5
    )
    assert len(bot_api.of("sendMessage")) == 1
    clock.advance(2.5)
    assert await channel.send(other_chat) == Delivery(outcome=DeliveryOutcome.SENT)


async def test_a_second_message_within_the_chat_interval_is_deferred_unsent(
    channel: TelegramChannel, bot_api: FakeBotApi, clock: ManualClock
) -> None:
    follow_up = MESSAGE.model_copy(update={"message_id": "m-2", "text": "And another thing"})
    assert await channel.send(MESSAGE) == Delivery(outcome=DeliveryOutcome.SENT)
    clock.advance(0.25)

    assert await channel.send(follow_up) == Delivery(
        outcome=DeliveryOutcome.DEFER, retry_after=0.75
    )
    assert len(bot_api.of("sendMessage")) == 1  # Telegram was not asked

    clock.advance(0.75)
    assert await channel.send(follow_up) == Delivery(outcome=DeliveryOutcome.SENT)
    assert [c.params["text"] for c in bot_api.of("sendMessage")][1] == "And another thing"


async def test_the_bots_limit_defers_a_message_to_a_new_chat(
    inbox: FakeInbox, clock: ManualClock, bot_api: FakeBotApi, start: Start
) -> None:
    settings = make_settings(bot_api.url, per_bot_per_second=2)
    channel = await start(TelegramChannel(SLUG, settings, inbox, clock))

    for n, chat in enumerate(["1", "2", "3"]):
        if n:
            clock.advance(0.1)
        delivery = await channel.send(MESSAGE.model_copy(update={"recipient": chat}))

    assert delivery == Delivery(outcome=DeliveryOutcome.DEFER, retry_after=0.8)  # 1s after "1"
    assert [c.params["chat_id"] for c in bot_api.of("sendMessage")] == ["1", "2"]


async def test_a_blocked_bot_is_a_failure_with_the_reason(
    channel: TelegramChannel, bot_api: FakeBotApi
) -> None:
    bot_api.fail_next("sendMessage", 403)

    delivery = await channel.send(MESSAGE)

    assert delivery == Delivery(
        outcome=DeliveryOutcome.FAILED,
        error="TelegramForbiddenError: Forbidden: bot was blocked by the user",
        recipient_gone=True,  # the outbox marks the contact unreachable
    )


async def test_a_bad_request_is_a_failure_with_the_reason(
    channel: TelegramChannel, bot_api: FakeBotApi
) -> None:
    bot_api.fail_next("sendMessage", 400)

    delivery = await channel.send(MESSAGE)

    assert delivery == Delivery(
        outcome=DeliveryOutcome.FAILED, error="TelegramBadRequest: Bad Request: chat not found"
    )


async def test_a_server_error_is_a_retry(channel: TelegramChannel, bot_api: FakeBotApi) -> None:
    bot_api.fail_next("sendMessage", 500)

    delivery = await channel.send(MESSAGE)

    assert delivery.outcome == DeliveryOutcome.RETRY
    assert delivery.retry_after is None
    assert delivery.error == "TelegramServerError: Internal Server Error"


async def test_an_unreachable_api_is_a_retry(
    inbox: FakeInbox, clock: ManualClock, start: Start
) -> None:
    settings = make_settings(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    channel = await start(TelegramChannel(SLUG, settings, inbox, clock))

    delivery = await channel.send(MESSAGE)

    assert delivery.outcome == DeliveryOutcome.RETRY
    assert delivery.error is not None
    assert delivery.error.startswith("TelegramNetworkError")


async def test_a_wrong_token_is_a_failure_and_an_error_saying_what_to_do(
    inbox: FakeInbox,
    clock: ManualClock,
    bot_api: FakeBotApi,
    start: Start,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(bot_api.url, token="999:another-token")
    channel = await start(TelegramChannel(SLUG, settings, inbox, clock))

    delivery = await channel.send(MESSAGE)

    assert delivery == Delivery(
        outcome=DeliveryOutcome.FAILED, error="TelegramUnauthorizedError: Unauthorized"
    )
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage().startswith(
        f"telegram {SLUG}: the bot token was refused (401 Unauthorized)"
    )
    assert f"channels.{SLUG}.token" in error.getMessage()
    assert "@BotFather" in error.getMessage()
    assert (error.__dict__["channel"], error.__dict__["conversation_id"]) == (SLUG, "conv-9")
    assert "999:another-token" not in caplog.text


@pytest.mark.parametrize(
    ("text", "limit", "parts"),
    [
        ("short", 10, ["short"]),
        ("aaaa bbbb cccc", 10, ["aaaa bbbb", "cccc"]),
        ("aaaa\nbbbb cc", 10, ["aaaa\nbbbb", "cc"]),
        ("aaaaaaaaaaaaaaa", 10, ["aaaaaaaaaa", "aaaaa"]),
        ("aaaaaaaa 😀😀", 10, ["aaaaaaaa", "😀😀"]),
        ("😀" * 6, 10, ["😀" * 5, "😀"]),
    ],
)
def test_split_text(text: str, limit: int, parts: list[str]) -> None:
    assert split_text(text, limit) == parts
    assert all(utf16_length(p) <= limit for p in split_text(text, limit))


SHARE_PHONE = {
    "keyboard": [[{"text": "Share my phone number", "request_contact": True}]],
    "resize_keyboard": True,
    "one_time_keyboard": True,
}


async def test_a_phone_question_offers_to_share_the_number_until_the_next_message(
    inbox: FakeInbox, clock: ManualClock, bot_api: FakeBotApi, start: Start
) -> None:
    settings = make_settings(bot_api.url, per_chat_interval_seconds=0)
    channel = await start(TelegramChannel(SLUG, settings, inbox, clock))
    plain = MESSAGE.model_copy(update={"options": []})
    phone = plain.model_copy(update={"message_id": "m-2", "text": "Your phone?", "answer": "phone"})

    for message in (phone, phone, MESSAGE, plain, plain):
        assert (await channel.send(message)).outcome == DeliveryOutcome.SENT

    markups = [c.params.get("reply_markup") for c in bot_api.of("sendMessage")]
    assert markups == [
        SHARE_PHONE,
        SHARE_PHONE,  # asked again: offered again
        MESSAGE_KEYBOARD,  # a message can carry one keyboard: the inline one goes first
        {"remove_keyboard": True},  # the next message without one takes it away
        None,  # and once gone, nothing more
    ]


async def test_a_store_that_is_down_does_not_hold_back_the_phone_keyboard(
    inbox: FakeInbox, clock: ManualClock, bot_api: FakeBotApi, start: Start
) -> None:
    settings = make_settings(bot_api.url, per_chat_interval_seconds=0)
    channel = await start(TelegramChannel(SLUG, settings, inbox, clock))
    plain = MESSAGE.model_copy(update={"options": []})
    phone = plain.model_copy(update={"message_id": "m-2", "text": "Your phone?", "answer": "phone"})
    inbox.unavailable = True

    for message in (plain, phone, plain):
        assert (await channel.send(message)).outcome == DeliveryOutcome.SENT

    markups = [c.params.get("reply_markup") for c in bot_api.of("sendMessage")]
    # Unreadable: taken as not shown. Unstored: still remembered in this process.
    assert markups == [None, SHARE_PHONE, {"remove_keyboard": True}]
    assert inbox.cursors == {}


class BrokenCursors(FakeInbox):
    """A store whose first read of a cursor fails in a way it does not name."""

    async def load_cursor(self, name: str) -> str | None:
        if not self.cursors.get("broken"):
            self.cursors["broken"] = "once"
            raise RuntimeError("disk I/O error")
        return await super().load_cursor(name)


async def test_a_failed_keyboard_read_does_not_use_up_the_bots_limit(
    clock: ManualClock, bot_api: FakeBotApi, start: Start
) -> None:
    settings = make_settings(bot_api.url, per_chat_interval_seconds=0, per_bot_per_second=1)
    channel = await start(TelegramChannel(SLUG, settings, BrokenCursors(), clock))
    plain = MESSAGE.model_copy(update={"options": []})

    assert (await channel.send(plain)).outcome == DeliveryOutcome.RETRY
    clock.advance(1)

    assert (await channel.send(plain)).outcome == DeliveryOutcome.SENT
    assert len(bot_api.of("sendMessage")) == 1


async def test_the_share_button_has_the_configured_label(
    inbox: FakeInbox, clock: ManualClock, bot_api: FakeBotApi, start: Start
) -> None:
    settings = make_settings(bot_api.url, share_phone_label="Compartir mi número")
    channel = await start(TelegramChannel(SLUG, settings, inbox, clock))
    phone = MESSAGE.model_copy(update={"options": [], "answer": "phone"})

    await channel.send(phone)

    [call] = bot_api.of("sendMessage")
    assert call.params["reply_markup"]["keyboard"] == [
        [{"text": "Compartir mi número", "request_contact": True}]
    ]


async def test_an_html_page_instead_of_the_api_answer_is_a_retry(
    inbox: FakeInbox, clock: ManualClock, start: Start
) -> None:
    # What a proxy in front of the Bot API answers when the API is down.
    async def proxy(_: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    app = web.Application()
    app.add_routes([web.post("/{tail:.*}", proxy)])
    async with serving_app(app) as url:
        channel = await start(TelegramChannel(SLUG, make_settings(url), inbox, clock))
        delivery = await channel.send(MESSAGE)

    assert delivery.outcome == DeliveryOutcome.RETRY
    assert delivery.error == "ClientDecodeError: Failed to decode object"


async def test_a_chat_moved_to_a_supergroup_is_a_failure_with_the_reason(
    inbox: FakeInbox, clock: ManualClock, start: Start
) -> None:
    async def migrated(_: web.Request) -> web.Response:
        answer = {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1001234567890},
        }
        return web.json_response(answer, status=400)

    app = web.Application()
    app.add_routes([web.post("/{tail:.*}", migrated)])
    async with serving_app(app) as url:
        channel = await start(TelegramChannel(SLUG, make_settings(url), inbox, clock))
        delivery = await channel.send(MESSAGE)

    assert delivery.outcome == DeliveryOutcome.FAILED
    assert delivery.error is not None
    assert delivery.error.startswith("TelegramMigrateToChat: ")
