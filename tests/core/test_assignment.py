"""Who gets a conversation, decided on plain facts (no store)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import pytest

from core.agents import Agent, AgentStatus
from core.assignment import (
    AgentFacts,
    Holders,
    Rules,
    TeamFacts,
    can_take,
    check_directory,
    choose_agent,
    holder,
)
from core.models import Conversation, ConversationStatus

ON, AWAY, OFF = AgentStatus.ONLINE, AgentStatus.AWAY, AgentStatus.OFFLINE


def member(
    agent_id: str, open_count: int = 0, status: AgentStatus = ON, capacity: int | None = None
) -> AgentFacts:
    return AgentFacts(
        Agent(id=agent_id, name=agent_id, status=status, capacity=capacity), open_count
    )


def team(*members: AgentFacts, cursor: str | None = None) -> TeamFacts:
    return TeamFacts(members, cursor)


CASES = [
    # (what, team, rules, chosen)
    ("round robin starts at the top", team(member("ann"), member("bob")), Rules(), "ann"),
    (
        "round robin takes the one after the cursor",
        team(member("ann"), member("bob"), member("cat"), cursor="ann"),
        Rules(),
        "bob",
    ),
    (
        "round robin wraps after the last member",
        team(member("ann"), member("bob"), member("cat"), cursor="cat"),
        Rules(),
        "ann",
    ),
    (
        "a cursor on someone who left starts from the top",
        team(member("ann"), member("bob"), cursor="zed"),
        Rules(),
        "ann",
    ),
    (
        "round robin skips who is not online",
        team(member("ann", status=AWAY), member("bob", status=OFF), member("cat")),
        Rules(),
        "cat",
    ),
    (
        "round robin ignores the load",
        team(member("ann", 9), member("bob", 0), cursor="cat"),
        Rules(),
        "ann",
    ),
    (
        "offline agents count when only_online is false",
        team(member("ann", status=OFF), member("bob"), cursor="bob"),
        Rules(only_online=False),
        "ann",
    ),
    (
        "least open takes the least busy",
        team(member("ann", 3), member("bob", 1), member("cat", 2)),
        Rules("least_open"),
        "bob",
    ),
    (
        "least open ties go to the next in turn",
        team(member("ann", 1), member("bob", 1), member("cat", 1), cursor="ann"),
        Rules("least_open"),
        "bob",
    ),
    (
        "least open ties wrap in turn",
        team(member("ann", 0), member("bob", 2), member("cat", 0), cursor="cat"),
        Rules("least_open"),
        "ann",
    ),
    (
        "least open leaves out who is not online, however idle",
        team(member("ann", 0, status=AWAY), member("bob", 4)),
        Rules("least_open"),
        "bob",
    ),
    (
        "capacity leaves out who is full",
        team(member("ann", 2, capacity=2), member("bob", 5)),
        Rules(),
        "bob",
    ),
    (
        "below capacity is eligible",
        team(member("ann", 1, capacity=2), member("bob")),
        Rules(),
        "ann",
    ),
    (
        "max_open leaves out who has that many open",
        team(member("ann", 1), member("bob", 0)),
        Rules(max_open=1),
        "bob",
    ),
    (
        "the lower of capacity and max_open applies (capacity lower)",
        team(member("ann", 1, capacity=1), member("bob", 1, capacity=3)),
        Rules(max_open=2),
        "bob",
    ),
    (
        "the lower of capacity and max_open applies (max_open lower)",
        team(member("ann", 2, capacity=5), member("bob", 1, capacity=5)),
        Rules(max_open=2),
        "bob",
    ),
    (
        "an excluded agent is passed over",
        team(member("ann"), member("bob"), cursor="bob"),
        Rules(exclude=frozenset({"ann"})),
        "bob",
    ),
    (
        "an excluded agent is passed over by least open too",
        team(member("ann", 0), member("bob", 3)),
        Rules("least_open", exclude=frozenset({"ann"})),
        "bob",
    ),
    ("nobody in the team", team(), Rules(), None),
    (
        "nobody online",
        team(member("ann", status=AWAY), member("bob", status=OFF)),
        Rules(),
        None,
    ),
    (
        "everyone full or excluded",
        team(member("ann", 1, capacity=1), member("bob", 2), member("cat")),
        Rules(max_open=2, exclude=frozenset({"cat"})),
        None,
    ),
]


@pytest.mark.parametrize(
    ("team_facts", "rules", "chosen"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_choose_agent(team_facts: TeamFacts, rules: Rules, chosen: str | None) -> None:
    choice = choose_agent(team_facts, rules)

    if chosen is None:
        assert choice is None
    else:
        assert choice is not None
        assert (choice.agent.id, choice.cursor) == (chosen, chosen)


def share(facts: TeamFacts, rules: Rules, conversations: int) -> list[str]:
    """Assign one conversation after another, as a store would apply each choice."""
    given: list[str] = []
    for _ in range(conversations):
        choice = choose_agent(facts, rules)
        assert choice is not None
        given.append(choice.agent.id)
        members = tuple(
            AgentFacts(m.agent, m.open_count + (m.agent.id == choice.agent.id))
            for m in facts.members
        )
        facts = TeamFacts(members, choice.cursor)
    return given


def test_round_robin_shares_evenly_in_member_order() -> None:
    given = share(team(member("eve"), member("cat"), member("ann", 7)), Rules(), 9)

    assert given == ["eve", "cat", "ann"] * 3


def test_least_open_fills_up_the_least_busy_then_goes_round() -> None:
    given = share(team(member("ann", 2), member("bob"), member("cat", 1)), Rules("least_open"), 6)

    # bob (0); then cat and bob have 1 each, and cat is next in turn; then bob (1 against 2)
    assert given == ["bob", "cat", "bob", "cat", "ann", "bob"]
    assert Counter(given) == {"bob": 3, "cat": 2, "ann": 1}


def test_the_agents_in_turn_fill_up_to_their_limits_and_no_further() -> None:
    facts = team(member("ann", capacity=2), member("bob", capacity=5), member("cat", status=AWAY))

    given = share(facts, Rules(max_open=3), 5)

    assert Counter(given) == {"ann": 2, "bob": 3}
    last = TeamFacts(
        (member("ann", 2, capacity=2), member("bob", 3, capacity=5), member("cat", status=AWAY)),
        "bob",
    )
    assert choose_agent(last, Rules(max_open=3)) is None


@pytest.mark.parametrize(
    ("facts", "only_online", "max_open", "takes"),
    [
        (member("ann"), True, None, True),
        (member("ann", status=AWAY), True, None, False),
        (member("ann", status=AWAY), False, None, True),
        (member("ann", 3, capacity=3), False, None, False),
        (member("ann", 2, capacity=3), True, 2, False),
        (member("ann", 1, capacity=3), True, 2, True),
        (member("ann", 1, capacity=1), True, 5, False),
    ],
)
def test_can_take(facts: AgentFacts, only_online: bool, max_open: int | None, takes: bool) -> None:
    assert can_take(facts, only_online=only_online, max_open=max_open) is takes


def a_conversation(status: ConversationStatus, assignee: str | None) -> Conversation:
    return Conversation(
        id="v1",
        contact_id="c1",
        channel="webhook",
        status=status,
        assignee=assignee,
        opened_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("status", "assignee", "counts_against"),
    [
        (ConversationStatus.OPEN, "ann", "ann"),
        (ConversationStatus.OPEN, None, None),
        (ConversationStatus.CLOSED, "ann", None),
        (ConversationStatus.CLOSED, None, None),
    ],
)
def test_holder_is_the_assignee_of_an_open_conversation(
    status: ConversationStatus, assignee: str | None, counts_against: str | None
) -> None:
    assert holder(a_conversation(status, assignee)) == counts_against


OPEN, CLOSED = ConversationStatus.OPEN, ConversationStatus.CLOSED


@pytest.mark.parametrize(
    ("loaded", "saves", "delta"),
    [
        pytest.param(
            None, [(OPEN, "ann")], {"ann": 1}, id="a new conversation assigned takes a slot"
        ),
        pytest.param(
            (OPEN, None), [(OPEN, "ann")], {"ann": 1}, id="assigning a loaded one takes a slot"
        ),
        pytest.param(
            (OPEN, "ann"), [(OPEN, "bob")], {"ann": -1, "bob": 1}, id="a reassignment moves it"
        ),
        pytest.param((OPEN, "ann"), [(CLOSED, "ann")], {"ann": -1}, id="closing frees the slot"),
        pytest.param((OPEN, "ann"), [(OPEN, None)], {"ann": -1}, id="unassigning frees the slot"),
        pytest.param((OPEN, "ann"), [(OPEN, "ann")], {}, id="saving it unchanged counts nothing"),
        pytest.param(
            (CLOSED, "ann"), [(OPEN, "ann")], {"ann": 1}, id="reopening takes a slot again"
        ),
        pytest.param(
            (OPEN, "ann"),
            [(OPEN, "bob"), (OPEN, "ann")],
            {},
            id="saved twice: only the net change counts",
        ),
        pytest.param(
            None, [(OPEN, None)], {}, id="a new unassigned conversation counts for nobody"
        ),
    ],
)
def test_holders_count_what_a_transactions_saves_move(
    loaded: tuple[ConversationStatus, str | None] | None,
    saves: list[tuple[ConversationStatus, str | None]],
    delta: dict[str, int],
) -> None:
    holders = Holders()
    if loaded is not None:
        holders.loaded(a_conversation(*loaded))
    open_delta: Counter[str] = Counter()
    for status, assignee in saves:
        holders.saved(a_conversation(status, assignee), open_delta)
    assert {agent: n for agent, n in open_delta.items() if n} == delta


def agents(*ids: str) -> list[Agent]:
    return [Agent(id=agent_id, name=agent_id, status=ON) for agent_id in ids]


@pytest.mark.parametrize(
    ("ids", "teams", "refused"),
    [
        (["ann", "bob"], {"sales": ["bob", "ann"], "empty": []}, None),
        ([], {}, None),
        (["ann", "ann"], {}, "agent 'ann' is listed twice"),
        (["ann"], {"support": ["ann", "ann"]}, "team 'support' lists an agent twice"),
        (
            ["ann"],
            {"support": ["ann", "cid", "dee"]},
            "team 'support' lists unknown agents: cid, dee",
        ),
    ],
)
def test_check_directory_names_what_cannot_be_stored(
    ids: list[str], teams: dict[str, list[str]], refused: str | None
) -> None:
    if refused is None:
        check_directory(agents(*ids), teams)
    else:
        with pytest.raises(ValueError, match=f"^{re.escape(refused)}$"):
            check_directory(agents(*ids), teams)
