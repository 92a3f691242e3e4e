"""The http_request step against a local test CRM: mapping, branches, encoding, secrets,
and a request lost to a restart being made again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.crm import Crm
from tests.support.harness import event, running, write_config
from tests.support.receiver import Receiver
from tests.support.waiting import until

LOOKUP = """
name: lookup
trigger: conversation_opened
steps:
  - id: crm
    type: http_request
    url: "{{ settings.crm_url }}/customers?email={{ contact.email }}"
    headers: {Authorization: "Bearer {{ secrets.crm_token }}"}
    timeout_seconds: 2
    max_response_bytes: 10000
    save: {customer_type: "$.customerType", customer_id: "$.id"}
    on_success:
      - id: found
        type: send_message
        text: "Type {{ vars.customer_type }} #{{ vars.customer_id }}"
    on_failure:
      - {id: lost, type: send_message, text: "Lookup failed"}
  - {id: after, type: send_message, text: "after"}
"""


def config_for(tmp_path: Path, receiver: Receiver, crm: Crm, workflow: str = LOOKUP) -> Path:
    extra = f"""
settings: {{crm_url: "{crm.url}"}}
secrets: {{crm_token: "${{FD_TEST_CRM_TOKEN}}"}}
"""
    return write_config(tmp_path, receiver.url, {"lookup": workflow}, extra=extra)


@pytest.fixture(autouse=True)
def crm_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FD_TEST_CRM_TOKEN", "token-from-env")


async def test_success_maps_jsonpath_into_variables(
    tmp_path: Path, receiver: Receiver, crm: Crm
) -> None:
    crm.types["a+b&c=d@example.com"] = "VIP"
    async with running(config_for(tmp_path, receiver, crm)) as fd:
        await fd.say("v", "hi", email="a+b&c=d@example.com")
        assert await receiver.wait_for_texts("v", 2) == ["Type VIP #7", "after"]
    [request] = crm.requests
    # The email was URL-encoded into the query: it arrives whole, adding no parameters.
    assert request["query"] == {"email": "a+b&c=d@example.com"}
    assert request["authorization"] == "Bearer token-from-env"


@pytest.mark.parametrize(
    ("mode", "known"),
    [("normal", False), ("down", True), ("garbage", True), ("big", True)],
    ids=["404", "500", "not-json", "too-big"],
)
async def test_failures_take_the_failure_steps(
    tmp_path: Path, receiver: Receiver, crm: Crm, mode: str, known: bool
) -> None:
    crm.mode = mode
    if known:
        crm.types["x@example.com"] = "VIP"
    async with running(config_for(tmp_path, receiver, crm)) as fd:
        await fd.say("f", "hi", email="x@example.com")
        assert await receiver.wait_for_texts("f", 2) == ["Lookup failed", "after"]


async def test_an_answer_sent_in_pieces_is_read_whole(
    tmp_path: Path, receiver: Receiver, crm: Crm
) -> None:
    crm.mode = "chunked"
    workflow = LOOKUP.replace("max_response_bytes: 10000", "max_response_bytes: 65536")
    async with running(config_for(tmp_path, receiver, crm, workflow)) as fd:
        await fd.say("p", "hi", email="p@example.com")
        assert await receiver.wait_for_texts("p", 2) == ["Type VIP #7", "after"]


async def test_missing_path_is_a_failure(tmp_path: Path, receiver: Receiver, crm: Crm) -> None:
    crm.types["x@example.com"] = "VIP"
    workflow = LOOKUP.replace("$.id", "$.missing")
    async with running(config_for(tmp_path, receiver, crm, workflow)) as fd:
        await fd.say("m", "hi", email="x@example.com")
        assert await receiver.wait_for_texts("m", 2) == ["Lookup failed", "after"]


async def test_unreachable_and_timeout(tmp_path: Path, receiver: Receiver, crm: Crm) -> None:
    crm.mode = "slow"  # holds its answer past the step's timeout
    quick = LOOKUP.replace("timeout_seconds: 2", "timeout_seconds: 0.2")
    async with running(config_for(tmp_path, receiver, crm, quick)) as fd:
        await fd.say("t", "hi", email="x@example.com")
        assert await receiver.wait_for_texts("t", 2) == ["Lookup failed", "after"]
    dead = LOOKUP.replace("{{ settings.crm_url }}", "http://127.0.0.1:9")
    async with running(config_for(tmp_path, receiver, crm, dead)) as fd:
        await fd.say("u", "hi", email="x@example.com")
        assert await receiver.wait_for_texts("u", 2) == ["Lookup failed", "after"]


async def test_json_body_values_are_json_encoded(
    tmp_path: Path, receiver: Receiver, crm: Crm
) -> None:
    workflow = """
name: lookup
trigger: conversation_opened
steps:
  - id: note
    type: http_request
    method: POST
    url: "{{ settings.crm_url }}/notes"
    body: {text: "{{ contact.name }} said hi", tags: ["web", "{{ conversation.channel }}"], n: 3}
    on_success: [{id: ok, type: send_message, text: "noted"}]
"""
    async with running(config_for(tmp_path, receiver, crm, workflow)) as fd:
        await fd.say("j", "hi", name='Ana "the" \\ Tester')
        assert await receiver.wait_for_texts("j", 1) == ["noted"]
    assert crm.requests == [
        {"body": {"text": 'Ana "the" \\ Tester said hi', "tags": ["web", "webhook"], "n": 3}}
    ]


async def test_a_request_lost_to_a_restart_is_made_again(
    tmp_path: Path, receiver: Receiver, crm: Crm
) -> None:
    crm.mode = "slow"
    crm.types["x@example.com"] = "regular"
    config = config_for(
        tmp_path, receiver, crm, LOOKUP.replace("timeout_seconds: 2", "timeout_seconds: 30")
    )
    async with running(config) as fd:
        # Not `say`: it waits for requests to finish, and this one is held at the CRM.
        status, _ = await fd.post(event("r", "hi", email="x@example.com"))
        assert status == 200
        await until(lambda: crm.requests)
        start = fd.clock.now()
    # Stopped while the request was out: no answer was recorded, the run still waits.
    crm.mode = "normal"
    async with running(config, start=start) as fd2:
        await fd2.advance(30 + 60)
        assert await receiver.wait_for_texts("r", 2) == ["Type regular #7", "after"]
    assert len(crm.requests) == 2
