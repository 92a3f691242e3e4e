"""Crash faults: a real `frontdesk serve` killed with SIGKILL again and again under load, and
what the customers saw, counted.

Customers write at once, each one message after another (a message is posted until it is
accepted, as a platform retries; one in ten is then posted a second time, as platforms
redeliver). The workflow asks, echoes each answer and asks again, so every customer has a
known list of distinct texts to receive in order. Between kills the process runs for a random
while; after the last kill it runs until its store holds no more work, and is then stopped
cleanly so that the store can be read.

Counted per run: lost (a text never received), duplicated (a text received again: under
another message id on the webhook channel, again at all on Telegram), repeated (a message id
received again: the webhook receiver drops those), out of order (a text received after a
later one of the same customer), stuck (events not processed and messages still pending in
the store at the end) and uncertain (messages set aside by `after_crash: skip`).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import time
from collections import Counter
from contextlib import closing, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import aiohttp

from adapters.telegram.inbound import SECRET_HEADER
from storage.sqlite import SqliteSettings, SqliteStore
from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fake_bot_api import serving as serving_bot_api
from tests.adapters.telegram.fakes import SECRET_TOKEN, message_update
from tests.support.harness import SECRET, post_event, write_config
from tests.support.process import free_port, listen_on, serving, until_healthy
from tests.support.receiver import Answer, Receiver
from tests.support.telegram import telegram_channel
from tests.support.waiting import until

Channel = Literal["webhook", "telegram"]
AfterCrash = Literal["resend", "skip"]
# Every run of the table: the webhook channel has idempotency keys, so resend is right there.
RUNS: tuple[tuple[Channel, AfterCrash], ...] = (
    ("webhook", "resend"),
    ("telegram", "resend"),
    ("telegram", "skip"),
)

ECHO = """
name: echo
trigger: conversation_opened
steps:
  - id: ask
    type: ask_question
    text: "next after {{ vars.said | default('start') }}?"
    answer: text
    save_to: vars.said
  - {id: echo, type: send_message, text: "got {{ vars.said }}"}
  - {id: again, type: jump, to: ask, max: 100}
