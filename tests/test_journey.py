"""End to end over real HTTP: a customer's journey through the route-by-team workflow."""

from __future__ import annotations

from pathlib import Path

from tests.support.harness import event, records_of, running, write_config
from tests.support.receiver import Receiver

QUESTION = "Which team would you like to talk to?"


async def test_route_by_team_journey(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    async with running(config) as fd:
        await fd.say("c-1", "Hello", name="Ana", language="es")
        texts = await receiver.wait_for_texts("c-1", 2)
        assert texts == ["Hi Ana! Welcome to Example Co.", QUESTION]
        question = receiver.messages[1]
        assert question["options"] == [
            {"id": "sales", "label": "Sales"},
            {"id": "support", "label": "Support"},
        ]

        await fd.say("c-1", option="sales")
        texts = await receiver.wait_for_texts("c-1", 3)
        assert texts[2] == "Thanks! Alice from Sales will help you shortly."

        store = records_of(fd.frontdesk)
        [conversation] = await store.conversations_of("webhook", "c-1")
        assert (conversation.team, conversation.assignee) == ("sales", "alice")
        assert conversation.status == "open"
        assert conversation.run is None
        contact = await store.contact_at("webhook", "c-1")
        assert contact is not None
        assert (contact.name, contact.language) == ("Ana", "es")
        transcript = await store.transcript(conversation.id)
        assert [(e.direction, e.text or e.option_id) for e in transcript] == [
            ("in", "Hello"),
            ("out", "Hi Ana! Welcome to Example Co."),
            ("out", QUESTION),
            ("in", "sales"),
            ("out", "Thanks! Alice from Sales will help you shortly."),
        ]
        outbox = await fd.outbox_when(
            "c-1", lambda rows: len(rows) == 3 and rows[2].status != "pending"
        )
        assert [o.status for o in outbox] == ["sent"] * 3
        assert {o.message_id for o in outbox} == {m["message_id"] for m in receiver.messages}


async def test_answers_by_number_label_and_accents(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    async with running(config) as fd:
        for contact, answer, team in [
            ("n", "2", "support"),
            ("l", "  SÁLES ", "sales"),
            ("i", "support", "support"),
        ]:
            await fd.say(contact, "hi")
            await fd.say(contact, answer)
            [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", contact)
            assert conversation.team == team, contact


async def test_invalid_answer_retries_then_takes_failure_steps(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    async with running(config) as fd:
        await fd.say("c-2", "hi")
        await fd.say("c-2", "marketing")
        await fd.say("c-2", "7")
        texts = await receiver.wait_for_texts("c-2", 4)
        retry = "Please pick Sales or Support (you can type 1 or 2)."
        assert texts[2:] == [retry, retry]
        assert receiver.messages[3]["options"][0]["id"] == "sales"  # the buttons come again
        await fd.say("c-2", "no idea")
        texts = await receiver.wait_for_texts("c-2", 6)
        assert texts[4] == "No problem, our support team will pick this up."
        assert texts[5] == "Thanks! Carol from Support will help you shortly."
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "c-2")
        assert (conversation.team, conversation.assignee) == ("support", "carol")


async def test_round_robin_takes_turns_and_skips_agents_not_online(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    async with running(config) as fd:
        assignees = []
        for n in range(4):
            await fd.say(f"s{n}", "hi")
            await fd.say(f"s{n}", "support")
            [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", f"s{n}")
            assignees.append(conversation.assignee)
        assert assignees == ["carol"] * 4  # dave is away
        for n in range(4):
            await fd.say(f"t{n}", "hi")
            await fd.say(f"t{n}", "sales")
            [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", f"t{n}")
            assignees.append(conversation.assignee)
        assert assignees[4:] == ["alice", "bob", "alice", "bob"]


async def test_nobody_online_gets_the_away_message(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    directory = """
    agents:
      alice: {status: offline}
      carol: {status: away}
    teams:
      sales: {agents: [alice]}
      support: {agents: [carol]}
    """
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team}, directory)
    async with running(config) as fd:
        await fd.say("c-3", "hi")
        await fd.say("c-3", "1")
        texts = await receiver.wait_for_texts("c-3", 3)
        assert texts[2].startswith("Our sales team is away right now")
        await fd.frontdesk.runtime.idle()
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "c-3")
        assert (conversation.team, conversation.assignee) == ("sales", None)


async def test_same_event_twice_is_processed_once(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    async with running(config) as fd:
        first = event("c-4", "hello")
        assert await fd.post(first) == (200, {"status": "accepted"})
        assert await fd.post(first) == (200, {"status": "duplicate"})
        await fd.frontdesk.runtime.idle()
        await receiver.wait_for_texts("c-4", 2)
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "c-4")
        transcript = await records_of(fd.frontdesk).transcript(conversation.id)
        assert [e.direction for e in transcript] == ["in", "out", "out"]


async def test_bad_requests_change_nothing(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    async with running(config) as fd:
        assert (await fd.post(event("c-5", "hi"), secret="wrong-secret-0123456789"))[0] == 401
        assert (await fd.post(b"{not json"))[0] == 400
        status, body = await fd.post({"event_id": "e", "contact": {"id": "c-5"}, "message": {}})
        assert status == 400
        assert "message" in body["error"]
        big = event("c-5", "x" * 70_000)
        assert (await fd.post(big))[0] == 413
        assert await records_of(fd.frontdesk).conversations_of("webhook", "c-5") == []
        assert await records_of(fd.frontdesk).contact_at("webhook", "c-5") is None
        assert await fd.frontdesk.store.pending_inbound(10) == []
