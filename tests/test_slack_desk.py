"""Agents in Slack: handoff notices they act on, replies from the thread, status from Slack.

A webhook customer is routed to an agent; everything Slack sees goes through the fake Web
API on 127.0.0.1 (the real slack_sdk client), and everything Slack sends is a signed request
to frontdesk's `/slack/events`, through slack-bolt.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from adapters.telegram.inbound import SECRET_HEADER
from core.agents import AgentStatus
from core.models import Conversation, ConversationStatus
from tests.adapters.slack.fake_web_api import FakeWebApi, Message, serving
from tests.adapters.telegram.fake_bot_api import serving as serving_bot_api
from tests.adapters.telegram.fakes import CHAT_ID, SECRET_TOKEN, text_update
from tests.support.harness import API_TOKEN, Running, records_of, running
from tests.support.receiver import Receiver
from tests.support.slack import (
    DESK,
    SlackClient,
    SlackDesk,
    buttons,
    handoff_notice,
    recorded_notice,
    shown,
    slack_desk,
    slack_desk_config,
)
from tests.support.telegram import telegram_channel
from tests.support.waiting import until

TEAM_NOTICES = "desk: {channel: slack, notify: team}"
DIRECTORY = """
agents:
  carol: {name: Carol, status: online, desk: {slack: UCAROL}}
  dave: {name: Dave, status: online, desk: {slack: UDAVE}}
  erin: {name: Erin, status: away, desk: {slack: UERIN}}
teams:
  support: {agents: [carol, dave, erin], desk: {slack: CSUPPORT}}
"""


def desk(
    tmp_path: Path, receiver: Receiver, desk_yaml: str = DESK, directory: str = DIRECTORY
) -> SlackDesk:
    return slack_desk(tmp_path, receiver.url, directory, desk=desk_yaml)


async def routed(run: Running, receiver: Receiver, contact: str = "c-1") -> None:
    await run.say(contact, "Hello", name="Ana Lopez")
    await run.say(contact, "support")
    await receiver.wait_for_texts(contact, 2)


async def the_conversation(run: Running, contact: str = "c-1") -> Conversation:
    """The contact's one conversation (on the webhook channel)."""
    [conversation] = await records_of(run.frontdesk).conversations_of("webhook", contact)
    return conversation


async def delivered(run: Running, contact: str = "c-1") -> None:
    """Wait until everything the contact's conversation queued has gone out, so that what
    is absent afterwards was never sent."""
    await run.outbox_when(contact, lambda rows: all(r.status == "sent" for r in rows))


async def until_assigned(run: Running, contact: str = "c-1") -> Conversation:
    async def assigned() -> Conversation | None:
        conversation = await the_conversation(run, contact)
        return conversation if conversation.assignee is not None else None

    found: Conversation = await until(assigned)
    return found


async def reply_refused(
    run: Running, api: FakeWebApi, slack: SlackClient, dm: str, notice: Message, text: str
) -> Message:
    """Carol answers `text` in the notice's thread: what she is told instead (the next
    ephemeral), once her reply is processed; it is not in the transcript."""
    told_before = len(api.ephemerals)
    await slack.message("UCAROL", dm, text, thread_ts=notice.ts)
    await run.frontdesk.runtime.idle()
    told: list[Message] = await until(lambda: api.ephemerals[told_before:])
    transcript = await records_of(run.frontdesk).transcript((await the_conversation(run)).id)
    assert text not in [entry.text for entry in transcript]
    return told[0]


async def routed_to_carol(run: Running, receiver: Receiver, api: FakeWebApi) -> tuple[str, Message]:
    """Customer c-1 asks for support and goes to Carol: her DM and the notice in it."""
    await routed(run, receiver)
    dm = api.dm_of("UCAROL")
    return dm, await recorded_notice(api, dm, run.frontdesk.runtime)


