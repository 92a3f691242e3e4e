"""`frontdesk webhook send` and `listen`, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import test_utils
from click.testing import CliRunner, Result
from yarl import URL

from adapters.webhook import WebhookChannel
from adapters.webhook.cli import webhook
from adapters.webhook.listener import listener_app
from adapters.webhook.signing import SIGNATURE_HEADER, sign
from core.clock import ManualClock
from core.models import ContactProfile, Option, Outbound
from tests.adapters.conftest import Start
from tests.adapters.webhook.fakes import SECRET, SLUG, make_settings
from tests.support.inbox import FakeInbox
from tests.support.process import free_port


async def run(*args: str) -> Result:
    # The command runs its own event loop (asyncio.run), so it gets a thread of its own while
    # this test's loop keeps serving the channel.
    return await asyncio.to_thread(CliRunner().invoke, webhook, list(args))


async def test_send_posts_a_signed_event(events_url: str, inbox: FakeInbox) -> None:
    result = await run(
        "send", "--url", events_url, "--secret", SECRET, "--contact", "c-42",
        "--name", "Ana", "--language", "es", "--event-id", "evt-1", "hola",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["200 OK", '{"status": "accepted"}']
    [event] = inbox.events
    assert event.event_id == "evt-1"
    assert event.contact == ContactProfile(external_id="c-42", name="Ana", language="es")
    assert (event.text, event.option_id) == ("hola", None)


async def test_send_an_option_with_a_fresh_event_id_each_time(
    events_url: str, inbox: FakeInbox
) -> None:
    args = ("send", "--url", events_url, "--secret", SECRET, "--contact", "c-1")
    first = await run(*args, "--option", "sales")
    second = await run(*args, "--option", "sales")

    assert (first.exit_code, second.exit_code) == (0, 0)
    assert [e.option_id for e in inbox.events] == ["sales", "sales"]
    assert inbox.events[0].event_id != inbox.events[1].event_id


async def test_send_the_same_event_id_twice_is_a_duplicate(events_url: str) -> None:
    args = ("send", "--url", events_url, "--secret", SECRET, "--contact", "c-1")
    await run(*args, "--event-id", "evt-9", "hi")
    again = await run(*args, "--event-id", "evt-9", "hi")

    assert again.exit_code == 0
    assert '{"status": "duplicate"}' in again.stdout


async def test_send_exits_1_when_frontdesk_refuses(events_url: str, inbox: FakeInbox) -> None:
    result = await run(
        "send", "--url", events_url, "--secret", "not-the-right-secret", "--contact", "c-1", "hi"
    )

    assert result.exit_code == 1
    assert result.stdout.startswith("401 Unauthorized")
    assert inbox.events == []


async def test_send_exits_2_when_frontdesk_cannot_be_reached() -> None:
    url = f"http://127.0.0.1:{free_port()}/webhook/events"

    result = await run("send", "--url", url, "--secret", SECRET, "--contact", "c-1", "hi")

    assert result.exit_code == 2
    assert f"could not reach {url}" in result.stderr


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("--url", "http://127.0.0.1:1/", "--secret", SECRET, "--contact", "c"), "--option"),
        (("--secret", SECRET, "--contact", "c", "hi"), "--config"),
        (("--url", "http://127.0.0.1:1/", "--secret", SECRET, "hi"), "--contact"),
        (("--url", "http://127.0.0.1:1/", "--secret", SECRET, "--contact", "", "hi"), "contact.id"),
    ],
)
def test_send_says_what_is_missing(args: tuple[str, ...], complaint: str) -> None:
    result = CliRunner().invoke(webhook, ["send", *args])

    assert result.exit_code == 2
    assert complaint in result.stderr


def write_config(path: Path, port: int) -> Path:
    path.write_text(
        f"""\
server:
  host: 0.0.0.0
  port: {port}
channels:
  {SLUG}:
    type: webhook
    secret: {SECRET}
    callback_url: http://127.0.0.1:{port}/callback
"""
    )
    return path


async def test_send_takes_address_and_secret_from_the_config(
    events_url: str, inbox: FakeInbox, tmp_path: Path
) -> None:
    port = URL(events_url).port
    assert port is not None
    config = write_config(tmp_path / "frontdesk.yaml", port)

    result = await run("send", "--config", str(config), "--channel", SLUG, "--contact", "c", "hi")

    assert result.exit_code == 0, result.output
    assert len(inbox.events) == 1


async def test_send_needs_only_the_webhook_channels_variables(
    events_url: str, inbox: FakeInbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = URL(events_url).port
    assert port is not None
    monkeypatch.delenv("FRONTDESK_TEST_UNSET_BOT_TOKEN", raising=False)
    monkeypatch.setenv("FRONTDESK_TEST_WEBHOOK_SECRET", SECRET)
    config = tmp_path / "frontdesk.yaml"
    config.write_text(
        f"""\
server: {{host: 127.0.0.1, port: {port}}}
api:
  token: ${{FRONTDESK_TEST_UNSET_API_TOKEN}}
channels:
  {SLUG}:
    type: webhook
    secret: ${{FRONTDESK_TEST_WEBHOOK_SECRET}}
    callback_url: http://127.0.0.1:{port}/callback
  telegram:
    type: telegram
    token: ${{FRONTDESK_TEST_UNSET_BOT_TOKEN}}
    secret_token: ${{FRONTDESK_TEST_UNSET_SECRET_TOKEN}}
