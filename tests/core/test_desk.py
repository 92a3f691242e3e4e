"""The desk's rules, decided on a loaded turn with no store: who may accept, reassign,
reply, hand back or close; what an out-of-date notice does; notes against messages relayed
to the customer; and what the desk is told.

The rules read agents and a team's facts through the transaction; `Directory` stands in
for it (the store's side of an assignment, the same transaction's cursor, is the store
contract suite's to test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from core.addresses import DeskAddresses
from core.agents import AgentStatus
from core.desk import (
    DeskLine,
    DeskRules,
    DeskSettings,
    HandoffRequest,
    desk_messages,
    targets,
    undelivered,
)
from core.desk_actions import DeskActions, accept_overdue, accept_timed_out, unassign_by_hand
from core.keys import ConversationKey
from core.models import (
    Author,
    Conversation,
    ConversationStatus,
    DeskAction,
    DeskActionKind,
    Handoff,
    NoticeKind,
    NoticeTarget,
    Timer,
)
from core.turn import Turn
from tests.core.turns import NOW, Directory, agent, contact, conversation, turn

ON, AWAY, OFF = AgentStatus.ONLINE, AgentStatus.AWAY, AgentStatus.OFFLINE
KEY = ConversationKey("telegram", "42")


def directory(bob: AgentStatus = ON, cat: AgentStatus = ON) -> Directory:
    """Ann, Bob and Cat work in sales, in that order."""
    people = [agent("ann"), agent("bob", bob), agent("cat", cat), agent("dan")]
    return Directory(people, teams={"sales": ["ann", "bob", "cat"]})


def handed(**changes: Any) -> Conversation:
    """A conversation the workflow gave Ann in sales: notice h1, not yet accepted."""
    handoff = Handoff(id="h1", agent_id="ann", at=NOW, accept_within=60, accept_timer="t1")
    values: dict[str, Any] = {"team": "sales", "assignee": "ann", "handoff": handoff}
    return conversation(**(values | changes))


@dataclass
class Desk:
    """A desk on the `slack` channel, its actions, and the closes they asked for."""

    others_in_thread: Literal["note", "relay"] = "note"
    when_agent_away: Literal["reroute", "keep"] = "reroute"
    closed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rules(self) -> DeskRules:
        settings = DeskSettings(
            channel="slack",
            others_in_thread=self.others_in_thread,
            when_agent_away=self.when_agent_away,
        )
        return DeskRules(settings, channel_types={"telegram": "telegram"})

    @property
    def actions(self) -> DeskActions:
        async def nothing(t: Turn) -> None:
            return None

        async def close(t: Turn, by: str, actor: str) -> None:
            self.closed.append((by, actor))

        return DeskActions(desk=self.rules, resume=nothing, carry_on=nothing, close=close)


def loaded(conv: Conversation, people: Directory, **who: Any) -> Turn:
    """The turn as the engine loads it: the assignee, if any, is `turn.agent`."""
    at = turn(conv, contact(name="Lu", **who), directory=people)
    at.agent = people.agents.get(conv.assignee or "")
    return at


def action(kind: DeskActionKind, by: str | None, handoff: str | None = "h1") -> DeskAction:
    return DeskAction(
        kind=kind,
        conversation_id="v1",
        conversation_key=KEY,
        agent_id=by,
        actor=f"U-{by}",
        handoff_id=handoff,
    )


def lines(at: Turn, kind: NoticeKind) -> list[str]:
    return [line.text for line in at.effects.desk_lines if line.kind == kind]


A = DeskActionKind
# (rule, action, by, on notice, conversation, Bob's status,
#  refused with, assignee after, accepted by after, the lines on the notice)
ACTIONS: list[
    tuple[
        str, A, str | None, str | None, Conversation, AgentStatus, str | None, Any, Any, list[str]
    ]
] = [
    (
        "the assignee accepts",
        A.ACCEPT,
        "ann",
        "h1",
        handed(),
        ON,
        None,
        "ann",
        "ann",
        ["Accepted by Ann"],
    ),
    (
        "a teammate accepts from the team's channel and takes it",
        A.ACCEPT,
        "bob",
        "h1",
        handed(),
        ON,
        None,
        "bob",
        "bob",
        ["Accepted by Bob"],
    ),
    (
        "someone frontdesk does not know cannot accept",
        A.ACCEPT,
        None,
        "h1",
        handed(),
        ON,
        "Only frontdesk agents can accept conversations.",
        "ann",
        None,
        [],
    ),
    (
        "the first to accept wins",
        A.ACCEPT,
        "bob",
        "h1",
        handed(handoff=Handoff(id="h1", agent_id="ann", at=NOW, accepted_by="ann")),
        ON,
        "Ann accepted it first.",
        "ann",
        "ann",
        [],
    ),
    (
        "an older notice's button does nothing",
        A.ACCEPT,
        "ann",
        "h0",
        handed(),
        ON,
        "This notice is out of date: the conversation is with Ann now.",
        "ann",
        None,
        [],
    ),
    (
        "a notice of a conversation with no handoff is out of date",
        A.REASSIGN,
        "ann",
        "h1",
        handed(handoff=None, assignee=None),
        ON,
        "This notice is out of date: the conversation is with nobody now.",
        None,
        None,
        [],
    ),
    (
        "nothing is done on a closed conversation",
        A.ACCEPT,
        "ann",
        "h1",
        handed(status=ConversationStatus.CLOSED),
        ON,
        "This conversation is closed already.",
        "ann",
        None,
        [],
    ),
    (
        "reassign goes to the team's next online agent",
        A.REASSIGN,
        "ann",
        "h1",
        handed(),
        ON,
        None,
        "bob",
        None,
        ["Reassigned to Bob by Ann"],
    ),
    (
        "reassign skips who is away",
        A.REASSIGN,
        "ann",
        "h1",
        handed(),
        AWAY,
        None,
        "cat",
        None,
        ["Reassigned to Cat by Ann"],
    ),
    (
        "any agent may reassign",
        A.REASSIGN,
        "dan",
        "h1",
        handed(),
        ON,
        None,
        "bob",
        None,
        ["Reassigned to Bob by Dan"],
    ),
    (
        "reassign needs a team",
        A.REASSIGN,
        "ann",
        "h1",
        handed(team=None),
        ON,
        "This conversation has no team to reassign it within.",
        "ann",
        None,
        [],
    ),
    (
        "hand back to an online teammate",
        A.HAND_BACK,
        "ann",
        None,
        handed(),
        ON,
        None,
        "bob",
        None,
        ["Handed back by Ann, to Bob"],
    ),
    (
        "hand back with nobody online: to the team's queue",
        A.HAND_BACK,
        "ann",
        None,
        handed(),
        OFF,
        None,
        None,
        None,
        ["Unassigned by Ann, back to the sales queue"],
    ),
]


@pytest.mark.parametrize(
    ("kind", "by", "notice", "conv", "bob", "refused", "assignee", "accepted", "outcome"),
    [r[1:] for r in ACTIONS],
    ids=[r[0] for r in ACTIONS],
)
async def test_who_may_do_what_on_the_desk(
    kind: DeskActionKind,
    by: str | None,
    notice: str | None,
    conv: Conversation,
    bob: AgentStatus,
    refused: str | None,
    assignee: str | None,
    accepted: str | None,
    outcome: list[str],
) -> None:
    # Cat is away too when Bob is off, so that nobody else is online.
    people = directory(bob=bob, cat=OFF if bob == OFF else ON)
    at = loaded(conv, people)
    done = await Desk().actions.act(at, action(kind, by, notice), None)
    assert done is at
    assert lines(at, NoticeKind.REFUSED) == ([refused] if refused else [])
    assert conv.assignee == assignee
    assert (conv.handoff.accepted_by if conv.handoff else None) == accepted
    assert lines(at, NoticeKind.OUTCOME) == outcome
    if refused:
        assert at.effects.handoffs == []
        assert at.effects.dropped_timers == []


async def test_nobody_else_to_reassign_to() -> None:
    conv = handed()
    at = loaded(conv, directory(bob=OFF, cat=AWAY))
    await Desk().actions.act(at, action(A.REASSIGN, "ann"), None)
    assert lines(at, NoticeKind.REFUSED) == ["Nobody else in sales is online with room for it."]
    assert conv.assignee == "ann"


async def test_accepting_stops_the_accept_timer_and_records_who_and_when() -> None:
    conv = handed()
    at = loaded(conv, directory())
    await Desk().actions.act(at, action(A.ACCEPT, "ann"), None)
    assert conv.handoff is not None
    assert (conv.handoff.accepted_by, conv.handoff.accepted_at) == ("ann", NOW)
    assert conv.handoff.accept_timer is None
    assert at.effects.dropped_timers == ["t1"]


async def test_a_reassignment_hands_the_next_agent_a_notice_and_frees_the_first() -> None:
    conv = handed()
    at = loaded(conv, directory())
    await Desk().actions.act(at, action(A.REASSIGN, "ann"), None)
    (request,) = at.effects.handoffs
    assert (request.agent.id, request.reason) == ("bob", "reassigned by Ann")
    assert at.effects.freed == ["ann"]


async def test_close_is_handed_to_the_closer_with_who_did_it() -> None:
    desk = Desk()
    await desk.actions.act(loaded(handed(), directory()), action(A.CLOSE, "bob"), None)
    assert desk.closed == [("Bob", "U-bob")]


@pytest.mark.parametrize(
    ("by", "conv"),
    [("bob", handed()), ("ann", handed(assignee="bob")), (None, handed())],
    ids=["by someone else", "after it moved on", "by nobody frontdesk knows"],
)
async def test_a_hand_back_by_whom_it_is_not_with_does_nothing(
    by: str | None, conv: Conversation
) -> None:
    at = loaded(conv, directory())
    assignee = conv.assignee
    assert await Desk().actions.act(at, action(A.HAND_BACK, by, None), None) is None
    assert conv.assignee == assignee


async def test_a_hand_back_to_the_queue_queues_it_for_the_team() -> None:
    conv = handed()
    at = loaded(conv, directory(bob=OFF, cat=OFF))
    await Desk().actions.act(at, action(A.HAND_BACK, "ann", None), None)
    assert (conv.assignee, conv.team, conv.queued_at) == (None, "sales", NOW)
    assert at.effects.freed == ["ann"]


# A message in the notice's thread.
# (rule, by, on notice, text, conversation, others_in_thread,
#  said to the customer, kept as a note, refused with)
REPLIES: list[
    tuple[str, str | None, str, str, Conversation, str, list[str], list[str], str | None]
] = [
    ("the assignee's reply is sent", "ann", "h1", "Hi Lu", handed(), "note", ["Hi Lu"], [], None),
    (
        "a note prefix keeps it among the agents",
        "ann",
        "h1",
        "// check the plan",
        handed(),
        "note",
        [],
        ["check the plan"],
        None,
    ),
    (
        "a teammate's reply is a note by default",
        "bob",
        "h1",
        "I can help",
        handed(),
        "note",
        [],
        ["I can help"],
        None,
    ),
    (
        "a teammate's reply is sent when the desk relays others",
        "bob",
        "h1",
        "I can help",
        handed(),
        "relay",
        ["I can help"],
        [],
        None,
    ),
    (
        "a stranger's reply is a note even when others relay",
        None,
        "h1",
        "hello",
        handed(),
        "relay",
        [],
        ["hello"],
        None,
    ),
    (
        "a teammate's reply on an old notice is refused",
        "bob",
        "h0",
        "I can help",
        handed(),
        "relay",
        [],
        [],
        "This conversation is with Ann now: your message was not sent.",
    ),
    (
        "the assignee's reply on an old notice is still sent",
        "ann",
        "h0",
        "Hi Lu",
        handed(),
        "note",
        ["Hi Lu"],
        [],
        None,
    ),
    (
        "a reply to a closed conversation is refused",
        "ann",
        "h1",
        "Hi Lu",
        handed(status=ConversationStatus.CLOSED),
        "note",
        [],
        [],
        "This conversation is closed: your message was not sent.",
    ),
    (
        "a note on a closed conversation is still kept",
        "ann",
        "h1",
        "//done",
        handed(status=ConversationStatus.CLOSED),
        "note",
        [],
        ["done"],
        None,
    ),
]


@pytest.mark.parametrize(
    ("by", "notice", "text", "conv", "others", "said", "noted", "refused"),
    [r[1:] for r in REPLIES],
    ids=[r[0] for r in REPLIES],
)
async def test_a_message_in_the_thread_is_sent_or_kept_as_a_note(
    by: str | None,
    notice: str,
    text: str,
    conv: Conversation,
    others: Literal["note", "relay"],
    said: list[str],
    noted: list[str],
    refused: str | None,
) -> None:
    at = loaded(conv, directory())
    done = await Desk(others_in_thread=others).actions.act(at, action(A.REPLY, by, notice), text)
    assert done is at
    assert [m.text for m in at.effects.outbound] == said
    for message in at.effects.outbound:
        assert message.author is not None
        assert message.author.id == by
    assert [e.text for e in at.effects.transcript if e.note] == noted
    assert lines(at, NoticeKind.REFUSED) == ([refused] if refused else [])


@pytest.mark.parametrize(
    "text", ["", "   ", "//", "//   "], ids=["empty", "blank", "only the prefix", "prefix, blank"]
)
async def test_an_empty_message_in_the_thread_does_nothing(text: str) -> None:
    at = loaded(handed(), directory())
    assert await Desk().actions.act(at, action(A.REPLY, "ann"), text) is None
    assert at.effects.transcript == []


async def test_without_a_desk_nothing_in_a_thread_is_relayed() -> None:
    async def nothing(t: Turn) -> None:
        return None

    async def close(t: Turn, by: str, actor: str) -> None:
        return None

    actions = DeskActions(desk=None, resume=nothing, carry_on=nothing, close=close)
    at = loaded(handed(), directory())
    assert await actions.act(at, action(A.REPLY, "ann"), "Hi Lu") is None
    assert at.effects.outbound == []


async def test_the_assignees_reply_accepts_the_handoff() -> None:
    conv = handed()
    at = loaded(conv, directory())
    await Desk().actions.act(at, action(A.REPLY, "ann"), "Hi Lu")
    assert conv.handoff is not None
    assert conv.handoff.accepted_by == "ann"
    assert at.effects.dropped_timers == ["t1"]


async def test_a_reply_to_a_customer_who_blocked_the_bot_is_reported_undelivered() -> None:
    at = loaded(handed(), directory(), unreachable_since=NOW)
    await Desk().actions.act(at, action(A.REPLY, "ann"), "Hi Lu")
    assert at.effects.outbound == []  # nothing goes out...
    assert [e.text for e in at.effects.transcript] == ["Hi Lu"]  # ...the transcript keeps it
    (line,) = lines(at, NoticeKind.UNDELIVERED)
    assert line.startswith("Ann's reply did not reach Lu: “Hi Lu” (their platform has refused")


# A customer writes while their agent is not online.
# (rule, Ann's status, when_agent_away, Bob's status, assignee after)
AWAY_CASES: list[tuple[str, AgentStatus, Literal["reroute", "keep"], AgentStatus, str]] = [
    ("an online agent keeps it", ON, "reroute", ON, "ann"),
    ("an away agent's goes to an online teammate", AWAY, "reroute", ON, "bob"),
    ("an offline agent's too", OFF, "reroute", ON, "bob"),
    ("the desk may keep the agent", AWAY, "keep", ON, "ann"),
    ("nobody online: the agent keeps it", AWAY, "reroute", OFF, "ann"),
]


@pytest.mark.parametrize(
    ("ann", "policy", "bob", "assignee"),
    [r[1:] for r in AWAY_CASES],
    ids=[r[0] for r in AWAY_CASES],
)
async def test_a_customer_writing_to_an_absent_agent(
    ann: AgentStatus, policy: Literal["reroute", "keep"], bob: AgentStatus, assignee: str
) -> None:
    people = directory(bob=bob, cat=OFF)
    people.agents["ann"] = agent("ann", ann)
    conv = handed()
    at = loaded(conv, people)
    await Desk(when_agent_away=policy).actions.follow_agent(at)
    assert conv.assignee == assignee
    moved = [f"Re-routed to Bob: Ann is {ann.value}"] if assignee != "ann" else []
    assert lines(at, NoticeKind.OUTCOME) == moved


# (rule, the assignee, the person's choice, notice lines, handoffs made)
BY_HAND: list[tuple[str, str | None, str, list[str], list[str]]] = [
    ("to an unassigned conversation", None, "dan", [], ["dan"]),
    ("from another agent", "ann", "dan", ["Reassigned to Dan by hand"], ["dan"]),
    ("to whom has it already: nothing", "ann", "ann", [], []),
]


@pytest.mark.parametrize(
    ("assignee", "chosen", "outcome", "handoffs"),
    [r[1:] for r in BY_HAND],
    ids=[r[0] for r in BY_HAND],
)
async def test_assigning_by_hand_ignores_status_and_load(
    assignee: str | None, chosen: str, outcome: list[str], handoffs: list[str]
) -> None:
    people = directory()
    people.agents["dan"] = agent("dan", OFF)  # the person decided: status does not matter
    conv = handed(assignee=assignee)
    at = loaded(conv, people)
    await Desk().actions.assign_by_hand(at, people.agents[chosen])
    assert conv.assignee == chosen
    assert lines(at, NoticeKind.OUTCOME) == outcome
    assert [h.agent.id for h in at.effects.handoffs] == handoffs


def test_unassigning_by_hand_keeps_the_team() -> None:
    conv = handed()
    at = loaded(conv, directory())
    unassign_by_hand(at)
    assert (conv.assignee, conv.team, at.agent) == (None, "sales", None)
    assert lines(at, NoticeKind.OUTCOME) == ["Unassigned by hand"]


TIMER = Timer(id="t1", conversation_id="v1", conversation_key=KEY, due_at=NOW, purpose="accept")

# (rule, the conversation, overdue)
OVERDUE: list[tuple[str, Conversation, bool]] = [
    ("the handoff still waits on this timer", handed(), True),
    (
        "another timer",
        handed(handoff=Handoff(id="h1", agent_id="ann", at=NOW, accept_timer="t2")),
        False,
    ),
    (
        "accepted meanwhile",
        handed(
            handoff=Handoff(id="h1", agent_id="ann", at=NOW, accept_timer="t1", accepted_by="ann")
        ),
        False,
    ),
    ("closed meanwhile", handed(status=ConversationStatus.CLOSED), False),
    ("with another agent now", handed(assignee="bob"), False),
    ("with no team", handed(team=None), False),
    ("with no handoff", handed(handoff=None), False),
]


@pytest.mark.parametrize(("conv", "overdue"), [r[1:] for r in OVERDUE], ids=[r[0] for r in OVERDUE])
def test_an_accept_timer_is_overdue_only_while_the_handoff_waits_on_it(
    conv: Conversation, overdue: bool
) -> None:
    assert accept_overdue(conv, TIMER) is overdue


ADDRESSES = DeskAddresses(
    agents={"ann": {"slack": "U-ann"}, "bob": {"other": "x"}},
    teams={"sales": {"slack": "C-sales"}},
)

# (rule, notify, agent, team, targets)
TARGETS: list[tuple[str, Literal["dm", "team", "both"], str, str | None, list[NoticeTarget]]] = [
    ("dm: the agent", "dm", "ann", "sales", [NoticeTarget(kind="user", id="U-ann")]),
    (
        "team: the team's channel",
        "team",
        "ann",
        "sales",
        [NoticeTarget(kind="channel", id="C-sales")],
    ),
    (
        "both: the agent and the team",
        "both",
        "ann",
        "sales",
        [NoticeTarget(kind="user", id="U-ann"), NoticeTarget(kind="channel", id="C-sales")],
    ),
    (
        "team without a place: the agent",
        "team",
        "ann",
        "support",
        [NoticeTarget(kind="user", id="U-ann")],
    ),
    (
        "team without a team: the agent",
        "team",
        "ann",
        None,
        [NoticeTarget(kind="user", id="U-ann")],
    ),
    ("dm to an agent with no address here: nowhere", "dm", "bob", "sales", []),
    (
        "both, agent with no address: the team",
        "both",
        "bob",
        "sales",
        [NoticeTarget(kind="channel", id="C-sales")],
    ),
]


@pytest.mark.parametrize(
    ("notify", "who", "team", "found"), [r[1:] for r in TARGETS], ids=[r[0] for r in TARGETS]
)
def test_where_a_handoff_notice_goes(
    notify: Literal["dm", "team", "both"], who: str, team: str | None, found: list[NoticeTarget]
) -> None:
    rules = DeskRules(DeskSettings(channel="slack", notify=notify), channel_types={})
    assert targets(rules, ADDRESSES, agent(who), team) == found


@pytest.mark.parametrize(
    ("author", "text", "shown"),
    [
        (Author(id="ann", name="Ann"), "Hi", "Ann's reply did not reach Lu: “Hi” (blocked)"),
        (
            Author(id="ann", name="Ann"),
            "x" * 250,
            "Ann's reply did not reach Lu: “" + "x" * 199 + "…” (blocked)",
        ),
    ],
    ids=["by its author", "a long reply is cut"],
)
def test_the_desk_line_of_an_undelivered_reply(
    author: Author | None, text: str, shown: str
) -> None:
    line = undelivered(author, text, "m1", "Lu", "blocked")
    assert (line.kind, line.text, line.message_id) == (
        NoticeKind.UNDELIVERED,
        shown,
        "m1.undelivered",
    )


def _rules(**settings: Any) -> DeskRules:
    return DeskRules(
        DeskSettings(channel="slack", **settings),
        channel_types={"telegram": "telegram"},
        accept_timeouts={"sales": 120},
    )


async def test_a_handoff_posts_a_notice_to_the_agent_with_its_buttons() -> None:
    conv = handed(handoff=None)
    at = loaded(conv, directory())
    at.effects.handoffs.append(HandoffRequest(agent("ann"), "by the workflow", {"plan": "pro"}))
    (message,) = await desk_messages(at, _rules(), ADDRESSES)
    notice = message.notice
    assert notice is not None
    assert (message.channel, message.recipient, message.text) == (
        "slack",
        "ann",
        "New conversation with Lu",
    )
    assert (notice.kind, notice.reason, notice.answers) == (
        NoticeKind.HANDOFF,
        "by the workflow",
        {"plan": "pro"},
    )
    assert notice.actions == [A.ACCEPT, A.REASSIGN, A.CLOSE]
    assert notice.targets == [NoticeTarget(kind="user", id="U-ann")]
    assert conv.handoff is not None
    assert (conv.handoff.id, conv.handoff.agent_id) == (notice.handoff_id, "ann")
    (timer,) = at.effects.timers  # the team's accept timeout
    assert (conv.handoff.accept_within, conv.handoff.accept_timer) == (120, timer.id)
    assert timer.purpose == "accept"


async def test_only_the_last_handoff_of_a_turn_is_posted_and_only_if_it_stands() -> None:
    conv = handed(handoff=None, assignee="bob")
    at = loaded(conv, directory())
    at.effects.handoffs += [
        HandoffRequest(agent("ann"), "first", {}),
        HandoffRequest(agent("bob"), "then", {}),
    ]
    (message,) = await desk_messages(at, _rules(), ADDRESSES)
    assert message.recipient == "bob"
    at = loaded(handed(handoff=None, assignee="cat"), directory())
    at.effects.handoffs.append(HandoffRequest(agent("bob"), "gone since", {}))
    assert await desk_messages(at, _rules(), ADDRESSES) == []


# What the desk hears about the notice already posted (h1, Ann's).
# (rule, the conversation, relayed customer messages, lines, (kind, recipient, actions) sent)
THREAD: list[
    tuple[str, Conversation, list[str], list[DeskLine], list[tuple[NoticeKind, str, list[A]]]]
] = [
    (
        "the customer's message goes to the agent's thread",
        handed(),
        ["hello?"],
        [],
        [(NoticeKind.MESSAGE, "ann", [])],
    ),
    (
        "nothing is relayed to a notice of someone it is no longer with",
        handed(assignee="bob"),
        ["hello?"],
        [],
        [],
    ),
    (
        "an outcome keeps the buttons still possible",
        handed(),
        [],
        [DeskLine(NoticeKind.OUTCOME, "Reminded")],
        [(NoticeKind.OUTCOME, "desk", [A.ACCEPT, A.REASSIGN, A.CLOSE])],
    ),
    (
        "accepted: no Accept button any more",
        handed(handoff=Handoff(id="h1", agent_id="ann", at=NOW, accepted_by="ann")),
        [],
        [DeskLine(NoticeKind.OUTCOME, "Tagged")],
        [(NoticeKind.OUTCOME, "desk", [A.REASSIGN, A.CLOSE])],
    ),
    (
        "closed: no buttons",
        handed(status=ConversationStatus.CLOSED),
        [],
        [DeskLine(NoticeKind.OUTCOME, "Closed by Ann")],
        [(NoticeKind.OUTCOME, "desk", [])],
    ),
    (
        "with someone else: no buttons on the old notice",
        handed(assignee="bob"),
        [],
        [DeskLine(NoticeKind.OUTCOME, "Unassigned")],
        [(NoticeKind.OUTCOME, "desk", [])],
    ),
    (
        "a refusal goes to whoever tried",
        handed(),
        [],
        [DeskLine(NoticeKind.REFUSED, "No.", actor="U-bob")],
        [(NoticeKind.REFUSED, "U-bob", [A.ACCEPT, A.REASSIGN, A.CLOSE])],
    ),
    (
        "a refusal is told even with no notice posted",
        handed(handoff=None),
        [],
        [DeskLine(NoticeKind.REFUSED, "No.", actor="U-bob")],
        [(NoticeKind.REFUSED, "U-bob", [])],
    ),
    (
        "an outcome with no notice posted is not told",
        handed(handoff=None),
        ["hello?"],
        [DeskLine(NoticeKind.OUTCOME, "Unassigned")],
        [],
    ),
]


@pytest.mark.parametrize(
    ("conv", "relayed", "said", "sent"), [r[1:] for r in THREAD], ids=[r[0] for r in THREAD]
)
async def test_what_the_desk_is_told_about_a_posted_notice(
    conv: Conversation,
    relayed: list[str],
    said: list[DeskLine],
    sent: list[tuple[NoticeKind, str, list[A]]],
) -> None:
    at = loaded(conv, directory())
    at.effects.relayed += relayed
    at.effects.desk_lines += said
    messages = await desk_messages(at, _rules(), ADDRESSES)
    found = []
    for message in messages:
        assert message.notice is not None
        found.append((message.notice.kind, message.recipient, message.notice.actions))
    assert found == sent


# (rule, Bob's status, Cat's status, moved to, the line on the notice)
ACCEPT_TIMEOUTS: list[tuple[str, AgentStatus, AgentStatus, str, list[str]]] = [
    (
        "the next online teammate gets it",
        ON,
        ON,
        "bob",
        ["Moved to Bob: Ann did not accept within 60 s"],
    ),
    ("skipping who is away", AWAY, ON, "cat", ["Moved to Cat: Ann did not accept within 60 s"]),
    ("nobody else online: it stays", OFF, AWAY, "ann", []),
]


@pytest.mark.parametrize(
    ("bob", "cat", "assignee", "outcome"),
    [r[1:] for r in ACCEPT_TIMEOUTS],
    ids=[r[0] for r in ACCEPT_TIMEOUTS],
)
async def test_a_handoff_not_accepted_in_time(
    bob: AgentStatus, cat: AgentStatus, assignee: str, outcome: list[str]
) -> None:
    conv = handed()
    at = loaded(conv, directory(bob=bob, cat=cat))
    moved = await accept_timed_out(at)
    assert moved is (assignee != "ann")
    assert conv.assignee == assignee
    assert lines(at, NoticeKind.OUTCOME) == outcome
    # The next agent is given the same time to accept.
    assert [(h.agent.id, h.accept_within) for h in at.effects.handoffs] == (
        [(assignee, 60)] if moved else []
    )
