"""Hostile input on all three channels at once, while bystanders finish their conversations.

A seeded generator mutates valid webhook events, Telegram updates and Slack requests (types
swapped, fields dropped or added, text that is not valid Unicode, nesting far too deep,
bytes that are not JSON) and signs most of them correctly, so that they get past the
signature check to the parsers; some are unsigned or badly signed. Every answer must be a
4xx, or a 200 for what is valid or ignored; never a 5xx, and never a traceback in the log.

Run on its own, it prints the answers by channel and status:

    python -m tests.faults.fuzz --inputs 10000 --seed 7
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import random
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from adapters.telegram.inbound import SECRET_HEADER
from adapters.webhook.signing import SIGNATURE_HEADER, sign
from core.models import ConversationStatus, Direction
from tests.adapters.telegram.fakes import SECRET_TOKEN
from tests.support.channels import Everywhere, everywhere
from tests.support.harness import SECRET, records_of
from tests.support.receiver import Receiver
from tests.support.slack import TEAM, signed_headers
from tests.support.waiting import until

LONE = "\ud83d"
CONCURRENCY = 24
BYSTANDERS = 3  # per channel
QUESTION = "What is your name?"

Body = bytes
Request = tuple[str, str, Body, dict[str, str]]  # channel, path, body, headers


def deep(levels: int) -> Any:
    nested: Any = "bottom"
    for _ in range(levels):
        nested = {"a": nested}
    return nested


HOSTILE_VALUES: list[Callable[[random.Random], Any]] = [
    lambda r: None,
    lambda r: True,
    lambda r: 0,
    lambda r: -1,
    lambda r: 2**64,
    lambda r: 1.5e308,
    lambda r: "",
    lambda r: " ",
    lambda r: LONE,
    lambda r: f"ok{LONE}ok",
    lambda r: "\x00",
    lambda r: "\u202e\u200b💥",
    lambda r: "x" * r.randint(257, 3000),
    lambda r: [],
    lambda r: {},
    lambda r: [LONE, None, 1],
    lambda r: {LONE: 1},
    lambda r: deep(r.choice([10, 70, 300])),
    lambda r: "U" + str(r.randint(0, 9)),
]


def mutate(rng: random.Random, value: Any, rounds: int) -> Any:
    """`value` with a few random hostile changes somewhere inside it."""
    value = copy.deepcopy(value)
    for _ in range(rounds):
        value = _mutate_once(rng, value)
    return value


def _mutate_once(rng: random.Random, value: Any) -> Any:
    if isinstance(value, dict) and value and rng.random() < 0.75:
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.15:
            del value[key]
        elif roll < 0.25:
            value[rng.choice(["extra", LONE, "type", "event", "actions", "payload"])] = rng.choice(
                HOSTILE_VALUES
            )(rng)
        else:
            value[key] = _mutate_once(rng, value[key])
        return value
    if isinstance(value, list) and value and rng.random() < 0.75:
        index = rng.randrange(len(value))
        value[index] = _mutate_once(rng, value[index])
        return value
    return rng.choice(HOSTILE_VALUES)(rng)


GARBAGE: list[bytes] = [
    b"",
    b"[]",
    b"null",
    b"1e999999",
    b"{",
    b'{"a": 1,}',
    b"\xff\xfe{}",
    b"\xed\xa0\xbd",  # a lone surrogate as UTF-8 bytes
    b'{"a": "\\ud83d"}',
    b"[" * 20_000 + b"]" * 20_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b"payload=",
    b"payload=%5B%5D",
    b"payload=%7B",
    b"command=%2Ffrontdesk",
    b"\x00" * 64,
]


@dataclass
class Generator:
    """Hostile requests for each channel, from one seed."""

    rng: random.Random
    update_ids: int = 0

    # the webhook ---------------------------------------------------------------------

    def webhook_event(self, contact: str, text: str) -> dict[str, Any]:
        return {
            "event_id": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            "contact": {"id": contact, "name": "Fuzz", "language": "en", "email": "f@x.org"},
            "message": {"text": text},
        }

    def webhook(self) -> Request:
        rng = self.rng
        roll = rng.random()
        if roll < 0.08:
            body = json.dumps(self.webhook_event(f"f-{rng.randint(0, 50)}", "hi")).encode()
        elif roll < 0.2:
            body = rng.choice(GARBAGE)
        else:
            event = mutate(rng, self.webhook_event("f-1", "hi"), rng.randint(1, 3))
            body = json.dumps(event).encode()
        return "webhook", "/webhook/events", body, self._webhook_signature(body)

    def _webhook_signature(self, body: bytes) -> dict[str, str]:
        roll = self.rng.random()
        if roll < 0.05:
            return {}
        if roll < 0.1:
            return {SIGNATURE_HEADER: self.rng.choice(["sha256=00", "", "sha256=é", "md5=1"])}
        return {SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"}

    # telegram ------------------------------------------------------------------------

    def telegram_update(self, chat: int, text: str) -> dict[str, Any]:
        self.update_ids += 1
        user = {"id": chat, "is_bot": False, "first_name": "Fuzz", "language_code": "en"}
        message = {
            "message_id": self.update_ids,
            "date": 1_714_996_800,
            "chat": {"id": chat, "type": "private", "first_name": "Fuzz"},
            "from": user,
            "text": text,
        }
        if self.rng.random() < 0.3:
            return {
                "update_id": self.update_ids,
                "callback_query": {
                    "id": f"cb-{self.update_ids}",
                    "from": user,
                    "chat_instance": "-1",
                    "data": self.rng.choice(["fd:x", "fd:", "other", "fd:" + LONE]),
                    "message": {**message, "text": "?"},
                },
            }
        return {"update_id": self.update_ids, "message": message}

    def telegram(self) -> Request:
        rng = self.rng
        roll = rng.random()
        if roll < 0.08:
            update = self.telegram_update(rng.randint(1000, 1050), "hi")
            body = json.dumps(update).encode()
        elif roll < 0.2:
            body = rng.choice(GARBAGE)
        else:
            update = mutate(rng, self.telegram_update(1000, "hi"), rng.randint(1, 3))
            body = json.dumps(update).encode()
        headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET_TOKEN}
        if rng.random() < 0.08:
            headers[SECRET_HEADER] = rng.choice(["", "wrong", "é"])
        return "telegram", "/telegram/updates", body, headers

    # slack ---------------------------------------------------------------------------

    def slack_event(self, user: str, text: str) -> dict[str, Any]:
        return {
            "token": "unused",
            "team_id": TEAM,
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": f"Ev{self.rng.getrandbits(48):012X}",
            "event_time": int(time.time()),
            "event": {
                "type": "message",
                "user": user,
                "channel": f"D{user}",
                "channel_type": "im",
                "text": text,
                "ts": f"{time.time():.6f}",
            },
        }

    def slack_press(self) -> dict[str, Any]:
        return {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": "UFUZZ", "team_id": TEAM},
            "api_app_id": "A0001",
            "container": {"type": "message", "channel_id": "DUFUZZ", "message_ts": "1.1"},
            "channel": {"id": "DUFUZZ"},
            "message": {"ts": "1.1", "text": "?"},
            "trigger_id": "1.2.3",
            "actions": [
                {
                    "type": "button",
                    "action_id": self.rng.choice(["fd_accept", "fd_option_1", "fd_online"]),
                    "block_id": "b",
                    "value": '{"c": "conv-1", "h": "h-1"}',
                    "text": {"type": "plain_text", "text": "Go"},
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    def slack_command(self) -> dict[str, Any]:
        return {
            "command": "/frontdesk",
            "text": self.rng.choice(["online", "status", "", "dance"]),
            "user_id": "UFUZZ",
            "team_id": TEAM,
            "channel_id": "D0999",
            "response_url": "http://127.0.0.1:9/unused",
            "trigger_id": "1.2.3",
        }

    def slack(self) -> Request:
        rng = self.rng
        roll = rng.random()
        content_type = "application/json"
        if roll < 0.06:
            text = json.dumps(self.slack_event(f"UF{rng.randint(0, 30)}", "hi"))
        elif roll < 0.18:
            raw = rng.choice(GARBAGE)
            text = raw.decode("utf-8", errors="surrogateescape")
            content_type = rng.choice(["application/json", "application/x-www-form-urlencoded"])
        elif roll < 0.5:
            text = json.dumps(mutate(rng, self.slack_event("UF1", "hi"), rng.randint(1, 3)))
        elif roll < 0.8:
            payload = mutate(rng, self.slack_press(), rng.randint(1, 3))
            text = urlencode({"payload": json.dumps(payload)})
            content_type = "application/x-www-form-urlencoded"
        else:
            form = mutate(rng, self.slack_command(), rng.randint(1, 2))
            form = form if isinstance(form, dict) else {"x": form}
            text = urlencode(form, errors="surrogatepass")
            content_type = "application/x-www-form-urlencoded"
        body = text.encode("utf-8", errors="surrogateescape")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8: signed as some other text
            text = body.decode("latin-1")
        headers = signed_headers(text, content_type)
        roll = rng.random()
        if roll < 0.04:
            headers["X-Slack-Request-Timestamp"] = rng.choice(
                ["yesterday", "", "-1", "1e9", "9" * 40, "١٢٣", " 1"]
            )
        elif roll < 0.08:
            headers["X-Slack-Signature"] = rng.choice(["", "v0=00", "v0=é", "garbage"])
        elif roll < 0.1:
            headers = signed_headers(text, content_type, at=time.time() - 3600)
        return "slack", "/slack/events", body, headers

    def next(self) -> Request:
        return self.rng.choice([self.webhook, self.telegram, self.slack])()


class Tracebacks(logging.Handler):
    """Keeps every log record that carries a traceback or says ERROR or worse."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)


