"""End to end over real HTTP: a burst of Telegram customers never takes the bot past
Telegram's 30 calls in any one second, however late each call reaches the Bot API.

The fake Bot API holds the first calls on their way, as a busy network or event loop does,
and stamps each call with the injected clock when it arrives."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fakes import message_update
from tests.support.harness import Running, running
from tests.support.telegram import QUESTION, write_telegram_config
from tests.support.waiting import until
from tests.test_telegram_journey import post_update

CHATS = [5000 + n for n in range(45)]
WELCOME = "Hi Cy! Welcome to Example Co."
PER_SECOND = 30  # the channel's default per_bot_per_second, Telegram's own limit


def most_in_one_second(times: list[datetime]) -> int:
    times = sorted(times)
    return max(
        sum(1 for t in times[i:] if t < start + timedelta(seconds=1))
        for i, start in enumerate(times)
    )


async def settled(fd: Running) -> None:
    """The outbox has tried everything due now and has nothing under way."""

    async def quiet() -> bool:
        due = await fd.frontdesk.store.next_outbound_due()
        nothing_due = due is None or due > fd.clock.now()
        return nothing_due and fd.frontdesk.runtime.outbox.delivering == 0

    await until(quiet)


async def test_45_chats_at_once_never_put_more_than_30_calls_in_one_second(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team)
    async with running(config) as fd:
        bot_api.clock = fd.clock
        bot_api.hold()
        updates = [
            message_update(
                n,
                chat={"id": chat, "type": "private"},
                sender={"id": chat, "is_bot": False, "first_name": "Cy"},
                text="hi",
            )
            for n, chat in enumerate(CHATS, start=1)
        ]
        answers = await asyncio.gather(*(post_update(fd, u) for u in updates))
        assert all(status == 200 for status, _ in answers)
        await fd.frontdesk.runtime.idle()

        # The first calls are on their way but have not reached Telegram yet.
        await until(lambda: bot_api.held == PER_SECOND)
        await fd.advance(0.5)
        bot_api.release()
        await bot_api.wait_for("sendMessage", PER_SECOND)

        for _ in range(40):  # ten seconds of the clock at most
            await settled(fd)
            if len(bot_api.of("sendMessage")) == 2 * len(CHATS):
                break
            await fd.advance(0.25)

        sent = bot_api.of("sendMessage")
        assert len(sent) == 2 * len(CHATS)
        by_chat: dict[str, list[str]] = {}
        for call in sent:
            by_chat.setdefault(call.params["chat_id"], []).append(call.params["text"])
        assert by_chat == {str(chat): [WELCOME, QUESTION] for chat in CHATS}
        stamps = [c.clock_at for c in bot_api.calls if c.clock_at is not None]
        assert len(stamps) == len(bot_api.calls)
        assert most_in_one_second(stamps) <= PER_SECOND
