"""The load generator: closed loop (a fixed number of connections, each posting as soon as
its last post was answered) or open loop (posts at a fixed rate, latency counted from when
each post was due, so a slow server cannot hide its queue). Telegram updates or signed
webhook events; each message goes to a chat of `chat(n)`."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from adapters.telegram.inbound import SECRET_HEADER
from adapters.webhook.signing import SIGNATURE_HEADER, sign
from tests.adapters.telegram.fakes import SECRET_TOKEN
from tests.bench.sink import Sink
from tests.support.harness import SECRET

# Chat ids far from any other test's; the webhook's contact ids are the same numbers.
FIRST_CHAT = 5_000_000


@dataclass
class Shot:
    acks: list[float] = field(default_factory=list)
    refused: int = 0
    started: float = 0.0
    last_ack: float = 0.0


def telegram_body(n: int, chat: int) -> tuple[bytes, dict[str, str]]:
    user = {"id": chat, "is_bot": False, "first_name": "Cy", "language_code": "en"}
    update = {
        "update_id": n,
        "message": {
            "message_id": n,
            "date": 1_714_996_800,
            "chat": {"id": chat, "type": "private", "first_name": "Cy"},
            "from": user,
            "text": "sales",
        },
    }
    headers = {SECRET_HEADER: SECRET_TOKEN, "Content-Type": "application/json"}
    return json.dumps(update).encode(), headers


def webhook_body(n: int, chat: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "event_id": f"e{n}",
            "contact": {"id": str(chat), "name": "Cy"},
            "message": {"text": "sales"},
        }
    ).encode()
    return body, {SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"}


Maker = Callable[[int, int], tuple[bytes, dict[str, str]]]


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    sink: Sink,
    make: Maker,
    n: int,
    chat: int,
    due: float,
    shot: Shot,
) -> None:
    body, headers = make(n, chat)
    sink.sent(str(chat), due)
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        now = time.perf_counter()
        if response.status != 200:
            shot.refused += 1
    shot.acks.append(now - due)
    shot.last_ack = now


async def closed(
    url: str,
    sink: Sink,
    make: Maker,
    count: int,
    connections: int,
    chat: Callable[[int], int],
    first: int,
) -> Shot:
    shot = Shot()
    numbers = itertools.count(first)
    limit = first + count
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while (n := next(numbers)) < limit:
                await _post(session, url, sink, make, n, chat(n), time.perf_counter(), shot)

        shot.started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
    return shot


async def opened(
    url: str,
    sink: Sink,
    make: Maker,
    rate: float,
    seconds: float,
    chat: Callable[[int], int],
    first: int,
) -> Shot:
    shot = Shot()
    connector = aiohttp.TCPConnector(limit=1024)
    tasks: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(connector=connector) as session:
        shot.started = time.perf_counter()
        for i in range(int(rate * seconds)):
            due = shot.started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            n = first + i
            task = asyncio.create_task(_post(session, url, sink, make, n, chat(n), due, shot))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    return shot
