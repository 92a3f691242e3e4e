"""Each shipped routing template, written by `frontdesk init` and run end to end over the
webhook channel with an injected clock (and a local CRM for the VIP template)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from core import template_library
from core.cli import main
from core.models import Contact
from tests.support.crm import Crm
from tests.support.harness import API_TOKEN, SECRET, Running, records_of, running
from tests.support.receiver import Receiver
from tests.support.waiting import until

MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    monkeypatch.setenv("FRONTDESK_CALLBACK_URL", receiver.url)
    monkeypatch.setenv("FRONTDESK_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("FRONTDESK_API_TOKEN", API_TOKEN)


WEEKDAY = "2026-11-23 10:30"  # a Monday, in the morning shift
WEEKEND = "2026-11-28 11:00"  # a Saturday
WHEN = pytest.mark.parametrize("when", [WEEKDAY, WEEKEND], ids=["weekday", "weekend"])


def template(tmp_path: Path, name: str, workflows: list[str] | None = None) -> Path:
    """The template as `frontdesk init` writes it (optionally with other workflows listed)."""
    result = CliRunner().invoke(main, ["init", str(tmp_path), "--template", name])
    assert result.exit_code == 0, result.output
    config = tmp_path / "frontdesk.yaml"
    if workflows is not None:
        text = config.read_text()
        head = text[: text.index("workflows:\n")]
        config.write_text(head + "workflows:\n" + "".join(f"  - {w}\n" for w in workflows))
    return config


def madrid(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MADRID)


async def placement(fd: Running, contact: str) -> tuple[str | None, str | None]:
    [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", contact)
    return conversation.team, conversation.assignee


def test_every_template_is_listed_and_valid(tmp_path: Path) -> None:
    from core.config import load_config

    names = [name for name, _ in template_library.available()]
    assert names == ["least-open", "round-robin", "route-by-team", "shift-routing", "vip-routing"]
    for name in names:
        config = load_config(template(tmp_path / name, name))
        assert config.workflows


# 1. shift routing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "team", "agent"),
    [
        ("2026-11-23 16:30", "afternoon", "Tomás"),
        ("2026-11-23 09:00", "morning", "Maria"),
        ("2026-11-24 03:00", "night", "Akira"),  # Monday's night shift, after midnight
    ],
)
async def test_shift_routing_weekdays(
    tmp_path: Path, receiver: Receiver, when: str, team: str, agent: str
) -> None:
    async with running(template(tmp_path, "shift-routing"), start=madrid(when)) as fd:
        await fd.say("c", "hi")
        texts = await receiver.wait_for_texts("c", 2)
        assert texts == ["Hi! Thanks for contacting us.", f"{agent} will help you."]
        assert (await placement(fd, "c"))[0] == team


async def agents_away(fd: Running, *names: str) -> None:
    """Wait for the sweep that sets agents away outside their team's schedule."""

    async def away() -> bool:
        statuses = {a.id: a.status.value for a in await fd.frontdesk.store.list_agents()}
        return all(statuses[name] == "away" for name in names)

    assert await until(away)


