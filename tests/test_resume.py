"""A run stored by one version of frontdesk resumes at the step it waits at after an
upgrade, even when the new compiler lays the workflow out differently; a run whose step is
gone parks its event with the error instead of resuming anywhere."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core import engine
from core.runtime import MAX_FAILURES
from tests.support.golden import with_a_noop_first
from tests.support.harness import event, records_of, running, write_config
from tests.support.receiver import Receiver

ASKING = """
name: asking
trigger: conversation_opened
steps:
  - {id: welcome, type: send_message, text: "Hello!"}
  - {id: ask_name, type: ask_question, text: "Name?", save_to: contact.name}
  - {id: thanks, type: send_message, text: "Thanks {{ contact.name }}"}
"""

WAITING = """
name: waiting
trigger: conversation_opened
steps:
  - {id: welcome, type: send_message, text: "Hello!"}
  - {id: pause, type: wait, seconds: 60}
  - {id: back, type: send_message, text: "Back again."}
"""


async def test_an_answer_resumes_at_the_question_the_compiler_moved(
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = write_config(tmp_path, receiver.url, {"asking": ASKING})
    async with running(config) as fd:
        await fd.say("r", "hi")
        assert await receiver.wait_for_texts("r", 2) == ["Hello!", "Name?"]
    monkeypatch.setattr(engine, "compile_workflow", with_a_noop_first)
    caplog.set_level(logging.ERROR, "frontdesk.engine")
    async with running(config) as fd:
        await fd.say("r", "Ana")
        assert await receiver.wait_for_texts("r", 3) == ["Hello!", "Name?", "Thanks Ana"]
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "r")
    [logged] = [r for r in caplog.records if "resuming by the step's id" in r.getMessage()]
    assert f"conversation={conversation.id} workflow=asking" in logged.getMessage()
    assert "step=ask_name" in logged.getMessage()


async def test_a_due_wait_resumes_after_the_wait_step_the_compiler_moved(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, receiver.url, {"waiting": WAITING})
    async with running(config) as fd:
        await fd.say("w", "hi")
        assert await receiver.wait_for_texts("w", 1) == ["Hello!"]
    monkeypatch.setattr(engine, "compile_workflow", with_a_noop_first)
    async with running(config) as fd:
        await fd.advance(60)
        assert await receiver.wait_for_texts("w", 2) == ["Hello!", "Back again."]
        await fd.advance(60)  # the run ended: nothing waits, nothing is said again
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "w")
        assert conversation.run is None
    assert receiver.texts("w") == ["Hello!", "Back again."]


async def test_a_run_whose_step_is_gone_parks_its_event_with_the_error(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"asking": ASKING})
    async with running(config) as fd:
        store = fd.frontdesk.store
        await fd.say("g", "hi")
        assert await receiver.wait_for_texts("g", 2) == ["Hello!", "Name?"]
        # As if the version had no step by that id: a run stored by a frontdesk that
        # named its steps otherwise.
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "g")
        assert conversation.run is not None
        assert conversation.run.waiting is not None
        conversation.run.waiting.step_id = "gone"
        async with store.transaction() as tx:
            conversation.version += 1
            await tx.save_conversation(conversation)
        status, _ = await fd.post(event("g", "Ana"))
        assert status == 200
        await fd.frontdesk.runtime.idle()
        for _ in range(MAX_FAILURES - 1):
            await fd.frontdesk.runtime.recover()
            await fd.frontdesk.runtime.idle()
        [parked] = await records_of(fd.frontdesk).parked_inbound(10)
        assert "workflow asking" in parked.error
        assert "has no step 'gone'" in parked.error
    assert receiver.texts("g") == ["Hello!", "Name?"]


ROUTING = """
name: routing
trigger: conversation_opened
steps:
  - {id: welcome, type: send_message, text: "Hello!"}
  - {id: to_support, type: assign, team: support, timeout_seconds: 600}
  - {id: helped, type: send_message, text: "{{ agent.name }} is here."}
"""
NOBODY_ONLINE = """
agents:
  carol: {name: Carol, status: away}
teams:
  support: {agents: [carol]}
"""


async def test_an_agent_taking_the_conversation_resumes_at_the_assign_step_the_compiler_moved(
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = write_config(tmp_path, receiver.url, {"routing": ROUTING}, directory=NOBODY_ONLINE)
    async with running(config) as fd:
        await fd.say("a", "hi")
        assert await receiver.wait_for_texts("a", 1) == ["Hello!"]
    monkeypatch.setattr(engine, "compile_workflow", with_a_noop_first)
    caplog.set_level(logging.ERROR, "frontdesk.engine")
    async with running(config) as fd:
        await fd.set_status("carol", "online")
        assert await receiver.wait_for_texts("a", 2) == ["Hello!", "Carol is here."]
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "a")
        assert (conversation.assignee, conversation.run) == ("carol", None)
    # Carried on from the assign step itself, not from the instruction before it.
    [logged] = [r for r in caplog.records if "resuming by the step's id" in r.getMessage()]
    assert "workflow=routing" in logged.getMessage()
    assert "step=to_support" in logged.getMessage()