"""
MAX_PER_CUSTOMER = 100  # the workflow's jump bound: it answers this many messages
# Retries stay short so that a run is about crashes, not about waiting out a backoff.
OUTBOX = "{base_delay_seconds: 0.1, max_delay_seconds: 1, max_attempts: 100}"
REPOST_SHARE = 0.1
SETTLE_LIMIT = 120.0  # bounds the wait after the last kill
RETRY_PAUSE = 0.05  # between a customer's posts while frontdesk is down


@dataclass(frozen=True)
class Plan:
    events: int
    kills: int
    seed: int = 7

    def kill_points(self, rng: random.Random) -> list[int]:
        """After how many accepted messages each kill comes: spread over the load, so that
        every kill lands while customers write and messages are in flight."""
        step = self.events / (self.kills + 1)
        return [int(step * (k + 1 + rng.uniform(-0.3, 0.3))) for k in range(self.kills)]

    @property
    def customers(self) -> int:
        return max(1, -(-self.events // 50))

    def script(self) -> dict[str, int]:
        """How many messages each customer sends."""
        per, extra = divmod(self.events, self.customers)
        counts = {f"{10_000 + n}": per + (n < extra) for n in range(self.customers)}
        assert max(counts.values()) <= MAX_PER_CUSTOMER
        return counts


@dataclass(frozen=True)
class Tally:
    channel: str
    after_crash: str
    events: int
    kills: int
    lost: int
    duplicated: int
    repeated: int
    out_of_order: int
    stuck: int
    uncertain: int
    seconds: float

    HEADER = (
        "channel   after_crash  events  kills  lost  duplicated  repeated  out_of_order"
        "  stuck  uncertain  seconds"
    )

    def row(self) -> str:
        return (
            f"{self.channel:<9} {self.after_crash:<11} {self.events:>7} {self.kills:>6}"
            f" {self.lost:>5} {self.duplicated:>11} {self.repeated:>9} {self.out_of_order:>13}"
            f" {self.stuck:>6} {self.uncertain:>10} {self.seconds:>8.1f}"
        )


def expected(count: int) -> list[str]:
    """What a customer who sent `count` messages receives: the first opens the conversation,
    each later one is echoed and followed by the next question."""
    texts = ["next after start?"]
    for n in range(2, count + 1):
        texts += [f"got m{n}", f"next after m{n}?"]
    return texts


def counted(script: dict[str, int], received: dict[str, list[tuple[str, str]]]) -> Counter[str]:
    """Lost, duplicated and out of order, from each customer's received (id, text) pairs in
    the order they arrived (a repeat of an id already counted left out)."""
    counts: Counter[str] = Counter()
    for customer, count in script.items():
        wanted = expected(count)
        position = {text: n for n, text in enumerate(wanted)}
        got = received.get(customer, [])
        texts = Counter(text for _, text in got)
        counts["lost"] += sum(1 for text in wanted if text not in texts)
        counts["duplicated"] += sum(n - 1 for n in texts.values())
        latest = -1
        for _, text in got:
            at = position.get(text, -1)
            if at < latest:
                counts["out_of_order"] += 1
            latest = max(latest, at)
    return counts


class Platform:
    """The channel's far side: where messages go, and how customers' messages come in."""

    slug: Channel

    def received(self) -> dict[str, list[tuple[str, str]]]:
        raise NotImplementedError

    def repeated(self) -> int:
        raise NotImplementedError

    async def post(self, session: aiohttp.ClientSession, url: str, customer: str, n: int) -> int:
        raise NotImplementedError


class WebhookSide(Platform):
    """A receiver that now and then answers 500, 429 with a Retry-After, or slowly."""

    slug: Channel = "webhook"

    def __init__(self, receiver: Receiver, rng: random.Random) -> None:
        self.receiver = receiver
        self._rng = rng
        receiver.answer = self._answer

    async def _answer(self, _: dict[str, Any]) -> Answer:
        # Each lane waits out its own retries in order, so the shares stay small enough for
        # a customer's hundred messages to go through in seconds.
        roll = self._rng.random()
        if roll < 0.03:
            return 500
        if roll < 0.05:
            return 429, {"Retry-After": "1"}
        if roll < 0.10:
            await asyncio.sleep(0.2)
        return 200

    def received(self) -> dict[str, list[tuple[str, str]]]:
        found: dict[str, list[tuple[str, str]]] = {}
        for m in self.receiver.messages:
            found.setdefault(m["contact_id"], []).append((m["message_id"], m["text"]))
        return found

    def repeated(self) -> int:
        return self.receiver.repeats

    async def post(self, session: aiohttp.ClientSession, url: str, customer: str, n: int) -> int:
        body = {
            "event_id": f"{customer}-{n}",
            "contact": {"id": customer},
            "message": {"text": f"m{n}"},
        }
        status, _ = await post_event(session, url, body)
        return status


class TelegramSide(Platform):
    """The fake Bot API: a message it was sent counts as seen, whatever became of the
    answer (Telegram shows a message it accepted even if the bot never heard back)."""

    slug: Channel = "telegram"

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    def received(self) -> dict[str, list[tuple[str, str]]]:
        found: dict[str, list[tuple[str, str]]] = {}
        for call in self.api.of("sendMessage"):
            found.setdefault(str(call.params["chat_id"]), []).append(("", call.params["text"]))
        return found

    def repeated(self) -> int:
        return 0  # Telegram has no message id of ours: a repeat is a duplicate

    async def post(self, session: aiohttp.ClientSession, url: str, customer: str, n: int) -> int:
        chat = {"id": int(customer), "type": "private", "first_name": "C"}
        sender = {"id": int(customer), "is_bot": False, "first_name": "C"}
        update = message_update(int(customer) * 1000 + n, chat=chat, sender=sender, text=f"m{n}")
        headers = {SECRET_HEADER: SECRET_TOKEN, "Content-Type": "application/json"}
        async with session.post(
            f"{url}/telegram/updates", data=json.dumps(update), headers=headers
        ) as response:
            return response.status


@dataclass
class Customer:
    name: str
    count: int
    rng: random.Random

    async def write(
        self, platform: Platform, session: aiohttp.ClientSession, url: str, accepted: Counter[str]
    ) -> None:
        """Send `count` messages in order, each until accepted; some a second time."""
        for n in range(1, self.count + 1):
            copies = 2 if self.rng.random() < REPOST_SHARE else 1
            for _ in range(copies):
                while True:
                    try:
                        if await platform.post(session, url, self.name, n) == 200:
                            break
                    except (aiohttp.ClientError, TimeoutError):
                        pass  # frontdesk is down, or was killed while answering
                    await asyncio.sleep(RETRY_PAUSE)
            accepted["messages"] += 1


async def run(
    folder: Path, plan: Plan, channel: Channel, after_crash: AfterCrash = "resend"
) -> Tally:
    rng = random.Random(plan.seed)
    if channel == "webhook":
        receiver = Receiver(SECRET)
        await receiver.start()
        try:
            side = WebhookSide(receiver, rng)
            config = write_config(folder, receiver.url, {"echo": ECHO}, outbox=OUTBOX)
            _set_after_crash(config, "    type: webhook\n", after_crash)
            return await _run(folder, config, plan, side, after_crash, rng)
        finally:
            await receiver.close()
    async with serving_bot_api() as api:
        entry = telegram_channel(api.url, "webhook") + "    per_bot_per_second: 100000\n"
        config = write_config(
            folder, "http://127.0.0.1:9/unused", {"echo": ECHO}, channels=entry, outbox=OUTBOX
        )
        _set_after_crash(config, "    type: telegram\n", after_crash)
        return await _run(folder, config, plan, TelegramSide(api), after_crash, rng)


def _set_after_crash(config: Path, channel_line: str, after_crash: AfterCrash) -> None:
    text = config.read_text()
    config.write_text(text.replace(channel_line, f"{channel_line}    after_crash: {after_crash}\n"))


async def _run(
    folder: Path,
    config: Path,
    plan: Plan,
    side: Platform,
    after_crash: AfterCrash,
    rng: random.Random,
) -> Tally:
    url = listen_on(config, free_port())
    log = folder / "frontdesk.log"
    script = plan.script()
    started = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=10)
    accepted: Counter[str] = Counter()
    customers = [Customer(n, c, random.Random(rng.random())) for n, c in script.items()]
    # One connection per customer, and another session to watch frontdesk's health with, so
    # that the watching never queues behind the customers for a connection.
    connector = aiohttp.TCPConnector(limit=len(customers) + 1)
    async with (
        aiohttp.ClientSession(timeout=timeout, connector=connector) as session,
        aiohttp.ClientSession(timeout=timeout) as watching,
    ):
        senders = asyncio.gather(*(c.write(side, session, url, accepted) for c in customers))
        try:
            for point in plan.kill_points(rng):
                async with serving(config, log) as process:
                    await until_healthy(watching, url)
                    await until(partial(_reached, accepted, point), SETTLE_LIMIT)
                    os.kill(process.pid, signal.SIGKILL)
                    await process.wait()
            async with serving(config, log):
                await until_healthy(watching, url)
                await _settled(config.parent / "frontdesk.db", senders)
        finally:
            senders.cancel()
            await asyncio.gather(senders, return_exceptions=True)
    counts = counted(script, side.received())
    stuck, uncertain = await _left_in_store(config.parent, side.slug, script)
    return Tally(
        channel=side.slug,
        after_crash=after_crash,
        events=plan.events,
        kills=plan.kills,
        lost=counts["lost"],
        duplicated=counts["duplicated"],
        repeated=side.repeated(),
        out_of_order=counts["out_of_order"],
        stuck=stuck,
        uncertain=uncertain,
        seconds=time.monotonic() - started,
    )


def _reached(accepted: Counter[str], point: int) -> bool:
    return accepted["messages"] >= point


async def _settled(database: Path, senders: asyncio.Future[Any]) -> None:
    """Return once every message was posted and the store holds no work (no event to
    process, no message to send), or after SETTLE_LIMIT: what is left then is stuck."""

    def idle() -> bool:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
            row = conn.execute(
                "SELECT (SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL)"
                " + (SELECT COUNT(*) FROM outbox WHERE status = 'pending')"
            ).fetchone()
        return bool(row[0] == 0)

    async def done() -> bool:
        return senders.done() and await asyncio.to_thread(idle)

    with suppress(AssertionError):
        await until(done, SETTLE_LIMIT)


async def _left_in_store(folder: Path, channel: Channel, script: dict[str, int]) -> tuple[int, int]:
    """Events not processed plus messages still pending; and messages set uncertain."""
    store = SqliteStore(SqliteSettings(path="frontdesk.db"), folder)
    await store.open()
    try:
        stuck = len(await store.pending_inbound(1_000_000))
        uncertain = 0
        for name in script:
            for conversation in await store.conversations_of(channel, name):
                statuses = Counter(r.status for r in await store.outbox(conversation.id))
                stuck += statuses["pending"]
                uncertain += statuses["uncertain"]
        return stuck, uncertain
    finally:
        await store.close()
