"""An agent who neither accepts nor answers a handoff in time loses the conversation to the
team's next online agent; both notices say so and the customer hears who helps them now.

The clock is the harness's ManualClock: timers fire when it is moved on, never by sleeping.
"""

from __future__ import annotations

from pathlib import Path

from core.events import AssignedBy
from core.ports import Records
from tests.support.harness import Running, records_of
from tests.support.receiver import Receiver
from tests.support.slack import (
    SlackDesk,
    buttons,
    handoff_notice,
    recorded_notice,
    shown,
    slack_desk,
)
from tests.support.waiting import until

ROUTE = """
name: route
trigger: conversation_opened
steps:
  - id: ask_team
    type: ask_question
    text: "Sales or support?"
    answer: multiple_choice
    options:
      - {id: sales, label: Sales}
      - {id: support, label: Support}
  - id: assign
    type: assign
    team: support
    assigned_message: "{{ agent.name }} will help you."
"""

BOTH_ONLINE = """
agents:
  carol: {name: Carol, status: online, desk: {slack: UCAROL}}
  dave: {name: Dave, status: online, desk: {slack: UDAVE}}
teams:
  support: {agents: [carol, dave], accept_timeout_seconds: 120}
"""

ONLY_CAROL = BOTH_ONLINE.replace(
    "dave: {name: Dave, status: online", "dave: {name: Dave, status: away"
)


def desk(tmp_path: Path, receiver: Receiver, directory: str, workflow: str = ROUTE) -> SlackDesk:
    return slack_desk(tmp_path, receiver.url, directory, workflows={"route": workflow})


async def routed_to_carol(run: Running, receiver: Receiver) -> None:
    await run.say("c-1", "Hello", name="Ana Lopez")
    await run.say("c-1", "support")
    assert await receiver.wait_for_texts("c-1", 2) == [
        "Sales or support?",
        "Carol will help you.",
    ]


async def assignee(run: Running) -> str | None:
    [conversation] = await records_of(run.frontdesk).conversations_of("webhook", "c-1")
    return conversation.assignee


async def test_a_silent_agent_loses_the_conversation_to_the_next_online_one(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver, BOTH_ONLINE) as (run, api, _):
        await routed_to_carol(run, receiver)
        carol_notice = await recorded_notice(api, api.dm_of("UCAROL"), run.frontdesk.runtime)

        await run.advance(119)
        await run.frontdesk.runtime.idle()
        assert await assignee(run) == "carol"  # not yet

        await run.advance(1)
        await run.frontdesk.runtime.idle()
        assert await assignee(run) == "dave"
        dave_notice = await handoff_notice(api, api.dm_of("UDAVE"))
        assert "Carol did not accept within 120 s" in shown(dave_notice.blocks)
        await until(lambda: "Moved to Dave" in shown(carol_notice.blocks))
        assert buttons(carol_notice.blocks) == {}
        texts = await receiver.wait_for_texts("c-1", 3)
        assert texts[2] == "Dave will help you."

        [conversation] = await records_of(run.frontdesk).conversations_of("webhook", "c-1")
        store = run.frontdesk.store
        assert isinstance(store, Records)
        record = await store.conversation_record(conversation.id)
        assert record is not None
        bys = [getattr(event, "by", None) for event in record.history]
        assert AssignedBy.ACCEPT_TIMEOUT in bys
        assert await run.frontdesk.store.next_timer_due() is not None  # armed for Dave


async def test_an_accepted_conversation_stays(tmp_path: Path, receiver: Receiver) -> None:
    async with desk(tmp_path, receiver, BOTH_ONLINE) as (run, api, slack):
        await routed_to_carol(run, receiver)
        dm = api.dm_of("UCAROL")
        notice = await recorded_notice(api, dm, run.frontdesk.runtime)
        accept = buttons(notice.blocks)["fd_accept"]
        await slack.press("UCAROL", "fd_accept", accept, channel=dm, message_ts=notice.ts)
        await run.frontdesk.runtime.idle()
        assert await run.frontdesk.store.next_timer_due() is None  # the timer went with it

        await run.advance(600)
        await run.frontdesk.runtime.idle()
        assert await assignee(run) == "carol"
        assert api.in_channel(api.dm_of("UDAVE")) == []
        assert len(receiver.texts("c-1")) == 2


async def test_with_nobody_else_online_it_stays_and_the_timer_does_not_loop(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver, ONLY_CAROL) as (run, api, _):
        await routed_to_carol(run, receiver)
        await recorded_notice(api, api.dm_of("UCAROL"), run.frontdesk.runtime)
        for _ in range(4):
            await run.advance(120)
            await run.frontdesk.runtime.idle()
            assert await assignee(run) == "carol"
        assert await run.frontdesk.store.next_timer_due() is None
        assert api.in_channel(api.dm_of("UDAVE")) == []
        assert len(receiver.texts("c-1")) == 2


async def test_the_assign_step_s_accept_timeout_wins_over_the_team_s(
    tmp_path: Path, receiver: Receiver
) -> None:
    step_says_30 = ROUTE + "    accept_timeout_seconds: 30\n"
    async with desk(tmp_path, receiver, BOTH_ONLINE, step_says_30) as (run, api, _):
        await routed_to_carol(run, receiver)
        await recorded_notice(api, api.dm_of("UCAROL"), run.frontdesk.runtime)
        await run.advance(30)
        await run.frontdesk.runtime.idle()
        assert await assignee(run) == "dave"