"""
    )
    sent = await run("send", "--config", str(config), "--channel", SLUG, "--contact", "c", "hi")
    assert sent.exit_code == 0, sent.output
    assert len(inbox.events) == 1

    # The channel's own variables are still needed, and named.
    monkeypatch.delenv("FRONTDESK_TEST_WEBHOOK_SECRET")
    refused = await run("send", "--config", str(config), "--channel", SLUG, "--contact", "c", "x")
    assert refused.exit_code == 1
    assert f"channels.{SLUG}.secret: environment variable FRONTDESK_TEST_WEBHOOK_SECRET" in (
        refused.output
    )
    assert "UNSET" not in refused.output
    assert len(inbox.events) == 1


def test_send_names_a_missing_channel(tmp_path: Path) -> None:
    config = write_config(tmp_path / "frontdesk.yaml", 1)

    result = CliRunner().invoke(webhook, ["send", "--config", str(config), "--contact", "c", "hi"])

    assert result.exit_code == 2
    assert "has no channel 'webhook'" in result.stderr


def outbound(message_id: str, text: str, options: list[Option] | None = None) -> Outbound:
    return Outbound(
        message_id=message_id,
        conversation_id="conv-1",
        channel=SLUG,
        recipient="c-42",
        text=text,
        options=options or [],
    )


@pytest.fixture
async def listener() -> AsyncIterator[tuple[str, list[str], list[str]]]:
    """The `listen` receiver on 127.0.0.1: its URL, what it printed and what it warned."""
    printed: list[str] = []
    warned: list[str] = []
    app = listener_app(SECRET, "/callback", echo=printed.append, warn=warned.append)
    async with test_utils.TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("/callback")), printed, warned


async def test_the_listener_prints_each_message_once(
    listener: tuple[str, list[str], list[str]], inbox: FakeInbox, clock: ManualClock, start: Start
) -> None:
    url, printed, warned = listener
    channel = await start(WebhookChannel(SLUG, make_settings(url), inbox, clock))

    options = [Option(id="sales", label="Sales"), Option(id="support", label="Support")]
    sent = [
        await channel.send(outbound("m-1", "Which team?", options)),
        await channel.send(outbound("m-1", "Which team?", options)),  # a retry
        await channel.send(outbound("m-2", "Thanks!\nAn agent will write soon.")),
    ]

    assert [d.outcome for d in sent] == ["sent"] * 3
    assert printed == [
        "[c-42 · conv conv-1] Which team?\n  1. Sales (sales)\n  2. Support (support)",
        "[c-42 · conv conv-1] Thanks!\n                     An agent will write soon.",
    ]
    assert warned == []


async def test_the_listener_refuses_a_bad_signature(
    listener: tuple[str, list[str], list[str]],
) -> None:
    url, printed, warned = listener
    async with aiohttp.ClientSession() as http:
        headers = {SIGNATURE_HEADER: sign("another-secret-of-length", b"{}")}
        async with http.post(url, data=b"{}", headers=headers) as response:
            status = response.status

    assert status == 401
    assert printed == []
    assert warned == ["warning: refused a POST to /callback: missing or wrong signature"]


async def test_the_listener_refuses_a_signed_body_that_is_not_a_message(
    listener: tuple[str, list[str], list[str]], http: aiohttp.ClientSession
) -> None:
    url, printed, warned = listener
    body = b'{"message_id": "m-1"}'

    async with http.post(url, data=body, headers={SIGNATURE_HEADER: sign(SECRET, body)}) as r:
        status, answer = r.status, await r.json()

    assert status == 400
    assert answer["error"].startswith("conversation_id: Field required")
    assert printed == []
    assert warned == [f"warning: refused a POST to /callback: {answer['error']}"]


@pytest.mark.parametrize("from_config", [False, True], ids=["explicit", "config"])
async def test_listen_prints_until_interrupted(
    inbox: FakeInbox, clock: ManualClock, tmp_path: Path, from_config: bool
) -> None:
    port = free_port()
    if from_config:
        # Port, path and secret all come from the channel's callback_url and settings.
        config = write_config(tmp_path / "frontdesk.yaml", port)
        args = ["--config", str(config), "--channel", SLUG]
        callback_url = f"http://127.0.0.1:{port}/callback"
    else:
        args = ["--port", str(port), "--secret", SECRET]
        callback_url = f"http://127.0.0.1:{port}/any/path"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from adapters.webhook.cli import webhook; webhook()",
        "listen", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stderr is not None
    channel = WebhookChannel(SLUG, make_settings(callback_url), inbox, clock)
    try:
        banner = await asyncio.wait_for(process.stderr.readline(), timeout=10)
        assert banner.startswith(f"listening on http://127.0.0.1:{port}/".encode()), banner
        await channel.start()
        delivery = await channel.send(outbound("m-1", "hello"))
        line = await asyncio.wait_for(process.stdout.readline(), timeout=10)
    finally:
        await channel.close()
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), timeout=10)

    assert delivery.outcome == "sent"
    assert line.decode() == "[c-42 · conv conv-1] hello\n"
    assert process.returncode == 0
