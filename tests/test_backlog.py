"""Past `server.max_backlog` events accepted and not processed yet, every channel turns the
platform away so that it sends again later (503 with Retry-After; a poller stops asking),
stores nothing of what it turned away, and takes events again once the backlog drains.

Processing is held with a gate in front of the engine's turn, so the backlog stays full for
as long as a test needs it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest

from adapters.telegram.polling import cursor_name
from adapters.webhook.signing import SIGNATURE_HEADER, sign
from core.app import build
from core.clock import ManualClock
from core.config import load_config
from core.errors import StoreUnavailable
from core.models import Inbound, StoredInbound
from core.turn import TurnReport
from tests.adapters.slack.fake_web_api import serving as serving_slack
from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fakes import SECRET_TOKEN, message_update
from tests.support.backlog import Held, RoomWatch
from tests.support.backlog import bounded as with_backlog
from tests.support.harness import (
    SECRET,
    START,
    Running,
    event,
    records_of,
    running,
    write_config,
)
from tests.support.receiver import Receiver
from tests.support.serve import serving_app
from tests.support.slack import SlackClient, slack_channel
from tests.support.telegram import write_telegram_config
from tests.support.waiting import until

BOUND = 2
CURSOR = cursor_name("telegram")
GREET = """
name: greet
trigger: conversation_opened
steps:
  - {id: hello, type: send_message, text: "Hello"}
"""
ECHO = """
name: echo
trigger: conversation_opened
steps:
  - {id: ask, type: ask_question, text: "Say?", answer: text, save_to: vars.said}
  - {id: echo, type: send_message, text: "got {{ vars.said }}"}
  - {id: again, type: jump, to: ask, max: 10}
"""


def bounded(config: Path) -> Path:
    return with_backlog(config, BOUND)


async def pending(run: Running) -> int:
    return len(await run.frontdesk.store.pending_inbound(100))


@asynccontextmanager
async def holding_four(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Running, Held]]:
    """The echo workflow, a backlog that holds four events in memory (the rest wait in the
    store), and a gate before every turn."""
    config = write_config(folder, "http://127.0.0.1:9/unused", {"echo": ECHO})
    async with running(config) as run:
        monkeypatch.setattr(run.frontdesk.runtime.backlog, "hold", 4)
        yield run, Held(run.frontdesk.runtime, monkeypatch)


async def said_by(run: Running, contact: str) -> list[str | None]:
    """What the contact's one conversation recorded as coming in, in order."""
    [conversation] = await records_of(run.frontdesk).conversations_of("webhook", contact)
    transcript = await records_of(run.frontdesk).transcript(conversation.id)
    return [entry.text for entry in transcript if entry.direction == "in"]


async def test_the_webhook_channel_answers_503_past_the_bound_and_takes_events_again_once_drained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="frontdesk")
    config = bounded(write_config(tmp_path, "http://127.0.0.1:9/unused", {"greet": GREET}))
    async with running(config) as run:
        held = Held(run.frontdesk.runtime, monkeypatch)
        for contact in ("c-1", "c-2"):
            assert (await run.post(event(contact, "hi")))[0] == 200
        assert await pending(run) == BOUND

        turned_away = event("c-3", "hi")
        body = json.dumps(turned_away).encode()
        headers = {SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"}
        async with run.session.post(f"{run.url}/webhook/events", data=body, headers=headers) as r:
            assert r.status == 503
            assert r.headers["Retry-After"] == "5"
        assert await pending(run) == BOUND  # not stored
        assert await records_of(run.frontdesk).conversations_of("webhook", "c-3") == []
        # Counted for the operator, and the log says the backlog filled.
        async with run.session.get(f"{run.url}/metrics") as response:
            scraped = await response.text()
        refused = 'frontdesk_inbound_events_total{channel="webhook",outcome="refused_503"} 1.0'
        assert refused in scraped
        assert any("backlog full" in r.getMessage() for r in caplog.records)

        held.release()
        await run.frontdesk.runtime.idle()
        assert await pending(run) == 0
        assert any("backlog drained" in r.getMessage() for r in caplog.records)
        assert await run.post(turned_away) == (200, {"status": "accepted"})
        await run.frontdesk.runtime.idle()
        assert len(await records_of(run.frontdesk).conversations_of("webhook", "c-3")) == 1


async def post_update(run: Running, update: dict[str, object]) -> tuple[int, str | None]:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET_TOKEN}
    async with run.session.post(
        f"{run.url}/telegram/updates", json=update, headers=headers
    ) as response:
        return response.status, response.headers.get("Retry-After")


