"""What agents and customers read when words cross Slack: Slack's markup read as its writer saw
it, an agent's reply kept under their name, a reply that did not reach the customer told in
its thread, and a reply written before frontdesk recorded its notice.

A webhook customer (the receiver on 127.0.0.1) or a Slack customer talks to a served
frontdesk; Slack is the fake Web API, and Slack's events are signed requests to
`/slack/events`.
"""

from __future__ import annotations

from pathlib import Path

from adapters.slack.markup import decode
from core.models import Author, Conversation, Direction
from tests.adapters.slack.fake_web_api import BOT_USER_ID, FakeWebApi, Message
from tests.support.harness import API_TOKEN, Running, records_of
from tests.support.receiver import Receiver
from tests.support.slack import (
    SlackClient,
    SlackDesk,
    handoff_notice,
    recorded_notice,
    shown,
    slack_desk,
)
from tests.support.waiting import until

DIRECTORY = """
agents:
  carol: {name: Carol, status: online, desk: {slack: UCAROL}}
  dave: {name: Dave, status: away, desk: {slack: UDAVE}}
teams:
  support: {agents: [carol, dave]}
"""
# What Carol types in Slack, and what Slack sends frontdesk of it.
TYPED = "Tom & Jerry <3 see our help page (https://example.com/help), or ask @Dave"
SENT = "Tom &amp; Jerry &lt;3 see <https://example.com/help|our help page>, or ask <@UDAVE>"


def desk(tmp_path: Path, receiver: Receiver, workflows: dict[str, str] | None = None) -> SlackDesk:
    api = FakeWebApi()
    api.add_user("UDAVE", "Dave Ng", display_name="Dave")
    return slack_desk(tmp_path, receiver.url, DIRECTORY, workflows=workflows, api=api)


async def routed_to_carol(run: Running, receiver: Receiver, api: FakeWebApi) -> tuple[str, Message]:
    """Webhook customer c-1 (Ana Lopez) asks for support and goes to Carol: her DM with the
    bot and the handoff notice in it."""
    await run.say("c-1", "Hello", name="Ana Lopez")
    await run.say("c-1", "support")
    await receiver.wait_for_texts("c-1", 2)
    dm = api.dm_of("UCAROL")
    return dm, await recorded_notice(api, dm, run.frontdesk.runtime)


async def the_conversation(
    run: Running, channel: str = "webhook", contact: str = "c-1"
) -> Conversation:
    [conversation] = await records_of(run.frontdesk).conversations_of(channel, contact)
    return conversation


async def carol_replies(
    run: Running, slack: SlackClient, dm: str, notice: Message, text: str = SENT
) -> None:
    status, _ = await slack.message("UCAROL", dm, text, thread_ts=notice.ts)
    assert status == 200
    await run.frontdesk.runtime.idle()


def warnings(api: FakeWebApi, dm: str, notice: Message) -> list[str]:
    """The notes in the notice's thread about replies that did not reach the customer."""
    return [m.text or "" for m in api.in_thread(dm, notice.ts) if ":warning:" in (m.text or "")]


# Slack's markup, read ----------------------------------------------------------------------


