"""Benchmark: inbound webhook events per second through a real `frontdesk serve` on SQLite.

Starts frontdesk as its own process on 127.0.0.1 with the demo's route-by-team workflow, a
callback receiver in this process, and posts signed events from many concurrent clients.
Prints how fast events are accepted (stored durably, 200) and how fast they are processed
end to end (every reply delivered to the receiver). Bounded in count and time; loopback only.

    .venv/bin/python -m tests.bench.inbound --events 5000 --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.support.harness import SECRET, event, post_event, write_config
from tests.support.process import free_port, listen_on, serving, until_healthy
from tests.support.receiver import Receiver

GREETER = """
name: greeter
trigger: conversation_opened
steps:
  - {id: ask, type: ask_question, text: "Sales or support?", answer: multiple_choice,
     options: [{id: sales, label: Sales}, {id: support, label: Support}], save_to: vars.team}
  - {id: give, type: assign, team: sales}
  - {id: told, type: send_message, text: "You have {{ agent.name }}"}
"""


async def main(events: int, concurrency: int, limit: float, log_level: str) -> None:
    receiver = Receiver(SECRET)
    await receiver.start()
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    config = write_config(folder, receiver.url, {"greeter": GREETER})
    url = listen_on(config, free_port())
    try:
        async with (
            serving(config, None, "--log-level", log_level),
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session,
        ):
            await until_healthy(session, url)
            # Half the events open conversations, the other half answer their question.
            contacts = events // 2
            bodies = [event(f"c{n}", "hi") for n in range(contacts)]
            answers = [event(f"c{n}", "sales") for n in range(contacts)]
            gate = asyncio.Semaphore(concurrency)

            async def post(body: dict[str, object]) -> None:
                async with gate:
                    status, answer = await post_event(session, url, body)
                assert status == 200, answer

            started = time.perf_counter()
            await asyncio.gather(*(post(b) for b in bodies))
            await receiver.wait_until(lambda r: len(r.messages) >= contacts, limit)
            await asyncio.gather(*(post(b) for b in answers))
            accepted = time.perf_counter() - started
            await receiver.wait_until(lambda r: len(r.messages) >= 2 * contacts, limit)
            done = time.perf_counter() - started
    finally:
        await receiver.close()
        shutil.rmtree(folder, ignore_errors=True)
    total = 2 * contacts
    print(f"events: {total} from {contacts} contacts, {concurrency} concurrent clients")
    print(f"accepted (HTTP 200, stored): {total / accepted:8.0f} events/s")
    print(f"processed end to end       : {total / done:8.0f} events/s ({done:.2f} s)")
    print(f"replies delivered          : {len(receiver.messages)} (repeats: {receiver.repeats})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--limit", type=float, default=120.0, help="seconds before giving up")
    parser.add_argument("--log-level", default="WARNING", help="INFO: a line per domain event")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.concurrency, args.limit, args.log_level))
