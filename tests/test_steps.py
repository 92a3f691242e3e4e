"""Steps beyond the demo, end to end: jump bounds, wait timers, closing, conditions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.harness import event, records_of, running, write_config
from tests.support.receiver import Receiver
from tests.support.waiting import until

LOOP = """
name: loop
trigger: conversation_opened
steps:
  - {id: ask, type: ask_question, text: "Name?", save_to: contact.name}
  - {id: hello, type: send_message, text: "Hello {{ contact.name }}"}
  - {id: again, type: jump, to: ask, max: 2}
  - {id: done, type: send_message, text: "That is enough names."}
"""


async def test_jump_runs_at_most_max_times_then_continues(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"loop": LOOP})
    async with running(config) as fd:
        await fd.say("j", "hi")
        for name in ("Ana", "Bea", "Cai"):
            await fd.say("j", name)
        texts = await receiver.wait_for_texts("j", 7)
        assert texts == [
            "Name?",
            "Hello Ana",
            "Name?",
            "Hello Bea",
            "Name?",
            "Hello Cai",
            "That is enough names.",
        ]
        contact = await records_of(fd.frontdesk).contact_at("webhook", "j")
        assert contact is not None
        assert contact.name == "Cai"


WAIT_AND_CLOSE = """
name: waiter
trigger: conversation_opened
steps:
  - {id: hold, type: send_message, text: "One moment..."}
  - {id: pause, type: wait, seconds: 600}
  - {id: back, type: send_message, text: "Thanks for waiting."}
  - {id: bye, type: close_conversation}
  - {id: never, type: send_message, text: "not sent: the run ended"}
"""

CLOSED = """
name: after-close
trigger: conversation_closed
steps:
  - {id: survey, type: send_message, text: "How did we do, {{ contact.name }}?"}
"""


async def test_wait_is_a_durable_timer_and_close_triggers_the_closed_workflow(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"waiter": WAIT_AND_CLOSE, "closed": CLOSED})
    async with running(config) as fd:
        await fd.say("w", "hi", name="Ana")
        assert await receiver.wait_for_texts("w", 1) == ["One moment..."]
        due = await fd.frontdesk.store.next_timer_due()
        assert due is not None
        assert (due - fd.clock.now()).total_seconds() == 600
        await fd.say("w", "are you there?")  # recorded; the run keeps waiting for the timer
        await fd.advance(599)
        assert receiver.texts("w") == ["One moment..."]
        await fd.advance(1)
        texts = await receiver.wait_for_texts("w", 3)
        assert texts == ["One moment...", "Thanks for waiting.", "How did we do, Ana?"]
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "w")
        assert conversation.status == "closed"
        assert await fd.frontdesk.store.next_timer_due() is None
        # The next message opens a new conversation, which runs the opened workflow again.
        await fd.say("w", "hello again")
        assert len(await records_of(fd.frontdesk).conversations_of("webhook", "w")) == 2


BRANCHES = """
name: branches
trigger: conversation_opened
steps:
  - id: route
    type: branch
    branches:
      - name: spanish
        conditions: [{field: contact.language, op: equals, value: ES}]
        steps: [{id: es, type: send_message, text: "Hola"}]
      - name: gold
        match: any
        conditions:
          - {field: contact.fields.plan, op: equals, value: gold}
          - {field: contact.email, op: exists}
        steps: [{id: gold, type: send_message, text: "Welcome back"}]
    else:
      - {id: other, type: send_message, text: "Hello"}