def chat(chat_id: int) -> dict[str, object]:
    return {"id": chat_id, "type": "private", "first_name": "Ana"}


async def test_a_telegram_webhook_gets_503_past_the_bound_and_telegram_delivers_again_later(
    tmp_path: Path, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = bounded(write_telegram_config(tmp_path, bot_api.url, GREET))
    async with running(config) as run:
        held = Held(run.frontdesk.runtime, monkeypatch)
        for update_id in (1, 2):
            update = message_update(update_id, chat=chat(41 + update_id), text="hi")
            assert await post_update(run, update) == (200, None)
        third = message_update(3, chat=chat(44), text="hi")
        assert await post_update(run, third) == (503, "5")
        assert await pending(run) == BOUND
        assert await records_of(run.frontdesk).conversations_of("telegram", "44") == []

        held.release()
        await run.frontdesk.runtime.idle()
        assert await post_update(run, third) == (200, None)
        await run.frontdesk.runtime.idle()
        assert len(await records_of(run.frontdesk).conversations_of("telegram", "44")) == 1
        await bot_api.wait_for("sendMessage", 3)


async def test_the_telegram_poller_leaves_updates_at_telegram_until_the_backlog_drains(
    tmp_path: Path, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = bounded(write_telegram_config(tmp_path, bot_api.url, GREET, mode="polling"))
    async with running(config) as run:
        held = Held(run.frontdesk.runtime, monkeypatch)
        room = RoomWatch(run.frontdesk.runtime, monkeypatch)
        bot_api.queue_update(*(message_update(n, chat=chat(41 + n), text="hi") for n in (1, 2, 3)))

        async def full() -> bool:
            handed_over = await run.frontdesk.store.load_cursor(CURSOR)
            return handed_over == "2" and await pending(run) == BOUND

        await until(full)
        # Turned away on the third update, the poller waits for room before its next
        # getUpdates; parked there, it has asked for nothing since.
        await until(lambda: room.parked == 1)
        asked = len(bot_api.of("getUpdates"))
        assert await pending(run) == BOUND
        assert await records_of(run.frontdesk).conversations_of("telegram", "44") == []

        held.release()

        async def all_processed() -> bool:
            done = await records_of(run.frontdesk).conversations_of("telegram", "44")
            return len(done) == 1 and await pending(run) == 0

        await until(all_processed)
        await bot_api.wait_for("sendMessage", 3)
        # Asked for again from the update after the last one handed over: nothing lost.
        offsets = [call.params.get("offset") for call in bot_api.of("getUpdates")]
        assert offsets[asked] in (3, "3")


async def test_the_telegram_poller_asks_again_only_once_the_backlog_is_a_tenth_under_the_bound(
    tmp_path: Path, bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    bound = 20  # a tenth of it: 2
    config = with_backlog(
        write_telegram_config(tmp_path, bot_api.url, GREET, mode="polling"), bound
    )
    async with running(config) as run:
        runtime = run.frontdesk.runtime
        held = Held(runtime, monkeypatch)
        room = RoomWatch(runtime, monkeypatch)
        chats = range(1, bound + 2)
        bot_api.queue_update(*(message_update(n, chat=chat(100 + n), text="hi") for n in chats))
        await until(lambda: room.parked == 1)
        assert await pending(run) == bound
        parked_after = len(room.let_on_at)
        asked = len(bot_api.of("getUpdates"))

        held.let(1)
        await until(lambda: len(runtime.backlog) == bound - 1)
        assert room.parked == 1  # a turn done, and the poller still waits
        held.let(1)
        # Let on with the backlog at 18 (then the update it turned away comes in).
        await until(lambda: len(room.let_on_at) > parked_after)
        assert room.let_on_at[parked_after] == bound - 2
        calls = await bot_api.wait_for("getUpdates", asked + 1)
        assert calls[asked].params.get("offset") in (bound + 1, str(bound + 1))

        held.release()
        await until(lambda: records_of(run.frontdesk).conversations_of("telegram", "121"))
        await runtime.idle()
        assert await pending(run) == 0


async def test_slack_gets_503_past_the_bound_and_nothing_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving_slack() as api:
        api.add_user("UCUST1", "Ana López")
        api.add_user("UCUST2", "Bea Ruiz")
        config = write_config(
            tmp_path,
            "http://127.0.0.1:9/unused",
            {"greet": GREET},
            channels=slack_channel(api.url),
        )
        async with running(bounded(config)) as run:
            slack = SlackClient(run.session, f"{run.url}/slack/events")
            held = Held(run.frontdesk.runtime, monkeypatch)
            assert (await slack.message("UCUST1", "DCUST1", "hi"))[0] == 200
            assert (await slack.message("UCUST1", "DCUST1", "there"))[0] == 200
            assert await pending(run) == BOUND
            status, _ = await slack.message("UCUST2", "DCUST2", "hi", event_id="EvLATER")
            assert status == 503
            assert await pending(run) == BOUND
            assert await records_of(run.frontdesk).conversations_of("slack", "UCUST2") == []

            held.release()
            await run.frontdesk.runtime.idle()
            status, _ = await slack.message("UCUST2", "DCUST2", "hi", event_id="EvLATER", retry=1)
            assert status == 200
            await run.frontdesk.runtime.idle()
            assert len(await records_of(run.frontdesk).conversations_of("slack", "UCUST2")) == 1


@asynccontextmanager
async def held_frontdesk(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Running, Held]]:
    """A frontdesk whose turns are held from the moment it starts (a turn still held when
    it stops is cut short: its event stays in the store)."""
    clock = ManualClock(START)
    frontdesk = build(load_config(config), clock)
    held = Held(frontdesk.runtime, monkeypatch)
    async with serving_app(frontdesk.app) as url, aiohttp.ClientSession() as session:
        yield Running(frontdesk, clock, url, session), held


async def test_a_restart_counts_the_events_the_last_run_left_in_the_backlog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = bounded(write_config(tmp_path, "http://127.0.0.1:9/unused", {"greet": GREET}))
    async with held_frontdesk(config, monkeypatch) as (run, _):
        for contact in ("c-1", "c-2"):
            assert (await run.post(event(contact, "hi")))[0] == 200
    # Stopped with both events unprocessed: the next run starts with a full backlog.
    async with held_frontdesk(config, monkeypatch) as (run, held):
        assert await pending(run) == BOUND
        status, _ = await run.post(event("c-3", "hi"))
        assert status == 503
        held.release()
        await run.frontdesk.runtime.idle()
        assert await pending(run) == 0
        assert (await run.post(event("c-3", "hi")))[0] == 200


async def test_turns_wait_while_an_event_is_being_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Acknowledging comes first: while one platform request waits for its event to be
    # stored, no turn starts, so a burst is answered at the rate the store takes events.
    config = write_config(tmp_path, "http://127.0.0.1:9/unused", {"greet": GREET})
    async with running(config) as run:
        runtime, store = run.frontdesk.runtime, run.frontdesk.store
        storing, stored = asyncio.Event(), asyncio.Event()
        record = store.record_inbound

        async def slow(event: Inbound, at: datetime) -> int | None:
            if event.contact.external_id == "slow":
                storing.set()
                await stored.wait()
            return await record(event, at)

        monkeypatch.setattr(store, "record_inbound", slow)
        started: list[str] = []
        process = runtime.engine.process_inbound

        async def watched(item: StoredInbound) -> TurnReport | None:
            started.append(item.event.contact.external_id)
            return await process(item)

        monkeypatch.setattr(runtime.engine, "process_inbound", watched)

        waiting = asyncio.create_task(run.post(event("slow", "hi")))
        await storing.wait()
        assert await run.post(event("quick", "hi")) == (200, {"status": "accepted"})
        # The quick event is stored; its turn waits for the slow one to be stored too.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(until(lambda: started), 0.3)
        stored.set()
        assert await waiting == (200, {"status": "accepted"})
        await runtime.idle()
        assert started == ["quick", "slow"]
        for contact in ("quick", "slow"):
            [conversation] = await records_of(run.frontdesk).conversations_of("webhook", contact)
            assert len(await records_of(run.frontdesk).outbox(conversation.id)) == 1  # Hello


async def test_past_what_it_holds_in_memory_the_backlog_waits_in_the_store_and_runs_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/unused", {"greet": GREET})
    async with running(config) as run:
        runtime = run.frontdesk.runtime
        monkeypatch.setattr(runtime.backlog, "hold", 2)
        waiting: list[str] = []
        gate = asyncio.Event()
        process = runtime.engine.process_inbound

        async def held(item: StoredInbound) -> TurnReport | None:
            waiting.append(item.event.text or "")
            await gate.wait()
            return await process(item)

        monkeypatch.setattr(runtime.engine, "process_inbound", held)
        said = [("c-1", "one"), ("c-2", "two"), ("c-1", "three"), ("c-3", "four"), ("c-1", "five")]
        for contact, text in said:
            assert (await run.post(event(contact, text)))[0] == 200
        await until(lambda: len(waiting) == 2)
        # Five stored and counted; two handed over in memory, three wait in the store alone.
        assert (len(runtime.backlog), await pending(run)) == (5, 5)
        assert sorted(waiting) == ["one", "two"]
        gate.set()
        await runtime.idle()
        assert await pending(run) == 0
        assert len(runtime.backlog) == 0
        assert sorted(waiting) == sorted(text for _, text in said)
        assert await said_by(run, "c-1") == ["one", "three", "five"]


async def test_a_failed_read_back_loses_nothing_of_the_backlog_left_in_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/unused", {"greet": GREET})
    async with running(config) as run:
        runtime, store = run.frontdesk.runtime, run.frontdesk.store
        monkeypatch.setattr(runtime.backlog, "hold", 2)
        held = Held(runtime, monkeypatch)
        for contact in ("c-1", "c-2", "c-3", "c-4"):
            assert (await run.post(event(contact, "hi")))[0] == 200
        read_back = store.pending_inbound
        failures = [StoreUnavailable("the database is locked")]

        async def once_unavailable(limit: int, after_id: int = 0) -> list[StoredInbound]:
            if failures:
                raise failures.pop()
            return await read_back(limit, after_id)

        monkeypatch.setattr(store, "pending_inbound", once_unavailable)
        held.release()
        await runtime.idle()
        assert failures == []  # the read back failed once
        assert any("could not read back" in r.getMessage() for r in caplog.records)
        assert await pending(run) == 0
        for contact in ("c-1", "c-2", "c-3", "c-4"):
            assert len(await records_of(run.frontdesk).conversations_of("webhook", contact)) == 1


async def test_an_event_read_back_just_before_its_turn_committed_is_not_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"echo": ECHO})
    async with running(config) as run:
        runtime, store = run.frontdesk.runtime, run.frontdesk.store
        await run.say("c-1", "hi")
        assert await receiver.wait_for_texts("c-1", 1) == ["Say?"]
        held = Held(runtime, monkeypatch)
        assert (await run.post(event("c-1", "m2")))[0] == 200  # its turn held at the gate

        # The sweep reads the store's pending events: "m2" is among them, and the read's
        # answer comes back only after m2's turn has committed.
        read, answered = store.pending_inbound, asyncio.Event()
        found: list[StoredInbound] = []

        async def late(limit: int, after_id: int = 0) -> list[StoredInbound]:
            found.extend(await read(limit, after_id))
            await answered.wait()
            return found

        monkeypatch.setattr(store, "pending_inbound", late)
        sweep = asyncio.ensure_future(runtime.recover())
        await until(lambda: bool(found))
        assert [item.event.text for item in found] == ["m2"]
        held.release()
        await runtime.idle()
        answered.set()
        assert await sweep == 1
        await runtime.idle()

        [conversation] = await records_of(run.frontdesk).conversations_of("webhook", "c-1")
        assert len(await records_of(run.frontdesk).outbox(conversation.id)) == 3
        assert await receiver.wait_for_texts("c-1", 3) == ["Say?", "got m2", "Say?"]
        assert await read(10) == []


