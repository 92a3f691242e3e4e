"""The assign step's `assigned_message`: the customer hears who helps them whenever an agent
takes the conversation — at once, later from the team's queue, or from another agent on the
desk (taken over from the team's channel, reassigned)."""

from __future__ import annotations

from pathlib import Path

from tests.support.harness import records_of, running, write_config
from tests.support.receiver import Receiver
from tests.support.slack import SlackDesk, buttons, handoff_notice, slack_desk
from tests.support.waiting import until

ROUTE = """
name: route
trigger: conversation_opened
steps:
  - {id: hello, type: send_message, text: "Hello!"}
  - id: give
    type: assign
    team: support
    assigned_message: "{{ agent.name }} will help you."
    when_unavailable:
      - {id: queued, type: send_message, text: "You're in the queue."}
"""
DIRECTORY = """
agents:
  carol: {name: Carol, status: online, desk: {slack: UCAROL}}
  dave: {name: Dave, status: online, desk: {slack: UDAVE}}
teams:
  support: {agents: [carol, dave], desk: {slack: CSUPPORT}}
"""
# The same people where there is no desk to reach them on.
NO_DESK = """
agents:
  carol: {name: Carol, status: online}
  dave: {name: Dave, status: online}
teams:
  support: {agents: [carol, dave]}
"""


async def test_a_queued_customer_hears_who_takes_the_conversation(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"route": ROUTE}, NO_DESK)
    async with running(config) as fd:
        await fd.set_status("carol", "away")
        await fd.set_status("dave", "away")
        await fd.say("q", "hi")
        assert await receiver.wait_for_texts("q", 2) == ["Hello!", "You're in the queue."]
        await fd.set_status("dave", "online")
        assert await receiver.wait_for_texts("q", 3) == [
            "Hello!",
            "You're in the queue.",
            "Dave will help you.",
        ]
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "q")
        assert conversation.assignee == "dave"


async def test_assigned_at_once_the_message_is_said_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"route": ROUTE}, NO_DESK)
    async with running(config) as fd:
        await fd.say("a", "hi")
        await fd.say("a", "anyone there?")  # an open conversation: no second assignment
        await fd.frontdesk.runtime.idle()
        await fd.outbox_when("a", lambda rows: all(r.status == "sent" for r in rows))
        assert receiver.texts("a") == ["Hello!", "Carol will help you."]


def desk(tmp_path: Path, receiver: Receiver) -> SlackDesk:
    return slack_desk(
        tmp_path,
        receiver.url,
        DIRECTORY,
        workflows={"route": ROUTE},
        desk="desk: {channel: slack, notify: team}",
    )


async def test_taken_over_from_the_team_channel_the_customer_is_told(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        await run.say("t", "hi")
        assert await receiver.wait_for_texts("t", 2) == ["Hello!", "Carol will help you."]
        notice = await handoff_notice(api, "CSUPPORT")
        value = buttons(notice.blocks)["fd_accept"]
        await slack.press("UDAVE", "fd_accept", value, channel="CSUPPORT", message_ts=notice.ts)
        await run.frontdesk.runtime.idle()
        assert (await receiver.wait_for_texts("t", 3))[2] == "Dave will help you."
        [conversation] = await records_of(run.frontdesk).conversations_of("webhook", "t")
        assert conversation.assignee == "dave"


async def test_reassigned_the_customer_is_told(tmp_path: Path, receiver: Receiver) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        await run.say("r", "hi")
        await receiver.wait_for_texts("r", 2)
        notice = await handoff_notice(api, "CSUPPORT")
        value = buttons(notice.blocks)["fd_reassign"]
        await slack.press("UCAROL", "fd_reassign", value, channel="CSUPPORT", message_ts=notice.ts)
        await run.frontdesk.runtime.idle()
        assert (await receiver.wait_for_texts("r", 3))[2] == "Dave will help you."

        async def with_dave() -> bool:
            found = await records_of(run.frontdesk).conversations_of("webhook", "r")
            return found[0].assignee == "dave"

        assert await until(with_dave)
