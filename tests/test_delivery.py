"""The outbox over real HTTP: retries, Retry-After, give-up, order, exactly once as seen."""

from __future__ import annotations

from pathlib import Path

from core.ports import OutboxRecord
from tests.support.harness import running, write_config
from tests.support.receiver import Receiver

GREETER = """
name: greeter
trigger: conversation_opened
steps:
  - {id: one, type: send_message, text: first}
  - {id: two, type: send_message, text: second}
"""


async def test_fails_twice_then_delivered_once_in_order(tmp_path: Path, receiver: Receiver) -> None:
    receiver.script = [500, 503]
    config = write_config(tmp_path, receiver.url, {"greeter": GREETER})
    async with running(config) as fd:
        await fd.say("c-1", "hi")
        await fd.outbox_when("c-1", lambda rows: rows[0].attempts == 1)
        await fd.advance(60)
        await fd.outbox_when("c-1", lambda rows: rows[0].attempts == 2)
        assert receiver.texts("c-1") == []  # "second" waits behind "first"
        await fd.advance(60)
        assert await receiver.wait_for_texts("c-1", 2) == ["first", "second"]
        rows = await fd.outbox_when("c-1", lambda rows: all(r.status == "sent" for r in rows))
        assert [r.attempts for r in rows] == [3, 1]
        assert rows[0].last_error is not None
        assert len(receiver.attempts) == 4
        assert receiver.repeats == 0
        ids = [m["message_id"] for m in receiver.attempts[:3]]
        assert len(set(ids)) == 1  # every attempt carried the same message id


async def test_429_waits_exactly_retry_after(tmp_path: Path, receiver: Receiver) -> None:
    receiver.script = [(429, {"Retry-After": "30"})]
    config = write_config(tmp_path, receiver.url, {"greeter": GREETER})
    async with running(config) as fd:
        started = fd.clock.now()
        await fd.say("c-2", "hi")
        await fd.outbox_when("c-2", lambda rows: rows[0].attempts == 1)
        due = await fd.frontdesk.store.next_outbound_due()
        assert due is not None
        assert (due - started).total_seconds() == 30
        await fd.advance(29)
        rows = await fd.outbox_when("c-2", lambda rows: True)
        assert rows[0].status == "pending"
        await fd.advance(1)
        assert await receiver.wait_for_texts("c-2", 2) == ["first", "second"]


async def test_other_4xx_fails_without_retry_and_unblocks(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.script = [404]
    config = write_config(tmp_path, receiver.url, {"greeter": GREETER})
    async with running(config) as fd:
        await fd.say("c-3", "hi")
        assert await receiver.wait_for_texts("c-3", 1) == ["second"]
        rows = await fd.outbox_when("c-3", lambda rows: rows[1].status == "sent")
        assert (rows[0].status, rows[0].attempts) == ("failed", 1)
        assert rows[0].last_error is not None
        assert "404" in rows[0].last_error


async def test_gives_up_after_max_attempts(tmp_path: Path, receiver: Receiver) -> None:
    receiver.script = [500] * 5
    config = write_config(tmp_path, receiver.url, {"greeter": GREETER})
    async with running(config) as fd:
        await fd.say("c-4", "hi")
        for attempt in range(1, 5):

            def tried(rows: list[OutboxRecord], attempt: int = attempt) -> bool:
                return rows[0].attempts == attempt

            await fd.outbox_when("c-4", tried)
            await fd.advance(120)
        rows = await fd.outbox_when("c-4", lambda rows: rows[0].status == "failed")
        assert rows[0].attempts == 5
        assert await receiver.wait_for_texts("c-4", 1) == ["second"]


async def test_unreachable_receiver_is_retried(tmp_path: Path, receiver: Receiver) -> None:
    url = receiver.url
    await receiver.close()  # nothing listens there now
    config = write_config(tmp_path, url, {"greeter": GREETER})
    async with running(config) as fd:
        await fd.say("c-5", "hi")
        rows = await fd.outbox_when("c-5", lambda rows: rows[0].attempts == 1)
        assert rows[0].status == "pending"
        assert rows[0].last_error