async def test_a_turn_for_an_event_processed_already_saves_nothing_and_is_not_set_aside(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="frontdesk")
    config = write_config(tmp_path, receiver.url, {"echo": ECHO})
    async with running(config) as run:
        runtime = run.frontdesk.runtime
        await run.say("c-1", "hi")
        await run.say("c-1", "m2")
        [conversation] = await records_of(run.frontdesk).conversations_of("webhook", "c-1")
        stored = await records_of(run.frontdesk).load_inbound(2)  # the second event stored
        assert stored is not None
        assert stored.event.text == "m2"

        # Handed over twice (the in-memory guard passed by): the second turn's commit finds
        # the event processed, and the turn stops there.
        assert await runtime.engine.process_inbound(stored) is None
        assert len(await records_of(run.frontdesk).outbox(conversation.id)) == 3
        assert await records_of(run.frontdesk).inbound_error(stored.id) is None
        assert any("processed already" in r.getMessage() for r in caplog.records)
        assert await receiver.wait_for_texts("c-1", 3) == ["Say?", "got m2", "Say?"]


async def test_an_event_that_arrives_while_older_ones_wait_in_the_store_runs_after_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with holding_four(tmp_path, monkeypatch) as (run, held):
        runtime = run.frontdesk.runtime
        for contact in ("c-1", "c-2", "c-3", "c-4"):  # four held in memory
            assert (await run.post(event(contact, "one")))[0] == 200
        assert (await run.post(event("c-1", "two")))[0] == 200  # waits in the store
        held.let(1)
        await until(lambda: len(runtime.backlog) == 4)  # one of the four has run
        # Room in memory again, with "two" still in the store: "three" must not pass it.
        assert (await run.post(event("c-1", "three")))[0] == 200
        held.release()
        await runtime.idle()

        assert await said_by(run, "c-1") == ["one", "two", "three"]


async def test_each_conversation_runs_in_the_order_written_while_the_backlog_overflows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with holding_four(tmp_path, monkeypatch) as (run, held):
        runtime = run.frontdesk.runtime
        contacts = [f"c-{n}" for n in range(5)]
        for n in range(1, 9):  # every contact writes, and three turns run between rounds
            for contact in contacts:
                assert (await run.post(event(contact, f"m{n}")))[0] == 200
            held.let(3)
            waiting = 2 * n  # five written, three run, each round
            await until(lambda: len(runtime.backlog) == waiting)  # noqa: B023 (awaited here)
        held.release()
        await runtime.idle()

        for contact in contacts:
            assert await said_by(run, contact) == [f"m{n}" for n in range(1, 9)]