async def test_shift_routing_weekend_queues_for_the_morning_team(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with running(template(tmp_path, "shift-routing"), start=madrid(WEEKEND)) as fd:
        # Every team is outside its schedule: its agents are set away, Maria included.
        await agents_away(fd, "maria", "tomas", "akira")
        await fd.say("s", "hi")
        assert await receiver.wait_for_texts("s", 2) == [
            "Hi! Thanks for contacting us.",
            "We're away for the weekend; your message is with our morning team.",
        ]
        assert await placement(fd, "s") == ("morning", None)
        [queued] = await fd.frontdesk.store.queued_conversations(["morning"], 9)
        assert queued.team == "morning"
        # Monday: Maria comes online and takes the weekend's queue; the customer hears it.
        fd.clock.set(madrid("2026-11-30 06:00"))
        await fd.set_status("maria", "online")
        assert (await receiver.wait_for_texts("s", 3))[2] == "Good morning! Maria will help you."
        assert await placement(fd, "s") == ("morning", "maria")


async def test_shift_routing_weekday_sets_other_shifts_away(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with running(template(tmp_path, "shift-routing"), start=madrid(WEEKDAY)) as fd:
        await agents_away(fd, "tomas", "akira")
        await fd.say("w", "hi")
        assert await receiver.wait_for_texts("w", 2) == [
            "Hi! Thanks for contacting us.",
            "Maria will help you.",
        ]
        assert await placement(fd, "w") == ("morning", "maria")


async def test_shift_routing_nobody_on_shift(tmp_path: Path, receiver: Receiver) -> None:
    async with running(template(tmp_path, "shift-routing"), start=madrid("2026-11-23 16:30")) as fd:
        await fd.set_status("tomas", "away")
        await fd.say("b", "hi")
        assert (await receiver.wait_for_texts("b", 2))[1] == "You're next in line."
        assert await placement(fd, "b") == ("afternoon", None)


# 2 and 3. round robin and least open ---------------------------------------------------------


@WHEN
async def test_round_robin_skips_agents_not_online(
    tmp_path: Path, receiver: Receiver, when: str
) -> None:
    async with running(template(tmp_path, "round-robin"), start=madrid(when)) as fd:
        for n in range(4):
            await fd.say(f"r{n}", "hi")
        assignees = [(await placement(fd, f"r{n}"))[1] for n in range(4)]
        assert assignees == ["ana", "ben", "ana", "ben"]  # cai is away
        assert (await receiver.wait_for_texts("r0", 2))[1] == "Ana will help you."
        for agent in ("ana", "ben"):
            await fd.set_status(agent, "away")
        await fd.say("r9", "hi")
        assert (await receiver.wait_for_texts("r9", 2))[1].startswith("Everyone is busy")
        assert await placement(fd, "r9") == ("support", None)
        # Cai comes online, takes the queue, and the waiting customer is told.
        await fd.set_status("cai", "online")
        assert (await receiver.wait_for_texts("r9", 3))[2] == "Cai will help you."
        assert await placement(fd, "r9") == ("support", "cai")


@WHEN
async def test_least_open_fills_to_capacity_then_queues(
    tmp_path: Path, receiver: Receiver, when: str
) -> None:
    async with running(template(tmp_path, "least-open"), start=madrid(when)) as fd:
        for n in range(12):
            await fd.say(f"l{n}", "hi")
        assignees = [(await placement(fd, f"l{n}"))[1] for n in range(12)]
        assert assignees.count("ana") == 5
        assert assignees.count("ben") == 5
        assert assignees.count(None) == 2
        assert (await receiver.wait_for_texts("l0", 2))[1] in (
            "Ana will help you.",
            "Ben will help you.",
        )
        assert (await receiver.wait_for_texts("l11", 2))[1].startswith("Everyone is busy")


# 4. route by team function, or by language ---------------------------------------------------


@WHEN
async def test_route_by_team(tmp_path: Path, receiver: Receiver, when: str) -> None:
    async with running(template(tmp_path, "route-by-team"), start=madrid(when)) as fd:
        await fd.say("t", "hi", name="Ana")
        await fd.say("t", "Support")
        texts = await receiver.wait_for_texts("t", 3)
        assert texts[2] == "Thanks! Carol from Support will help you shortly."
        assert await placement(fd, "t") == ("support", "carol")
        # Sales is away: the customer waits in its queue and hears who takes them.
        for agent in ("alice", "bob"):
            await fd.set_status(agent, "away")
        await fd.say("s", "hi")
        await fd.say("s", "1")
        assert (await receiver.wait_for_texts("s", 3))[2].startswith("Our sales team is away")
        await fd.set_status("bob", "online")
        assert (await receiver.wait_for_texts("s", 4))[3] == (
            "Thanks! Bob from Sales will help you shortly."
        )


def test_route_by_team_lists_and_checks_both_of_its_workflows(tmp_path: Path) -> None:
    from core.config import load_config

    config = load_config(template(tmp_path, "route-by-team"))
    assert [w.name for w in config.workflows] == ["route-by-team", "route-by-language"]


@WHEN
async def test_route_by_language(tmp_path: Path, receiver: Receiver, when: str) -> None:
    config = template(tmp_path, "route-by-team", ["workflows/route-by-language.yaml"])
    async with running(config, start=madrid(when)) as fd:
        await fd.say("es", "hola", language="es-ES")
        await fd.say("en", "hello", language="en")
        assert await receiver.wait_for_texts("es", 2) == [
            "¡Hola! Gracias por escribirnos.",
            "Diego te atenderá.",
        ]
        assert await receiver.wait_for_texts("en", 2) == [
            "Hi! Thanks for writing.",
            "Carol will help you.",
        ]


# 5. VIP routing --------------------------------------------------------------------------------


@pytest.fixture
def vip(tmp_path: Path, crm: Crm, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FRONTDESK_CRM_URL", crm.url)
    monkeypatch.setenv("FRONTDESK_CRM_TOKEN", "crm-token")
    crm.types.update({"vip@example.com": "VIP", "reg@example.com": "regular"})
    return template(tmp_path, "vip-routing")


@WHEN
async def test_vip_with_email_goes_to_the_vip_team(
    vip: Path, receiver: Receiver, crm: Crm, when: str
) -> None:
    async with running(vip, start=madrid(when)) as fd:
        await fd.say("v", "hi", email="vip@example.com")
        assert (await receiver.wait_for_texts("v", 2))[1] == "Victoria will help you."
        assert await placement(fd, "v") == ("vip", "victoria")
    assert crm.requests[0]["authorization"] == "Bearer crm-token"


async def test_vip_with_a_dedicated_agent(vip: Path, receiver: Receiver) -> None:
    async with running(vip) as fd:
        # Tagged earlier (by an agent, or an earlier conversation) with their manager.
        async with fd.frontdesk.store.transaction() as tx:
            for n, external_id in enumerate(("d1", "d2")):
                await tx.save_contact(
                    Contact(
                        id=f"k{n}",
                        channel="webhook",
                        external_id=external_id,
                        email="vip@example.com",
                        tags=["manager-victoria"],
                        created_at=fd.clock.now(),
                    )
                )
        await fd.say("warmup", "hi", email="vip@example.com")  # the VIP team's turn: victoria
        await fd.say("d1", "hi")  # the team's turn would be vince; the manager is victoria
        assert await placement(fd, "d1") == (None, "victoria")
        await fd.set_status("victoria", "away")
        await fd.say("d2", "hi")  # the manager is away: the VIP team instead
        assert await placement(fd, "d2") == ("vip", "vince")


@pytest.mark.parametrize(
    ("email", "mode"),
    [("reg@example.com", "normal"), ("who@example.com", "normal"), ("vip@example.com", "down")],
    ids=["regular", "unknown-to-crm", "crm-down"],
)
async def test_everyone_else_goes_to_the_regular_team(
    vip: Path, receiver: Receiver, crm: Crm, email: str, mode: str
) -> None:
    crm.mode = mode
    async with running(vip) as fd:
        await fd.say("r", "hi", email=email)
        assert (await receiver.wait_for_texts("r", 2))[1] == "Rita will help you."
        assert await placement(fd, "r") == ("regular", "rita")


@pytest.mark.parametrize("mode", ["empty", "garbage"], ids=["no-customer-type", "not-json"])
async def test_no_customer_type_in_the_answer_goes_regular(
    vip: Path, receiver: Receiver, crm: Crm, mode: str
) -> None:
    crm.mode = mode
    async with running(vip) as fd:
        await fd.say("g", "hi", email="vip@example.com")
        assert await placement(fd, "g") == ("regular", "rita")


async def test_no_email_asks_for_it_then_looks_up(vip: Path, receiver: Receiver) -> None:
    async with running(vip) as fd:
        await fd.say("a", "hi")
        await fd.say("a", "not an email")
        await fd.say("a", "vip@example.com")
        texts = await receiver.wait_for_texts("a", 5)
        assert texts == [
            "Hi! One moment while we look you up.",
            "What's the email address on your account?",
            "That doesn't look like an email address. Could you check it?",
            "Thanks, vip@example.com it is.",
            "Victoria will help you.",
        ]


@WHEN
async def test_a_fourth_bad_email_goes_to_a_manager_who_keeps_it_open(
    vip: Path, receiver: Receiver, crm: Crm, when: str
) -> None:
    async with running(vip, start=madrid(when)) as fd:
        await fd.say("m", "hi")
        for answer in ("nope", "still nope", "no"):  # three retries
            await fd.say("m", answer)
        texts = await receiver.wait_for_texts("m", 5)
        assert (
            texts[-3:]
            == [
                "That doesn't look like an email address. Could you check it?",
            ]
            * 3
        )
        assert await placement(fd, "m") == (None, None)
        await fd.say("m", "wrong again")  # the fourth
        assert (await receiver.wait_for_texts("m", 6))[5] == "A manager, Mona, will contact you."
        # The conversation stays open with the manager: the next message is hers, and no
        # question starts again.
        await fd.say("m", "hello?")
        await fd.frontdesk.runtime.idle()
        [conversation] = await records_of(fd.frontdesk).conversations_of("webhook", "m")
        assert (conversation.team, conversation.assignee, conversation.status) == (
            "managers",
            "mona",
            "open",
        )
        assert conversation.run is None
        await fd.outbox_when("m", lambda rows: all(r.status == "sent" for r in rows))
        assert len(receiver.texts("m")) == 6
        assert crm.requests == []


async def test_closing_frees_a_slot_for_the_queue(tmp_path: Path, receiver: Receiver) -> None:
    async with running(template(tmp_path, "least-open")) as fd:
        for n in range(12):
            await fd.say(f"l{n}", "hi")
            fd.clock.advance(1)
        [done] = await records_of(fd.frontdesk).conversations_of("webhook", "l0")
        waiting = [c.id for c in await fd.frontdesk.store.queued_conversations(["support"], 9)]
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        url = f"{fd.url}/api/conversations/{done.id}/close"
        async with fd.session.post(url, headers=headers) as response:
            assert response.status == 200
        # The conversation_closed workflow unassigned it and said goodbye...
        assert (await receiver.wait_for_texts("l0", 3))[2] == "Thanks for talking to us!"
        [closed] = await records_of(fd.frontdesk).conversations_of("webhook", "l0")
        assert (closed.status, closed.assignee) == ("closed", None)

        # ...and the agent's free slot went to the longest-waiting conversation.
        async def queue_moved() -> list[str] | None:  # the offer round follows the close
            queue = await fd.frontdesk.store.queued_conversations(["support"], 9)
            return None if [c.id for c in queue] == waiting else [c.id for c in queue]

        assert await until(queue_moved) == [waiting[1]]
        async with fd.session.post(url, headers=headers) as response:
            assert response.status == 409
        async with fd.session.post(
            f"{fd.url}/api/conversations/nope/close", headers=headers
        ) as response:
            assert response.status == 404
        async with fd.session.post(url) as response:
            assert response.status == 401
