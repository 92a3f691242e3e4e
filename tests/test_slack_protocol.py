"""A customer on Slack, and Slack's side of the protocol, end to end over real HTTP.

Slack's requests are signed and posted to frontdesk's `/slack/events` as Slack sends them;
everything frontdesk says goes through the real slack_sdk client to the fake Web API. What
is checked is what someone would see: HTTP statuses, messages at the Web API, store rows.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from core.models import Attachment, Conversation, Direction
from core.ports import OutboxRecord
from tests.adapters.slack.fake_web_api import BOT_ID, BOT_USER_ID, FakeWebApi, Message
from tests.support.harness import Running, records_of
from tests.support.slack import (
    DESK,
    SlackClient,
    SlackDesk,
    buttons,
    event_body,
    handoff_notice,
    message_event,
    shown,
    slack_desk,
)
from tests.support.waiting import until

DIRECTORY = """
agents:
  carol: {name: Carol, status: online, desk: {slack: UCAROL}}
teams:
  support: {agents: [carol], desk: {slack: CSUPPORT}}
"""

CUSTOMER = "UCUST1"
WRITES_FROM = "DCUST1"  # the DM the customer writes in, as Slack names it in the event
UNUSED_CALLBACK = "http://127.0.0.1:9/unused"  # the webhook channel is not used here


def desk(tmp_path: Path, desk_yaml: str = DESK, channel_extra: str = "") -> SlackDesk:
    api = FakeWebApi()
    api.add_user(CUSTOMER, "Ana López", display_name="ana", locale="es-ES")
    return slack_desk(
        tmp_path, UNUSED_CALLBACK, DIRECTORY, desk=desk_yaml, channels=channel_extra, api=api
    )


async def writes(slack: SlackClient, text: str) -> None:
    status, _ = await slack.message(CUSTOMER, WRITES_FROM, text)
    assert status == 200


def to_customer(api: FakeWebApi) -> list[Message]:
    return api.in_channel(api.dm_of(CUSTOMER))


def chat_calls(api: FakeWebApi) -> list[str]:
    return [c.method for c in api.calls if c.method.startswith("chat.")]


async def question_shown(api: FakeWebApi) -> Message:
    messages: list[Message] = await until(lambda: to_customer(api))
    return messages[0]


async def asked(run: Running, api: FakeWebApi, slack: SlackClient) -> Message:
    """The customer writes "hola": the question that starts, once shown to them."""
    await writes(slack, "hola")
    await run.frontdesk.runtime.idle()
    return await question_shown(api)


async def the_conversation(run: Running) -> Conversation:
    [conversation] = await records_of(run.frontdesk).conversations_of("slack", CUSTOMER)
    return conversation


async def settled(run: Running) -> None:
    """Let the events be processed and the outbox go through whatever is due now."""
    await run.frontdesk.runtime.idle()
    await asyncio.sleep(0.2)


async def nothing_stored(run: Running, api: FakeWebApi, *users: str) -> None:
    await settled(run)
    for user in users:
        assert await records_of(run.frontdesk).conversations_of("slack", user) == []
        assert await records_of(run.frontdesk).contact_at("slack", user) is None
    assert chat_calls(api) == []


async def thanked(api: FakeWebApi) -> None:
    await until(lambda: any(m.text == "Carol will help you." for m in to_customer(api)))


# A customer on Slack -------------------------------------------------------------------------


async def test_a_slack_customer_answers_with_a_button_and_is_assigned(tmp_path: Path) -> None:
    async with desk(tmp_path) as (run, api, slack):
        question = await asked(run, api, slack)

        conversation = await the_conversation(run)
        assert conversation.channel == "slack"
        contact = await records_of(run.frontdesk).contact_at("slack", CUSTOMER)
        assert contact is not None
        assert (contact.name, contact.language) == ("Ana López", "es")

        assert "Sales or support?" in (question.text or "")
        assert buttons(question.blocks) == {"fd_option_0": "sales", "fd_option_1": "support"}
        opened = [c.params.get("users") for c in api.of("conversations.open")]
        assert CUSTOMER in opened
        first_open = next(i for i, c in enumerate(api.calls) if c.method == "conversations.open")
        first_post = next(i for i, c in enumerate(api.calls) if c.method == "chat.postMessage")
        assert first_open < first_post

        status, _ = await slack.press(
            CUSTOMER,
            "fd_option_1",
            buttons(question.blocks)["fd_option_1"],
            channel=api.dm_of(CUSTOMER),
            message_ts=question.ts,
            label="Support",
            message_text=question.text or "",
        )
        assert status == 200
        await run.frontdesk.runtime.idle()
        assert (await the_conversation(run)).assignee == "carol"
        await thanked(api)
        # The question keeps its text, shows the choice and can no longer be answered.
        await until(lambda: "✔ Support" in shown(question.blocks))
        assert buttons(question.blocks) == {}
        assert "Sales or support?" in shown(question.blocks)

        notice = await handoff_notice(api, api.dm_of("UCAROL"))
        card = shown(notice.blocks)
        assert "Slack (slack)" in card
        assert "Ana López" in card


async def test_a_slack_customer_answers_by_typing_the_option(tmp_path: Path) -> None:
    async with desk(tmp_path) as (run, api, slack):
        await asked(run, api, slack)
        await writes(slack, "Support")
        await run.frontdesk.runtime.idle()
        conversation = await the_conversation(run)
        assert conversation.assignee == "carol"
        await thanked(api)
        assert [m.text for m in to_customer(api)][1:] == ["Carol will help you."]


# Redeliveries ---------------------------------------------------------------------------------


async def test_a_retried_event_is_processed_once(tmp_path: Path) -> None:
    async with desk(tmp_path) as (run, api, slack):
        first = await slack.message(CUSTOMER, WRITES_FROM, "hola", event_id="EvSAME0001", ts="1.1")
        again = await slack.message(
            CUSTOMER, WRITES_FROM, "hola", event_id="EvSAME0001", ts="1.1", retry=1
        )
        assert (first[0], again[0]) == (200, 200)
        await question_shown(api)
        await settled(run)
        assert len(to_customer(api)) == 1
        assert len(api.of("chat.postMessage")) == 1
        transcript = await records_of(run.frontdesk).transcript((await the_conversation(run)).id)
        assert [e.text for e in transcript if e.direction == Direction.IN] == ["hola"]


async def test_a_repeated_button_press_is_processed_once(tmp_path: Path) -> None:
    async with desk(tmp_path) as (run, api, slack):
        question = await asked(run, api, slack)
        for _ in range(2):
            status, _ = await slack.press(
                CUSTOMER,
                "fd_option_1",
                "support",
                channel=api.dm_of(CUSTOMER),
                message_ts=question.ts,
                action_ts="1700000001.000100",
            )
            assert status == 200
        await run.frontdesk.runtime.idle()
        await thanked(api)
        await settled(run)
        conversation = await the_conversation(run)
        transcript = await records_of(run.frontdesk).transcript(conversation.id)
        answers = [e.option_id for e in transcript if e.direction == Direction.IN]
        assert answers == [None, "support"]  # "hola", then one press
        assert [m.text for m in to_customer(api)].count("Carol will help you.") == 1


# Requests frontdesk refuses -------------------------------------------------------------------


async def test_a_request_signed_with_another_secret_is_refused(tmp_path: Path) -> None:
    async with desk(tmp_path) as (run, api, slack):
        body = event_body(message_event(CUSTOMER, WRITES_FROM, "hola"), "EvFORGED01")
        status, _ = await slack.post(body, "application/json", secret="not-the-signing-secret")
        assert status == 401
        await nothing_stored(run, api, CUSTOMER)


async def test_a_stale_request_is_refused(tmp_path: Path) -> None:
    async with desk(tmp_path) as (run, api, slack):
        body = event_body(message_event(CUSTOMER, WRITES_FROM, "hola"), "EvSTALE001")
        # Slack's five-minute window: https://api.slack.com/authentication/verifying-requests-from-slack
        status, _ = await slack.post(body, "application/json", at=time.time() - 600)
        assert status == 401
        await nothing_stored(run, api, CUSTOMER)


async def test_an_unsigned_request_is_refused(tmp_path: Path) -> None:
    async with desk(tmp_path) as (run, api, slack):
        body = event_body(message_event(CUSTOMER, WRITES_FROM, "hola"), "EvUNSIGNED")
        headers = {"Content-Type": "application/json"}
        async with run.session.post(slack.url, data=body.encode(), headers=headers) as response:
            assert response.status == 401
        await nothing_stored(run, api, CUSTOMER)


async def test_url_verification_echoes_the_challenge(tmp_path: Path) -> None:
    async with desk(tmp_path) as (_run, _api, slack):
        body = json.dumps({"type": "url_verification", "challenge": "abc", "token": "x"})
        status, answer = await slack.post(body, "application/json")
        assert status == 200
        assert json.loads(answer)["challenge"] == "abc"


async def test_a_body_over_the_limit_is_refused(tmp_path: Path) -> None:
    async with desk(tmp_path, channel_extra="    max_body_bytes: 2048\n") as (run, api, slack):
        status, _ = await slack.message(CUSTOMER, WRITES_FROM, "hola " * 1000)
        assert status == 413
        await nothing_stored(run, api, CUSTOMER)


async def test_bot_messages_and_our_own_are_ignored(tmp_path: Path) -> None:
    async with desk(tmp_path) as (run, api, slack):
        results = [
            await slack.message("UOTHERBOT", "DBOT1", "beep", bot_id="B0002"),
            await slack.message("UCUST2", "DCUST2", "posted by a bot", subtype="bot_message"),
            await slack.message(BOT_USER_ID, WRITES_FROM, "Sales or support?"),
            await slack.message(BOT_USER_ID, WRITES_FROM, "our own", bot_id=BOT_ID),
        ]
        assert [status for status, _ in results] == [200, 200, 200, 200]
        await nothing_stored(run, api, "UOTHERBOT", "UCUST2", BOT_USER_ID)


async def test_an_edit_is_ignored_and_a_file_with_a_comment_is_a_message(tmp_path: Path) -> None:
    async with desk(tmp_path) as (run, api, slack):
        edited = {"type": "message", "text": "hola!", "user": CUSTOMER}
        status, _ = await slack.message(
            CUSTOMER, WRITES_FROM, "", subtype="message_changed", message=edited
        )
        assert status == 200
        await nothing_stored(run, api, CUSTOMER)

        status, _ = await slack.message(
            CUSTOMER,
            WRITES_FROM,
            "my invoice",
            subtype="file_share",
            files=[{"id": "F01", "name": "invoice.pdf", "url_private": "https://files/F01"}],
        )
        assert status == 200
        await run.frontdesk.runtime.idle()
        conversation = await the_conversation(run)
        transcript = await records_of(run.frontdesk).transcript(conversation.id)
        assert transcript[0].text == "my invoice"
        assert transcript[0].attachment == Attachment(
            kind="file", file_id="F01", url="https://files/F01", name="invoice.pdf"
        )
        await question_shown(api)


async def test_an_event_nobody_listens_to_is_answered(tmp_path: Path) -> None:
    async with desk(tmp_path) as (run, api, slack):
        status, _ = await slack.event(
            {
                "type": "reaction_added",
                "user": CUSTOMER,
                "reaction": "thumbsup",
                "item": {"type": "message", "channel": WRITES_FROM, "ts": "1.1"},
                "item_user": BOT_USER_ID,
                "event_ts": "1.2",
            }
        )
        assert status == 200
        await nothing_stored(run, api, CUSTOMER)


# Slack's refusals of what frontdesk sends -----------------------------------------------------


async def test_a_rate_limited_question_goes_out_once_after_retry_after(tmp_path: Path) -> None:
    async with desk(tmp_path) as (run, api, slack):
        api.rate_limit_next("chat.postMessage", retry_after=3)
        started = time.monotonic()
        await writes(slack, "hola")
        await run.frontdesk.runtime.idle()
        rows = await run.outbox_when(CUSTOMER, lambda rows: rows[0].attempts == 1, "slack")
        assert rows[0].status == "pending"
        assert "ratelimited" in (rows[0].last_error or "")
        await settled(run)
        assert len(api.of("chat.postMessage")) == 1  # the 429 only
        assert to_customer(api) == []

        await run.advance(2)
        await settled(run)
        assert to_customer(api) == []

        await run.advance(1)
        question = await question_shown(api)
        assert "Sales or support?" in (question.text or "")
        await settled(run)
        assert len(api.of("chat.postMessage")) == 2
        assert len(to_customer(api)) == 1
        rows = await run.outbox_when(CUSTOMER, lambda rows: rows[0].status == "sent", "slack")
        assert rows[0].attempts == 2
        # Waited on the manual clock, not slept: the whole thing took well under 3 s.
        assert time.monotonic() - started < 3


async def test_a_missing_team_channel_fails_the_notice_once_and_the_customer_is_served(
    tmp_path: Path,
) -> None:
    async with desk(tmp_path, "desk: {channel: slack, notify: team}") as (run, api, slack):
        api.fail_channel("CSUPPORT", "channel_not_found")
        await asked(run, api, slack)
        await writes(slack, "Support")
        await run.frontdesk.runtime.idle()
        await thanked(api)

        def notice_failed(rows: list[OutboxRecord]) -> bool:
            return any(r.status == "failed" for r in rows)

        rows = await run.outbox_when(CUSTOMER, notice_failed, "slack")
        [failed] = [r for r in rows if r.status == "failed"]
        assert "channel_not_found" in (failed.last_error or "")
        assert failed.attempts == 1

        for _ in range(5):
            await run.advance(60)
        await settled(run)
        rows = await run.outbox_when(CUSTOMER, lambda rows: True, "slack")
        [still] = [r for r in rows if r.message_id == failed.message_id]
        assert (still.status, still.attempts) == ("failed", 1)
        to_team = [c for c in api.of("chat.postMessage") if c.params.get("channel") == "CSUPPORT"]
        assert len(to_team) == 1
        assert [m.text for m in to_customer(api)][1:] == ["Carol will help you."]
        assert all(r.status == "sent" for r in rows if r.message_id != failed.message_id)