"""


async def test_branch_conditions_first_match_wins_and_unset_fields(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"branches": BRANCHES})
    async with running(config) as fd:
        await fd.say("es", "hola", language="es", email="a@example.com")
        await fd.say("mail", "hi", email="b@example.com")
        await fd.say("none", "hi")  # contact.fields.plan was never set: no match, no error
        assert await receiver.wait_for_texts("es", 1) == ["Hola"]
        assert await receiver.wait_for_texts("mail", 1) == ["Welcome back"]
        assert await receiver.wait_for_texts("none", 1) == ["Hello"]


async def test_a_new_workflow_version_leaves_running_conversations_on_theirs(
    tmp_path: Path, receiver: Receiver
) -> None:
    v1 = """
    name: flow
    trigger: conversation_opened
    steps:
      - {id: ask, type: ask_question, text: "v1 question"}
      - {id: end, type: send_message, text: "v1 end"}
    """
    config = write_config(tmp_path, receiver.url, {"flow": v1})
    async with running(config) as fd:
        await fd.say("v", "hi")
        assert await receiver.wait_for_texts("v", 1) == ["v1 question"]
    v2 = v1.replace("v1", "v2").replace(
        '- {id: ask, type: ask_question, text: "v2 question"}',
        '- {id: intro, type: send_message, text: "v2 intro"}\n'
        '      - {id: ask, type: ask_question, text: "v2 question"}',
    )
    config = write_config(tmp_path, receiver.url, {"flow": v2})
    async with running(config) as fd:
        await fd.say("v", "my answer")
        await fd.frontdesk.runtime.idle()
        assert await receiver.wait_for_texts("v", 2) == ["v1 question", "v1 end"]
        await fd.say("new", "hi")
        assert await receiver.wait_for_texts("new", 2) == ["v2 intro", "v2 question"]


async def test_workflows_restricted_to_channels(tmp_path: Path, receiver: Receiver) -> None:
    for_partner = """
    name: partner-only
    trigger: conversation_opened
    channels: [partner]
    steps: [{id: p, type: send_message, text: "partner flow"}]
    """
    for_everyone = """
    name: everyone
    trigger: conversation_opened
    steps: [{id: e, type: send_message, text: "general flow"}]
    """
    partner = (
        "  partner: {type: webhook, secret: other-webhook-secret-0123456789, "
        f"callback_url: {receiver.url}}}\n"
    )
    config = write_config(
        tmp_path,
        receiver.url,
        {"partner-only": for_partner, "everyone": for_everyone},
        channels=partner,
    )
    async with running(config) as fd:
        await fd.say("w", "hi")  # on the webhook channel: the partner-only flow is skipped
        assert await receiver.wait_for_texts("w", 1) == ["general flow"]


async def test_nothing_is_sent_to_an_unreachable_contact_until_they_write(
    tmp_path: Path, receiver: Receiver
) -> None:
    later = """
    name: later
    trigger: conversation_opened
    steps:
      - {id: pause, type: wait, seconds: 60}
      - {id: nudge, type: send_message, text: "Still there?"}
      - {id: ask, type: ask_question, text: "Anything else?"}
      - {id: bye, type: send_message, text: "Bye!"}
    """
    config = write_config(tmp_path, receiver.url, {"later": later})
    async with running(config) as fd:
        await fd.say("u", "hi")
        await fd.frontdesk.store.mark_unreachable("webhook", "u", fd.clock.now())
        await fd.advance(60)
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "u")
        transcript = await records_of(fd.frontdesk).transcript(conversation.id)
        assert [e.text for e in transcript if e.direction == "out"] == [
            "Still there?",
            "Anything else?",
        ]
        assert await records_of(fd.frontdesk).outbox(conversation.id) == []
        await fd.say("u", "no")  # writing again makes them reachable
        assert await receiver.wait_for_texts("u", 1) == ["Bye!"]


async def test_an_event_that_keeps_failing_is_set_aside(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, receiver.url, {"loop": LOOP})
    async with running(config) as fd:
        runtime = fd.frontdesk.runtime

        async def broken(item: object) -> None:
            raise RuntimeError("a bug")

        monkeypatch.setattr(runtime.engine, "process_inbound", broken)
        status, _ = await fd.post(event("p", "hi"))
        assert status == 200
        await runtime.idle()
        [pending] = await fd.frontdesk.store.pending_inbound(10)
        for _ in range(2):  # the sweep hands it over again
            assert await fd.frontdesk.store.pending_inbound(10) == [pending]
            await runtime.recover()
            await runtime.idle()
        assert await fd.frontdesk.store.pending_inbound(10) == []
        assert await records_of(fd.frontdesk).inbound_error(pending.id) == "RuntimeError('a bug')"
        # Other conversations are not held up by it.
        monkeypatch.undo()
        await fd.say("q", "hi")
        assert await receiver.wait_for_texts("q", 1) == ["Name?"]


HOLD = """
name: hold
trigger: conversation_opened
steps:
  - {id: hold, type: send_message, text: "One moment..."}
  - {id: pause, type: wait, seconds: 60}
  - {id: back, type: send_message, text: "Thanks for waiting."}
"""


async def test_a_timer_that_fails_waits_before_each_new_try(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, receiver.url, {"hold": HOLD})
    async with running(config) as fd:
        runtime = fd.frontdesk.runtime
        await fd.say("w", "hi")
        tries: list[object] = []

        async def broken(timer: object) -> None:
            tries.append(timer)
            raise RuntimeError("a bug")

        monkeypatch.setattr(runtime.engine, "process_timer", broken)
        fd.clock.advance(61)
        runtime.timer_loop.wake.set()
        # The timer loop goes to sleep until the held timer's next try, instead of taking
        # it again at once (it used to, thousands of times a second).
        first_retry = fd.clock.now() + timedelta(seconds=5)
        await until(lambda: first_retry in fd.clock.deadlines)
        assert len(tries) == 1
        fd.clock.advance(5)
        await until(lambda: len(tries) == 2)
        await until(lambda: fd.clock.now() + timedelta(seconds=10) in fd.clock.deadlines)
        assert len(tries) == 2

        monkeypatch.undo()  # fixed: the next try works
        fd.clock.advance(10)
        assert await receiver.wait_for_texts("w", 2) == ["One moment...", "Thanks for waiting."]