@dataclass
class Summary:
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    tracebacks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # the first requests answered 5xx
    bystanders: dict[str, bool] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self) -> str:
        lines = [f"{'channel':10} {'status':>6} {'count':>7}"]
        for (channel, status), count in sorted(self.answers.items()):
            lines.append(f"{channel:10} {status:>6} {count:>7}")
        total = sum(self.answers.values())
        done = sum(self.bystanders.values())
        lines.append(f"{total} inputs in {self.seconds:.1f} s; ")
        lines[-1] += f"bystanders finished: {done}/{len(self.bystanders)}; "
        lines[-1] += f"tracebacks or errors logged: {len(self.tracebacks)}"
        return "\n".join(lines)

    @property
    def server_errors(self) -> int:
        return sum(count for (_, status), count in self.answers.items() if status >= 500)


class Bystanders:
    """Customers on each channel who say hello, answer the question and are said goodbye,
    while the fuzzing goes on."""

    def __init__(self, fd: Everywhere) -> None:
        self.fd = fd
        self._update_id = 2_000_000_000  # far above the generator's update ids

    def _telegram(self, chat: int, text: str) -> dict[str, Any]:
        self._update_id += 1
        return {
            "update_id": self._update_id,
            "message": {
                "message_id": self._update_id,
                "date": 1_714_996_800,
                "chat": {"id": chat, "type": "private", "first_name": "Bea"},
                "from": {"id": chat, "is_bot": False, "first_name": "Bea"},
                "text": text,
            },
        }

    async def say(self, channel: str, contact: str, text: str) -> int:
        fd = self.fd
        if channel == "webhook":
            status, _ = await fd.run.post(
                {
                    "event_id": uuid.uuid4().hex,
                    "contact": {"id": contact},
                    "message": {"text": text},
                }
            )
        elif channel == "telegram":
            status, _ = await fd.telegram_update(self._telegram(int(contact), text))
        else:
            status, _ = await fd.slack.message(contact, f"D{contact}", text)
        return status

    async def journey(self, channel: str, contact: str) -> bool:
        store = records_of(self.fd.run.frontdesk)

        async def asked() -> bool:
            found = await store.conversations_of(channel, contact)
            if not found:
                return False
            entries = await store.transcript(found[-1].id)
            return any(e.direction == Direction.OUT and e.text == QUESTION for e in entries)

        async def closed() -> bool:
            found = await store.conversations_of(channel, contact)
            return bool(found) and found[-1].status == ConversationStatus.CLOSED

        try:
            if await self.say(channel, contact, "hello") != 200:
                return False
            await until(asked, limit=60)
            if await self.say(channel, contact, "Bea") != 200:
                return False
            await until(closed, limit=60)
        except AssertionError:
            return False
        return True

    def everyone(self) -> list[tuple[str, str]]:
        people = [("webhook", f"bystander-{n}") for n in range(BYSTANDERS)]
        people += [("telegram", str(777_000_000 + n)) for n in range(BYSTANDERS)]
        people += [("slack", f"UBYSTANDER{n}") for n in range(BYSTANDERS)]
        return people


