"""Connection hygiene of `frontdesk serve`, over raw TCP on 127.0.0.1: slow headers and
bodies are cut off, and connections over the cap are refused with 503 until one closes."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from adapters.webhook.signing import SIGNATURE_HEADER, sign
from tests.support.harness import SECRET, event, post_event, write_config
from tests.support.process import free_port, listen_on, serving, until_healthy
from tests.support.receiver import Receiver
from tests.support.waiting import until


def configure(config: Path, **server: object) -> str:
    settings = ", ".join(f"{k}: {v}" for k, v in server.items())
    config.write_text(
        config.read_text().replace(
            "server: {host: 127.0.0.1, port: 0}",
            f"server: {{host: 127.0.0.1, port: 0, {settings}}}",
        )
    )
    return listen_on(config, free_port())


async def closed_after(reader: asyncio.StreamReader, limit: float = 5.0) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    began = time.monotonic()
    data = await asyncio.wait_for(reader.read(), limit)
    return data, time.monotonic() - began


async def test_a_connection_without_complete_headers_is_closed_in_time(
    tmp_path: Path, receiver: Receiver, route_by_team: str, http: aiohttp.ClientSession
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    url = configure(config, header_timeout_seconds=0.5)
    port = int(url.rsplit(":", 1)[1])
    async with serving(config):
        await until_healthy(http, url)
        # Nothing at all...
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data, seconds = await closed_after(reader)
        assert (data, seconds < 2) == (b"", True)
        writer.close()
        # ...or headers that never end (slowloris).
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /webhook/events HTTP/1.1\r\nHost: x\r\n")
        data, seconds = await closed_after(reader)
        assert (data, seconds < 2) == (b"", True)
        writer.close()
        # A request sent in time is answered as usual.
        assert (await post_event(http, url, event("c-1", "Hello")))[0] == 200


async def test_a_body_that_does_not_arrive_in_time_gets_408_and_the_connection_closes(
    tmp_path: Path, receiver: Receiver, route_by_team: str, http: aiohttp.ClientSession
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    url = configure(config, body_timeout_seconds=0.5)
    port = int(url.rsplit(":", 1)[1])
    log = tmp_path / "frontdesk.log"
    body = json.dumps(event("c-1", "Hello")).encode()
    async with serving(config, log):
        await until_healthy(http, url)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /webhook/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"{SIGNATURE_HEADER}: {sign(SECRET, body)}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        data, seconds = await closed_after(reader)
        writer.close()
    assert seconds < 2
    assert data.startswith(b"HTTP/1.1 408 ")
    assert b"the body did not arrive within 0.5 s" in data
    assert "POST /webhook/events: the body did not arrive within 0.5 s" in log.read_text()
    assert receiver.texts("c-1") == []  # nothing of it was taken


async def connected(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    try:
        return await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return None  # not listening yet


@pytest.mark.parametrize("event_loop", ["asyncio", "uvloop"])
async def test_over_the_cap_a_connection_is_refused_until_one_closes(
    tmp_path: Path, receiver: Receiver, route_by_team: str, event_loop: str
) -> None:
    if event_loop == "uvloop":
        pytest.importorskip("uvloop", reason="frontdesk[speed] is not installed")
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    url = configure(config, max_connections=2, header_timeout_seconds=30)
    port = int(url.rsplit(":", 1)[1])
    log = tmp_path / "frontdesk.log"
    # A new connection for every request, as a platform's delivery makes.
    fresh = aiohttp.TCPConnector(force_close=True)
    loop = ("--event-loop", event_loop)
    async with (
        serving(config, log, serve_options=loop),
        aiohttp.ClientSession(connector=fresh) as http,
    ):
        # The first two connections, made as soon as it listens, take both places.
        idle = [await until(lambda: connected(port)) for _ in range(2)]

        status, body = await post_event(http, url, event("c-1", "Hello"))
        assert (status, body) == (503, {"error": "too many connections; try again shortly"})

        _, writer = idle.pop()
        writer.close()

        # Once a place is free, the delivery that comes again is taken.
        async def accepted() -> bool:
            status, _ = await post_event(http, url, event("c-1", "Hello", name="Ana"))
            return status == 200

        await until(accepted)
        assert (await receiver.wait_for_texts("c-1", 2))[0] == "Hi Ana! Welcome to Example Co."
        for _, writer in idle:
            writer.close()
    text = log.read_text()
    assert text.count("connection cap reached: 2 connections open") == 1
    assert "connections below the cap again" in text