async def test_the_assignee_gets_a_notice_accepts_and_answers_from_the_thread(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        dm, notice = await routed_to_carol(run, receiver, api)
        card = shown(notice.blocks)
        assert "Ana Lopez" in card
        assert "support" in card  # the answer the workflow collected
        assert "Hello" in card  # the last messages
        assert set(buttons(notice.blocks)) == {"fd_accept", "fd_reassign", "fd_close"}

        value = buttons(notice.blocks)["fd_accept"]
        status, _ = await slack.press(
            "UCAROL", "fd_accept", value, channel=dm, message_ts=notice.ts
        )
        assert status == 200
        await run.frontdesk.runtime.idle()
        updated = await until(lambda: api.updates and api.message(dm, notice.ts))
        assert "Accepted by Carol" in shown(updated.blocks)
        assert set(buttons(updated.blocks)) == {"fd_reassign", "fd_close"}
        conversation = await the_conversation(run)
        assert conversation.handoff is not None
        assert conversation.handoff.accepted_by == "carol"

        # The customer writes: it shows in the notice's thread.
        await run.say("c-1", "My order #12 is late")
        relayed = await until(lambda: api.in_thread(dm, notice.ts))
        assert "My order #12 is late" in (relayed[0].text or "")

        # Carol answers in the thread: the customer gets it; a note stays in Slack.
        status, _ = await slack.message("UCAROL", dm, "Sorry! It ships today.", thread_ts=notice.ts)
        assert status == 200
        status, _ = await slack.message("UCAROL", dm, "// check the warehouse", thread_ts=notice.ts)
        assert status == 200
        await run.frontdesk.runtime.idle()
        texts = await receiver.wait_for_texts("c-1", 3)
        assert texts[-1] == "Sorry! It ships today."
        # Both were processed (idle): only the reply became a message for the customer; the
        # note is kept in the transcript, marked as one.
        await delivered(run)
        assert not any("warehouse" in text for text in receiver.texts("c-1"))
        conversation = await the_conversation(run)
        transcript = await records_of(run.frontdesk).transcript(conversation.id)
        kept = [(e.text, e.note) for e in transcript if e.author is not None]
        assert kept == [("Sorry! It ships today.", False), ("check the warehouse", True)]

        # Close from the notice.
        status, _ = await slack.press("UCAROL", "fd_close", value, channel=dm, message_ts=notice.ts)
        assert status == 200
        await run.frontdesk.runtime.idle()
        conversation = await the_conversation(run)
        assert conversation.status == ConversationStatus.CLOSED
        await until(lambda: "Closed by Carol" in shown(notice.blocks))
        assert buttons(notice.blocks) == {}


async def test_two_agents_accept_at_once_and_the_first_one_wins(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver, TEAM_NOTICES) as (run, api, slack):
        await routed(run, receiver)
        notice = await handoff_notice(api, "CSUPPORT")
        value = buttons(notice.blocks)["fd_accept"]
        results = await asyncio.gather(
            slack.press("UCAROL", "fd_accept", value, channel="CSUPPORT", message_ts=notice.ts),
            slack.press("UDAVE", "fd_accept", value, channel="CSUPPORT", message_ts=notice.ts),
        )
        assert [status for status, _ in results] == [200, 200]
        await run.frontdesk.runtime.idle()
        conversation = await the_conversation(run)
        assert conversation.handoff is not None
        winner = conversation.handoff.accepted_by
        assert winner in ("carol", "dave")
        assert conversation.assignee == winner
        loser = "UDAVE" if winner == "carol" else "UCAROL"
        [told] = await until(lambda: api.ephemerals)
        assert told.user == loser
        assert "first" in (told.text or "")
        await until(lambda: "Accepted by" in shown(notice.blocks))
        assert f"Accepted by {winner.title()}" in shown(notice.blocks)
        await delivered(run)
        assert len(api.updates) == 1  # the loser's press changed nothing


async def test_reassign_hands_the_conversation_to_the_next_online_agent(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        dm, notice = await routed_to_carol(run, receiver, api)
        value = buttons(notice.blocks)["fd_reassign"]
        accept = buttons(notice.blocks)["fd_accept"]
        await slack.press("UCAROL", "fd_reassign", value, channel=dm, message_ts=notice.ts)
        await run.frontdesk.runtime.idle()
        conversation = await the_conversation(run)
        assert conversation.assignee == "dave"  # Erin is away
        dave_dm = api.dm_of("UDAVE")
        new_notice = await handoff_notice(api, dave_dm)
        assert "reassigned by Carol" in shown(new_notice.blocks)
        await until(lambda: "Reassigned to Dave" in shown(notice.blocks))
        assert buttons(notice.blocks) == {}
        assert "<@UCAROL>" in shown(notice.blocks)  # still the notice Carol got
        assert "<@UDAVE>" not in shown(notice.blocks)

        # The old notice is out of date: Carol pressing Accept on it (a second Slack client
        # still showing it, say) does nothing but tell her.
        await slack.press("UCAROL", "fd_accept", accept, channel=dm, message_ts=notice.ts)
        await run.frontdesk.runtime.idle()
        [told] = await until(lambda: api.ephemerals)
        assert told.user == "UCAROL"
        assert "out of date" in (told.text or "")
        conversation = await the_conversation(run)
        assert conversation.assignee == "dave"

        # Carol answers in her old thread: not sent, and she is told why.
        told_again = await reply_refused(run, api, slack, dm, notice, "Still here!")
        assert "with Dave now" in (told_again.text or "")


async def test_replies_from_others_than_the_assignee_stay_notes(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver, TEAM_NOTICES) as (run, api, slack):
        await routed(run, receiver)
        notice = await recorded_notice(api, "CSUPPORT", run.frontdesk.runtime)
        await slack.message(
            "UDAVE", "CSUPPORT", "I know this one", thread_ts=notice.ts, channel_type="channel"
        )
        await slack.message(
            "UCAROL", "CSUPPORT", "Hi Ana, Carol here", thread_ts=notice.ts, channel_type="channel"
        )
        await run.frontdesk.runtime.idle()
        texts = await receiver.wait_for_texts("c-1", 3)
        assert texts[-1] == "Hi Ana, Carol here"
        assert "I know this one" not in receiver.texts("c-1")


async def test_status_from_slack_decides_who_gets_the_next_conversation(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        status, body = await slack.command("UDAVE", "away")
        assert status == 200
        assert "away" in body
        status, body = await slack.command("UCAROL", "away")
        assert status == 200
        agents = {a.id: a.status for a in await run.frontdesk.store.list_agents()}
        assert agents == {
            "carol": AgentStatus.AWAY,
            "dave": AgentStatus.AWAY,
            "erin": AgentStatus.AWAY,
        }
        # Nobody online: the conversation waits in the team's queue.
        await run.say("c-1", "Hello")
        await run.say("c-1", "support")
        waiting = await the_conversation(run)
        assert waiting.assignee is None
        assert waiting.queued_at is not None

        # Erin comes online from the Home tab: she takes the queue.
        await slack.event({"type": "app_home_opened", "user": "UERIN", "tab": "home"})
        home = await until(lambda: api.views.get("UERIN"))
        assert "fd_status_online" in json.dumps(home)
        await slack.press("UERIN", "fd_status_online", "online", channel="", message_ts="")
        await run.frontdesk.runtime.idle()
        conversation = await until_assigned(run)
        assert conversation.assignee == "erin"
        erin_dm = api.dm_of("UERIN")
        await handoff_notice(api, erin_dm)

        status, body = await slack.command("UERIN", "status")
        assert status == 200
        assert "online" in body
        assert "1 conversation" in body
        status, body = await slack.command("UNOBODY", "online")
        assert "not one of frontdesk's agents" in body


async def test_a_customer_whose_agent_went_away_is_re_routed_with_a_notice_to_both(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        carol_dm, notice = await routed_to_carol(run, receiver, api)
        status, _ = await slack.command("UCAROL", "away")
        assert status == 200

        await run.say("c-1", "Anyone there?")
        conversation = await the_conversation(run)
        assert conversation.assignee == "dave"
        dave_dm = api.dm_of("UDAVE")
        new_notice = await handoff_notice(api, dave_dm)
        assert "re-routed from Carol, who is away" in shown(new_notice.blocks)
        assert "Anyone there?" in shown(new_notice.blocks)  # among the last messages
        old = await until(lambda: "Re-routed to Dave" in shown(notice.blocks) and notice)
        assert buttons(old.blocks) == {}
        await delivered(run)
        assert api.in_thread(carol_dm, notice.ts) == []  # not relayed to Carol any more


async def test_keep_policy_leaves_the_conversation_with_its_away_agent(
    tmp_path: Path, receiver: Receiver
) -> None:
    policy = "desk: {channel: slack, when_agent_away: keep}"
    async with desk(tmp_path, receiver, policy) as (run, api, slack):
        carol_dm, notice = await routed_to_carol(run, receiver, api)
        await slack.command("UCAROL", "away")
        await run.say("c-1", "Anyone there?")
        conversation = await the_conversation(run)
        assert conversation.assignee == "carol"
        relayed = await until(lambda: api.in_thread(carol_dm, notice.ts))
        assert "Anyone there?" in (relayed[0].text or "")


async def test_going_away_offers_to_hand_open_conversations_back_to_the_team(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        _, notice = await routed_to_carol(run, receiver, api)
        status, body = await slack.command("UCAROL", "away")
        assert status == 200
        offer = json.loads(body)
        assert "1 conversation" in offer["text"]
        assert "fd_hand_back" in buttons(offer["blocks"])

        status, _ = await slack.press(
            "UCAROL", "fd_hand_back", "hand_back", channel="D0999", message_ts="1.1"
        )
        assert status == 200
        await run.frontdesk.runtime.idle()
        conversation = await the_conversation(run)
        assert conversation.assignee == "dave"
        dave_dm = api.dm_of("UDAVE")
        await handoff_notice(api, dave_dm)
        await until(lambda: "Handed back by Carol" in shown(notice.blocks))


async def test_agents_go_away_when_their_team_closes_for_the_day(
    tmp_path: Path, receiver: Receiver
) -> None:
    directory = DIRECTORY.replace(
        "desk: {slack: CSUPPORT}}",
        "desk: {slack: CSUPPORT}, schedule: office, away_outside_schedule: true}",
    )
    office = """
schedules:
  office: {timezone: UTC, hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"]}}
desk: {channel: slack}
"""
    async with desk(tmp_path, receiver, office, directory) as (run, _, _):  # Monday 09:00
        await run.advance(60)
        statuses = {a.id: a.status for a in await run.frontdesk.store.list_agents()}
        assert statuses["carol"] == AgentStatus.ONLINE
        await run.advance(8 * 3600)  # 17:01: closed
        for _ in range(100):  # the sweep looks every 30 s of the clock
            await run.advance(31)
            statuses = {a.id: a.status for a in await run.frontdesk.store.list_agents()}
            if set(statuses.values()) == {AgentStatus.AWAY}:  # one sweep sets them in turn
                break
            await asyncio.sleep(0.01)
        assert statuses == {
            "carol": AgentStatus.AWAY,
            "dave": AgentStatus.AWAY,
            "erin": AgentStatus.AWAY,
        }


async def test_assigning_by_hand_sends_the_chosen_agent_a_notice(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, _):
        _, notice = await routed_to_carol(run, receiver, api)
        conversation = await the_conversation(run)
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        url = f"{run.url}/api/conversations/{conversation.id}/assign"

        async with run.session.post(url, json={"agent": "erin"}, headers=auth) as response:
            assert response.status == 200
            assert await response.json() == {"status": "assigned", "assignee": "erin"}
        conversation = await the_conversation(run)
        assert conversation.assignee == "erin"  # away, but a person chose her
        erin_dm = api.dm_of("UERIN")
        erin_notice = await handoff_notice(api, erin_dm)
        assert "assigned by hand" in shown(erin_notice.blocks)
        await until(lambda: "Reassigned to Erin by hand" in shown(notice.blocks))

        for body, status in (({"agent": "zed"}, 404), ({"agent": 3}, 400), ({}, 400)):
            async with run.session.post(url, json=body, headers=auth) as response:
                assert response.status == status
        async with run.session.post(
            f"{run.url}/api/conversations/nope/assign", json={"agent": "erin"}, headers=auth
        ) as response:
            assert response.status == 404
        async with run.session.post(url, json={"agent": "dave"}) as response:
            assert response.status == 401
        await run.frontdesk.runtime.close_conversation(conversation.id)
        async with run.session.post(url, json={"agent": "dave"}, headers=auth) as response:
            assert response.status == 409
        conversation = await the_conversation(run)
        assert conversation.assignee == "erin"


async def test_handing_back_with_nobody_online_puts_the_conversation_in_the_queue(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        await slack.command("UDAVE", "away")
        _, notice = await routed_to_carol(run, receiver, api)
        await slack.command("UCAROL", "away")
        await slack.press("UCAROL", "fd_hand_back", "hand_back", channel="D0999", message_ts="1.1")
        await run.frontdesk.runtime.idle()
        conversation = await the_conversation(run)
        assert conversation.assignee is None
        assert conversation.queued_at is not None
        await until(lambda: "back to the support queue" in shown(notice.blocks))
        assert buttons(notice.blocks) == {}

        # Dave comes back: he takes it from the queue, with a notice of his own.
        await slack.command("UDAVE", "online")
        conversation = await until_assigned(run)
        assert conversation.assignee == "dave"
        dave_notice = await handoff_notice(api, api.dm_of("UDAVE"))
        assert "from the support queue" in shown(dave_notice.blocks)


async def test_what_cannot_be_done_is_told_only_to_whoever_tried(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        dm, notice = await routed_to_carol(run, receiver, api)
        value = buttons(notice.blocks)["fd_accept"]

        # Someone who is not an agent presses Accept.
        await slack.press("USTRANGER", "fd_accept", value, channel=dm, message_ts=notice.ts)
        await run.frontdesk.runtime.idle()
        [told] = await until(lambda: api.ephemerals)
        assert told.user == "USTRANGER"
        assert "Only frontdesk agents" in (told.text or "")

        # Closed meanwhile (through the API): a reply in the thread is not sent.
        conversation = await the_conversation(run)
        await run.frontdesk.runtime.close_conversation(conversation.id)
        await until(lambda: "Closed by an agent" in shown(notice.blocks))
        told_again = await reply_refused(run, api, slack, dm, notice, "Are you still there?")
        assert told_again.user == "UCAROL"
        assert "closed" in (told_again.text or "")


async def test_a_telegram_customer_gets_the_agents_reply_from_slack(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with serving() as api, serving_bot_api() as bot_api:
        config = slack_desk_config(
            tmp_path, receiver.url, api.url, DIRECTORY, channels=telegram_channel(bot_api.url)
        )
        async with running(config) as run:
            slack = SlackClient(run.session, f"{run.url}/slack/events")
            headers = {SECRET_HEADER: SECRET_TOKEN}
            for update in (text_update(1, "Hola"), text_update(2, "Support")):
                async with run.session.post(
                    f"{run.url}/telegram/updates", json=update, headers=headers
                ) as response:
                    assert response.status == 200
                await run.frontdesk.runtime.idle()
            dm = api.dm_of("UCAROL")
            notice = await recorded_notice(api, dm, run.frontdesk.runtime)
            assert "Telegram (telegram)" in shown(notice.blocks)

            # As Slack sends what Carol typed: "Hi! Tom & Jerry <3 see our help page" (a link).
            said = "Hi! Tom &amp; Jerry &lt;3 see <https://example.com/help|our help page>"
            await slack.message("UCAROL", dm, said, thread_ts=notice.ts)
            await run.frontdesk.runtime.idle()
            typed = "Hi! Tom & Jerry <3 see our help page (https://example.com/help)"
            sent = await until(
                lambda: [c for c in bot_api.of("sendMessage") if c.params["text"] == typed]
            )
            assert sent[0].params["chat_id"] == str(CHAT_ID)