async def test_an_agents_reply_reaches_the_customer_as_typed_and_is_kept_under_their_name(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        dm, notice = await routed_to_carol(run, receiver, api)
        await carol_replies(run, slack, dm, notice)

        texts = await receiver.wait_for_texts("c-1", 3)
        assert texts[-1] == TYPED

        transcript = await records_of(run.frontdesk).transcript((await the_conversation(run)).id)
        reply = transcript[-1]
        assert (reply.direction, reply.text) == (Direction.OUT, TYPED)
        assert reply.author == Author(id="carol", name="Carol")
        assert all(entry.author is None for entry in transcript[:-1])  # the workflow's own

        # The notice, updated as Carol's reply accepted it, lists the reply under her name,
        # escaped once: Slack shows it as she typed it.
        await until(lambda: "Accepted by Carol" in shown(notice.blocks))
        card = shown(notice.blocks)
        assert "*Carol*: Tom &amp; Jerry &lt;3 see our help page" in card
        assert "&amp;amp;" not in card
        assert "*frontdesk*: Tom" not in card
        assert "*frontdesk*: Sales or support?" in card


async def test_the_conversations_api_names_who_wrote_a_reply(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        dm, notice = await routed_to_carol(run, receiver, api)
        await carol_replies(run, slack, dm, notice, "On it")
        conversation = await the_conversation(run)
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with run.session.get(
            f"{run.url}/api/conversations/{conversation.id}", headers=headers
        ) as response:
            assert response.status == 200
            shown_entries = (await response.json())["transcript"]
        assert shown_entries[-1]["text"] == "On it"
        assert shown_entries[-1]["author"] == {"kind": "agent", "id": "carol", "name": "Carol"}
        assert shown_entries[0]["author"] is None


# A customer on Slack answers every kind of question ------------------------------------------

EVERY_QUESTION = """
name: profile
trigger: conversation_opened
steps:
  - {id: company, type: ask_question, text: "Company?", save_to: vars.company}
  - id: plan
    type: ask_question
    text: "Plan?"
    answer: multiple_choice
    options: [{id: vip, label: "VIP & Co"}, {id: basic, label: Basic}]
    save_to: vars.plan
  - {id: email, type: ask_question, text: "Email?", answer: email, max_attempts: 1,
     on_failure: [{id: no_email, type: send_message, text: "Email refused."}]}
  - {id: phone, type: ask_question, text: "Phone?", answer: phone, max_attempts: 1,
     on_failure: [{id: no_phone, type: send_message, text: "Phone refused."}]}
  - {id: seats, type: ask_question, text: "Seats?", answer: number, save_to: vars.seats}
  - {id: start, type: ask_question, text: "Start?", answer: date, date_format: "%d/%m/%Y",
     save_to: contact.fields.start}
  - id: sum
    type: send_message
    text: "{{ vars.company }}|{{ vars.plan }}|{{ contact.email }}|{{ contact.phone }}|{{
      vars.seats }}|{{ contact.fields.start }}"
"""

# Each answer as Slack sends it: entities escaped, an email and a phone number linked.
SLACK_ANSWERS = [
    "Tom &amp; Jerry &lt;Ltd&gt;",
    "VIP &amp; Co",
    "<mailto:gus@example.com|gus@example.com>",
    "<tel:+34612345678|+34 612 345 678>",
    "12",
    "24/12/2026",
]


async def test_a_slack_customer_answers_every_kind_of_question_in_slacks_markup(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver, {"profile": EVERY_QUESTION}) as (run, api, slack):
        api.add_user("UGUS", "Gus Ortiz")
        dm = api.dm_of("UGUS")

        async def shown_to_gus() -> list[str]:
            return [decode(m.text or "") for m in api.in_channel(dm)]

        for count, answer in enumerate(["hi", *SLACK_ANSWERS], start=1):
            status, _ = await slack.message("UGUS", "DGUS", answer)
            assert status == 200
            await run.frontdesk.runtime.idle()
            await until(lambda: len(api.in_channel(dm)) >= count)  # noqa: B023 (awaited here)

        said = await shown_to_gus()
        assert said == [
            "Company?",
            "Plan?",
            "Email?",
            "Phone?",
            "Seats?",
            "Start?",
            "Tom & Jerry <Ltd>|vip|gus@example.com|+34612345678|12|2026-12-24",
        ]
        contact = await records_of(run.frontdesk).contact_at("slack", "UGUS")
        assert contact is not None
        assert (contact.email, contact.phone, contact.fields) == (
            "gus@example.com",
            "+34612345678",
            {"start": "2026-12-24"},
        )
        transcript = await records_of(run.frontdesk).transcript(
            (await the_conversation(run, "slack", "UGUS")).id
        )
        answers = [e for e in transcript if e.direction == Direction.IN]
        assert [e.text for e in answers][1:3] == ["Tom & Jerry <Ltd>", "VIP & Co"]
        assert answers[2].option_id == "vip"


# A reply that did not reach the customer -------------------------------------------------------


async def test_a_reply_the_customers_system_refuses_is_told_in_the_thread_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        dm, notice = await routed_to_carol(run, receiver, api)
        receiver.script = [403, 400]
        await carol_replies(run, slack, dm, notice, "Tom &amp; Jerry")
        await carol_replies(run, slack, dm, notice, "Second try")

        told = await until(
            lambda: len(warnings(api, dm, notice)) == 2 and warnings(api, dm, notice)
        )
        assert "Carol's reply did not reach Ana Lopez" in told[0]
        assert "“Tom &amp; Jerry”" in told[0]  # escaped once: shown as she typed it
        assert "HTTP 403" in told[0]
        assert "“Second try”" in told[1]
        assert "HTTP 400" in told[1]
        rows = await run.outbox_when("c-1", lambda rows: all(r.status != "pending" for r in rows))
        assert [r.status for r in rows].count("failed") == 2
        assert receiver.texts("c-1")[2:] == []
        assert len(warnings(api, dm, notice)) == 2  # each told once


async def test_a_reply_whose_retries_run_out_is_told_in_the_thread(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        dm, notice = await routed_to_carol(run, receiver, api)
        receiver.script = [503] * 5  # the harness's outbox makes five attempts
        await carol_replies(run, slack, dm, notice, "Back soon")
        for made in range(1, 5):
            # Once the attempt is recorded (its retry is due after it), the clock moves on.
            await run.outbox_when(
                "c-1",
                lambda rows: any(
                    "503" in (r.last_error or "") and r.attempts >= made  # noqa: B023
                    for r in rows
                ),
            )
            await run.advance(60)
        [told] = await until(lambda: warnings(api, dm, notice))
        assert "“Back soon”" in told
        assert "HTTP 503" in told
        assert len(receiver.attempts) == 2 + 5
        assert receiver.texts("c-1")[2:] == []


async def test_replies_to_a_slack_customer_who_left_are_told_in_the_thread(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        api.add_user("UGUS", "Gus Ortiz")
        gus = api.dm_of("UGUS")
        for text in ("hi", "Support"):
            status, _ = await slack.message("UGUS", "DGUS", text)
            assert status == 200
            await run.frontdesk.runtime.idle()
        dm = api.dm_of("UCAROL")
        notice = await recorded_notice(api, dm, run.frontdesk.runtime)
        await until(lambda: any(m.text == "Carol will help you." for m in api.in_channel(gus)))

        api.fail_channel(gus, "account_inactive")  # Gus's account was deactivated
        await carol_replies(run, slack, dm, notice, "First")
        await until(lambda: warnings(api, dm, notice))

        async def unreachable() -> bool:
            contact = await records_of(run.frontdesk).contact_at("slack", "UGUS")
            return contact is not None and contact.unreachable_since is not None

        await until(unreachable)
        tried = len(api.of("chat.postMessage"))
        await carol_replies(run, slack, dm, notice, "Second")  # not even tried: told at once
        told = await until(
            lambda: len(warnings(api, dm, notice)) == 2 and warnings(api, dm, notice)
        )
        assert "Carol's reply did not reach Gus Ortiz: “First” (slack: account_inactive)" in told[0]
        assert "“Second”" in told[1]
        assert "refused messages since" in told[1]
        posts = [c.params.get("channel") for c in api.of("chat.postMessage")[tried:]]
        assert gus not in posts


async def test_a_workflow_message_that_fails_tells_the_desk_nothing(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, _slack):
        await run.say("c-1", "Hello", name="Ana Lopez")
        await receiver.wait_for_texts("c-1", 1)
        receiver.script = [403]  # "Carol will help you." is refused
        await run.say("c-1", "support")
        dm = api.dm_of("UCAROL")
        notice = await handoff_notice(api, dm)
        rows = await run.outbox_when("c-1", lambda rows: all(r.status != "pending" for r in rows))
        assert [r.status for r in rows].count("failed") == 1
        await run.frontdesk.runtime.idle()
        assert api.in_thread(dm, notice.ts) == []


# A reply written before its notice was recorded -------------------------------------------------


async def test_a_reply_before_the_notice_is_recorded_is_relayed_when_slack_sends_it_again(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        # The notice is in Slack, but frontdesk has not heard back yet: it has no thread.
        answered = api.hold("chat.postMessage")
        await run.say("c-1", "Hello", name="Ana Lopez")
        await run.say("c-1", "support")
        dm = api.dm_of("UCAROL")
        notice = await handoff_notice(api, dm)

        async def reply(retry: int | None = None) -> tuple[int, str]:
            return await slack.message(
                "UCAROL",
                dm,
                "Hi Ana!",
                thread_ts=notice.ts,
                parent_user_id=BOT_USER_ID,
                event_id="EvRACE1",
                retry=retry,
            )

        status, body = await reply()
        assert status == 503
        assert "not a recorded notice" in body
        await run.frontdesk.runtime.idle()
        transcript = await records_of(run.frontdesk).transcript((await the_conversation(run)).id)
        assert "Hi Ana!" not in [e.text for e in transcript]

        answered.set()
        await until(lambda: run.frontdesk.store.thread_at("slack", dm, notice.ts))
        status, _ = await reply(retry=1)
        assert status == 200
        await run.frontdesk.runtime.idle()
        texts = await receiver.wait_for_texts("c-1", 3)
        assert texts[-1] == "Hi Ana!"
        assert api.ephemerals == []


async def test_a_reply_in_a_thread_never_recorded_is_told_to_its_writer_after_slacks_last_try(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with desk(tmp_path, receiver) as (run, api, slack):
        dm, _notice = await routed_to_carol(run, receiver, api)
        unknown = "1600000000.000100"  # one of the bot's posts, but no notice frontdesk keeps

        async def reply(retry: int | None) -> int:
            status, _ = await slack.message(
                "UCAROL",
                dm,
                "Anyone?",
                thread_ts=unknown,
                parent_user_id=BOT_USER_ID,
                event_id="EvLOST1",
                retry=retry,
            )
            return status

        assert [await reply(retry) for retry in (None, 1, 2, 3)] == [503, 503, 503, 200]
        [told] = await until(lambda: api.ephemerals)
        assert (told.user, told.channel, told.thread_ts) == ("UCAROL", dm, unknown)
        assert "not sent" in (told.text or "")
        await run.frontdesk.runtime.idle()
        transcript = await records_of(run.frontdesk).transcript((await the_conversation(run)).id)
        assert "Anyone?" not in [e.text for e in transcript]

        # In a thread of someone else's message, an agent just talks: nobody is told.
        status, _ = await slack.message(
            "UCAROL", dm, "chat", thread_ts=unknown, parent_user_id="UDAVE", retry=None
        )
        assert status == 200
        assert len(api.ephemerals) == 1
