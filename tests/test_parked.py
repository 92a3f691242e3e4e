"""An event whose processing keeps failing is parked with its error after a bounded number of
tries, holds up nothing, and can be listed and retried (API and CLI) once the cause is fixed.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from core import steps
from core.models import AnswerType, Option
from core.runtime import MAX_FAILURES
from core.turn import Turn
from tests.support.harness import API_TOKEN, Running, event, records_of, running, write_config
from tests.support.process import run_frontdesk
from tests.support.receiver import Receiver

NAMES = """
name: names
trigger: conversation_opened
steps:
  - {id: ask, type: ask_question, text: "Name?", save_to: contact.name}
  - {id: hello, type: send_message, text: "Hello {{ contact.name }}"}
  - {id: again, type: jump, to: ask, max: 5}
"""
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def step_fails_on_poison(monkeypatch: pytest.MonkeyPatch) -> None:
    """The send_message step raises for one name, as a step with a bug would."""
    say = steps._say

    def failing(
        turn: Turn,
        text: str,
        options: list[Option],
        step_id: str | None,
        answer: AnswerType | None = None,
    ) -> None:
        if turn.contact.name == "poison" and step_id == "hello":
            raise RuntimeError("the step failed")
        say(turn, text, options, step_id, answer)

    monkeypatch.setattr(steps, "_say", failing)


async def api(fd: Running, method: str, path: str, **headers: str) -> tuple[int, Any]:
    async with fd.session.request(method, f"{fd.url}{path}", headers=headers) as response:
        return response.status, await response.json()


async def park_one(fd: Running, receiver: Receiver) -> int:
    """Contact `p` sends a name the step fails on, then a good one; the bad event is tried
    until it is parked. Returns its inbox id."""
    runtime = fd.frontdesk.runtime
    await fd.say("p", "hi")
    status, _ = await fd.post(event("p", "poison"))
    assert status == 200
    await runtime.idle()
    [pending] = await fd.frontdesk.store.pending_inbound(10)
    # A later event of the same conversation is not held up by the failing one.
    await fd.say("p", "Ana")
    assert await receiver.wait_for_texts("p", 3) == ["Name?", "Hello Ana", "Name?"]
    for _ in range(MAX_FAILURES - 1):  # each sweep tries it again
        assert await fd.frontdesk.store.pending_inbound(10) == [pending]
        await runtime.recover()
        await runtime.idle()
    assert await fd.frontdesk.store.pending_inbound(10) == []
    return pending.id


async def test_a_failing_event_is_parked_listed_and_retried(
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    step_fails_on_poison: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = write_config(tmp_path, receiver.url, {"names": NAMES})
    async with running(config) as fd:
        parked_id = await park_one(fd, receiver)

        assert fd.frontdesk.runtime.parked == 1
        async with fd.session.get(f"{fd.url}/metrics") as response:
            scraped = await response.text()
        assert 'frontdesk_inbound_events_total{channel="webhook",outcome="parked"} 1.0' in scraped
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "p")
        [logged] = [r for r in caplog.records if "parked" in r.getMessage()]
        assert logged.levelno == logging.ERROR
        assert f"conversation={conversation.id}" in logged.getMessage()
        status, listed = await api(fd, "GET", "/api/inbox/parked", **AUTH)
        assert status == 200
        [item] = listed
        assert item["id"] == parked_id
        assert item["contact_key"] == "webhook:p"
        assert item["text"] == "poison"
        assert item["error"] == "RuntimeError('the step failed')"

        monkeypatch.undo()  # the cause is fixed
        status, answer = await api(fd, "POST", f"/api/inbox/parked/{parked_id}/retry", **AUTH)
        assert (status, answer) == (200, {"status": "retrying", "id": parked_id})
        await fd.frontdesk.runtime.idle()
        texts = await receiver.wait_for_texts("p", 5)
        assert texts[3:] == ["Hello poison", "Name?"]
        assert await api(fd, "GET", "/api/inbox/parked", **AUTH) == (200, [])


async def test_the_parked_routes_refuse_what_they_cannot_do(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"names": NAMES})
    async with running(config) as fd:
        assert (await api(fd, "GET", "/api/inbox/parked"))[0] == 401
        assert (await api(fd, "POST", "/api/inbox/parked/1/retry"))[0] == 401
        wrong = {"Authorization": "Bearer wrong-token-0123456789"}
        assert (await api(fd, "GET", "/api/inbox/parked", **wrong))[0] == 401
        # A header that is not UTF-8 is a wrong token too, not a 500.
        host, port = fd.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"GET /api/inbox/parked HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n"
            b"Connection: close\r\n\r\n"
        )
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 401 ")
        status, answer = await api(fd, "POST", "/api/inbox/parked/1/retry", **AUTH)
        assert (status, answer) == (404, {"error": "no parked event with that id"})
        for bad in ("x", "-1", "99999999999999999999"):
            status, _ = await api(fd, "POST", f"/api/inbox/parked/{bad}/retry", **AUTH)
            assert status == 400
        for bad in ("0", "x", "5000"):
            status, _ = await api(fd, "GET", f"/api/inbox/parked?limit={bad}", **AUTH)
            assert status == 400
        # A processed event is not parked: it cannot be "retried".
        await fd.say("q", "hi")
        assert await records_of(fd.frontdesk).parked_inbound(10) == []
        status, _ = await api(fd, "POST", "/api/inbox/parked/1/retry", **AUTH)
        assert status == 404


async def cli(*args: str) -> tuple[int, str]:
    status, out, err = await run_frontdesk("parked", *args)
    return status, out + err


async def test_the_cli_lists_and_retries_parked_events(
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    step_fails_on_poison: None,
) -> None:
    config = write_config(tmp_path, receiver.url, {"names": NAMES})
    async with running(config) as fd:
        parked_id = await park_one(fd, receiver)

    code, out = await cli("list", "--config", str(config))
    assert code == 0
    assert f"{parked_id}  " in out
    assert "webhook:p" in out
    assert "RuntimeError('the step failed')" in out
    code, out = await cli("retry", str(parked_id), "--config", str(config))
    assert (code, out.strip()) == (
        0,
        f"{parked_id}: pending again; a running frontdesk processes it within 30 s",
    )
    code, out = await cli("retry", str(parked_id), "--config", str(config))
    assert (code, out.strip()) == (1, f"no parked event with id {parked_id}")
    code, out = await cli("list", "--config", str(config))
    assert (code, out.strip()) == (0, "no parked events")
    monkeypatch.undo()  # the cause is fixed
    async with running(config) as fd:  # the next start processes it
        texts = await receiver.wait_for_texts("p", 5)
        assert texts[3:] == ["Hello poison", "Name?"]
        await fd.frontdesk.runtime.idle()
        assert await fd.frontdesk.store.pending_inbound(10) == []
