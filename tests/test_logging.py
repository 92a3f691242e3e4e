"""The log of a real journey: a line per domain event with the conversation's fields, and no
secret value at any level, in text or JSON, from `frontdesk serve` itself."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core import logs
from tests.support.crm import Crm
from tests.support.harness import (
    API_TOKEN,
    SECRET,
    event,
    post_event,
    records_of,
    running,
    write_config,
)
from tests.support.process import free_port, listen_on, serving, until_healthy
from tests.support.receiver import Receiver

CRM_TOKEN = "crm-token-from-the-environment"
LOOKUP = """
name: lookup
trigger: conversation_opened
steps:
  - id: crm
    type: http_request
    url: "{{ settings.crm_url }}/customers?email={{ contact.email }}"
    headers: {Authorization: "Bearer {{ secrets.crm_token }}"}
    timeout_seconds: 2
    save: {customer_type: "$.customerType"}
    on_success: [{id: found, type: send_message, text: "Type {{ vars.customer_type }}"}]
    on_failure: [{id: lost, type: send_message, text: "Lookup failed"}]
  - {id: after, type: send_message, text: "after"}
"""


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """frontdesk's log lines as JSON, for the test; the logging setup is put back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in logs.QUIET}
    stream = io.StringIO()
    logs.setup("INFO", "json", stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


def lines_of(stream: io.StringIO, logger: str) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [e for e in entries if e["logger"] == logger]


async def test_each_domain_event_is_one_line_with_the_conversations_fields(
    tmp_path: Path, receiver: Receiver, route_by_team: str, output: io.StringIO
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    async with running(config) as fd:
        receiver.script = [400]  # the customer's system refuses the welcome
        await fd.say("c-1", "Hello", name="Ana")
        await fd.say("c-1", option="sales")
        await fd.outbox_when("c-1", lambda rows: rows[0].status == "failed")
        await fd.set_status("bob", "away")
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "c-1")
        async with fd.session.post(
            f"{fd.url}/api/conversations/{conversation.id}/close",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as response:
            assert response.status == 200

    where = {"conversation_id": conversation.id, "channel": "webhook", "contact_key": "webhook:c-1"}
    told = [
        (e["message"], {k: v for k, v in e.items() if k not in ("time", "level", "logger")})
        for e in lines_of(output, "frontdesk.events")
    ]
    accepted = {"channel": "webhook", "contact_key": "webhook:c-1"}
    assert [message for message, _ in told] == [
        "event accepted",
        "conversation opened",
        "step welcome (send_message) ran",
        "step ask_team (ask_question) ran",
        "event accepted",
        "step route (branch) ran",
        "step assign_sales (assign) ran",
        "assigned to alice (sales, workflow, round_robin)",
        "step assigned (branch) ran",
        "step tell_assignee (send_message) ran",
        "agent bob is away",
        "conversation closed (an agent)",
    ]
    assert told[0][1] == {"message": "event accepted", **accepted, "inbound_id": 1}
    assert told[1][1] == {"message": "conversation opened", **where}
    assert told[2][1] == {
        "message": "step welcome (send_message) ran",
        **where,
        "workflow": "route-by-team",
        "step_id": "welcome",
        "step_type": "send_message",
    }
    assert told[7][1] == {
        "message": "assigned to alice (sales, workflow, round_robin)",
        **where,
        "agent": "alice",
        "team": "sales",
        "by": "workflow",
        "strategy": "round_robin",
    }
    assert told[10][1] == {"message": "agent bob is away", "agent": "bob", "status": "away"}
    [failed] = [e for e in lines_of(output, "frontdesk.outbox") if e["level"] == "WARNING"]
    assert failed["message"].startswith("delivery failed for good (undeliverable) after 1")
    assert (failed["conversation_id"], failed["contact_key"]) == (conversation.id, "webhook:c-1")
    assert failed["error"].startswith("HTTP 400")


@pytest.mark.parametrize(
    ("options", "expected"),
    [(["--log-format", "text"], "text"), ([], "json")],
    ids=["text-flag-wins-over-env", "json-from-env"],
)
async def test_no_secret_reaches_the_log_at_debug(
    tmp_path: Path,
    receiver: Receiver,
    crm: Crm,
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    expected: str,
) -> None:
    monkeypatch.setenv("FD_TEST_CRM_TOKEN", CRM_TOKEN)
    monkeypatch.setenv("FRONTDESK_LOG_FORMAT", "json")
    crm.types["ana@example.com"] = "VIP"
    extra = f"""
settings: {{crm_url: "{crm.url}"}}
secrets: {{crm_token: "${{FD_TEST_CRM_TOKEN}}"}}
"""
    config = write_config(tmp_path, receiver.url, {"lookup": LOOKUP}, extra=extra)
    url = listen_on(config, free_port())
    log = tmp_path / "frontdesk.log"
    async with (
        aiohttp.ClientSession() as session,
        serving(config, log, "--log-level", "DEBUG", *options),
    ):
        await until_healthy(session, url)
        hello = event("ana", "hi", email="ana@example.com")
        assert (await post_event(session, url, hello))[0] == 200
        assert (await post_event(session, url, hello, secret="a-wrong-secret"))[0] == 401
        async with session.put(
            f"{url}/api/agents/alice/status",
            json={"status": "away"},
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as response:
            assert response.status == 200
        assert await receiver.wait_for_texts("ana", 2) == ["Type VIP", "after"]
    assert crm.requests[0]["authorization"] == f"Bearer {CRM_TOKEN}"

    written = log.read_text()
    for secret in (CRM_TOKEN, SECRET, API_TOKEN):
        assert secret not in written
    lines = written.splitlines()
    if expected == "json":
        entries = [json.loads(line) for line in lines]
        delivered = [e for e in entries if e["message"] == "delivered"]
        assert len(delivered) == 2
        assert all((e["level"], e["logger"]) == ("DEBUG", "frontdesk.outbox") for e in delivered)
        [ran] = [e for e in entries if e["message"] == "step crm (http_request) ran"]
        assert (ran["level"], ran["contact_key"]) == ("INFO", "webhook:ana")
    else:
        assert not any(line.startswith("{") for line in lines)
        assert any(" DEBUG frontdesk.outbox: delivered " in line for line in lines)
        assert any(" INFO frontdesk.events: step crm (http_request) ran " in line for line in lines)