async def fuzz(folder: Path, inputs: int, seed: int) -> Summary:
    """Send `inputs` hostile requests from `seed` to a frontdesk with the three channels,
    with bystanders beside them; what came back."""
    summary = Summary()
    generator = Generator(random.Random(seed))
    requests = [generator.next() for _ in range(inputs)]
    caught = Tracebacks()
    root = logging.getLogger()
    root.addHandler(caught)
    level = root.level
    root.setLevel(min(level, logging.WARNING))
    receiver = Receiver(SECRET)
    await receiver.start()
    started = time.monotonic()
    try:
        async with everywhere(folder, receiver) as fd:
            bystanders = Bystanders(fd)
            journeys = {
                f"{channel}:{contact}": asyncio.create_task(bystanders.journey(channel, contact))
                for channel, contact in bystanders.everyone()
            }
            queue = iter(requests)

            async def worker() -> None:
                for channel, path, body, headers in queue:
                    url = f"{fd.run.url}{path}"
                    async with fd.run.session.post(url, data=body, headers=headers) as response:
                        answer = await response.read()
                        summary.answers[(channel, response.status)] += 1
                        if response.status >= 500 and len(summary.failures) < 20:
                            summary.failures.append(f"{channel} {body[:300]!r} -> {answer!r}")

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            for name, task in journeys.items():
                summary.bystanders[name] = await task
            await fd.run.frontdesk.runtime.idle()
    finally:
        root.removeHandler(caught)
        root.setLevel(level)
        await receiver.close()
    summary.seconds = time.monotonic() - started
    summary.tracebacks = [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        + (f" ({_last_frame(r)})" if r.exc_info and r.exc_info[0] else "")
        for r in caught.records
    ]
    return summary


def _last_frame(record: logging.LogRecord) -> str:
    """The exception and where it was raised, in one line."""
    assert record.exc_info is not None
    kind, error, trace = record.exc_info
    frames = traceback.extract_tb(trace)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{kind.__name__ if kind else '?'}: {error}{where}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        summary = asyncio.run(fuzz(Path(folder), options.inputs, options.seed))
    print(summary.table())
    for line in summary.tracebacks[:20] + summary.failures:
        print(line)


if __name__ == "__main__":
    main()
