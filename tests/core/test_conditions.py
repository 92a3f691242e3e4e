"""Branch conditions, decided on plain facts: each operator on each kind of field, how a
case combines its conditions, and which of a branch's blocks a run takes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from core.conditions import Facts, case_matches, holds
from core.schedules import Schedule
from core.step_types import BranchCase, Condition, Scalar
from tests.core.turns import NOW, contact, conversation, drive, program, start, turn

OFFICE = Schedule(timezone="Europe/Madrid", hours={"mon": ["09:00-14:00"], "tue": ["22:00-06:00"]})


def facts(now: datetime = NOW, **changes: Any) -> Facts:
    """Ana, who writes from Mexico on Telegram to the sales team, and her run's variables."""
    who = contact(
        name="Ana",
        language="es-MX",
        email="ana@example.com",
        country="MX",
        fields={"plan": "Pro", "seats": 12, "vip": True, "score": "7,5", "blank": ""},
        tags=["vip", "Billing"],
    )
    conv = conversation(team="sales")
    vars_: dict[str, Any] = {
        "team": "Sales",
        "seats": 12,
        "price": 9.5,
        "count": "12",
        "flag": True,
        "zero": 0,
        "empty": "",
        "none": None,
        "nothing": [],
        "city": "Málaga ",
        "tongue": "es-MX",
    }
    values: dict[str, Any] = {
        "contact": who,
        "conversation": conv,
        "vars": vars_,
        "answer": "Sí",
        "now": now,
        "schedules": {"office": OFFICE},
    }
    return Facts(**(values | changes))


def condition(field: str, op: str, value: Scalar | list[Scalar] | None = None) -> Condition:
    return Condition.model_validate({"field": field, "op": op, "value": value})


# (rule, field, op, value, holds)
CASES: list[tuple[str, str, str, Scalar | list[Scalar] | None, bool]] = [
    # equals: text is compared without case, accents or extra spaces
    ("equals ignores case", "vars.team", "equals", "sales", True),
    ("equals ignores accents and spacing", "vars.city", "equals", "malaga", True),
    ("equals is whole, not a part", "vars.team", "equals", "sale", False),
    ("equals compares numbers as numbers", "vars.seats", "equals", 12.0, True),
    ("a number equals its text", "vars.seats", "equals", "12", True),
    ("a number as text equals the number", "vars.count", "equals", 12, True),
    ("a different number is not equal", "vars.price", "equals", 9, False),
    ("true equals true", "vars.flag", "equals", True, True),
    ("true equals the word true", "vars.flag", "equals", "TRUE", True),
    ("true is not the number 1", "vars.flag", "equals", 1, False),
    ("zero is set, and equals 0", "vars.zero", "equals", 0, True),
    ("a missing field equals nothing", "vars.unknown", "equals", "x", False),
    # not_equals
    ("not_equals a different value", "vars.team", "not_equals", "support", True),
    ("not_equals the same value, folded", "vars.team", "not_equals", "SALES", False),
    ("a missing field is not equal to anything", "vars.unknown", "not_equals", "x", True),
    # is_one_of
    ("is_one_of finds the value among others", "contact.country", "is_one_of", ["es", "mx"], True),
    ("is_one_of without the value", "contact.country", "is_one_of", ["es", "ar"], False),
    ("is_one_of on a missing field", "contact.phone", "is_one_of", ["x", "y"], False),
    ("is_one_of compares numbers", "vars.seats", "is_one_of", [10, 12], True),
    # contains and starts_with
    ("contains a part, any case", "contact.email", "contains", "EXAMPLE", True),
    ("contains a part that is not there", "contact.email", "contains", "gmail", False),
    ("contains on a missing field", "contact.phone", "contains", "6", False),
    ("contains reads a number as text", "vars.seats", "contains", 2, True),
    ("starts_with the beginning", "contact.email", "starts_with", "Ana@", True),
    ("starts_with a part further in", "contact.email", "starts_with", "example", False),
    ("starts_with on a missing field", "vars.unknown", "starts_with", "a", False),
    # greater_than and less_than: only numbers compare
    ("greater_than a smaller bound", "vars.seats", "greater_than", 10, True),
    ("greater_than an equal bound", "vars.seats", "greater_than", 12, False),
    ("less_than a greater bound", "vars.seats", "less_than", 12.5, True),
    ("less_than an equal bound", "vars.seats", "less_than", 12, False),
    ("a number in text compares", "vars.count", "greater_than", 11, True),
    ("a decimal comma is a point", "contact.fields.score", "greater_than", 7.4, True),
    ("a decimal comma compares both ways", "contact.fields.score", "less_than", 7.6, True),
    ("text is not greater than a number", "vars.team", "greater_than", 0, False),
    ("text is not less than a number", "vars.team", "less_than", 1000, False),
    ("true is not a number to compare", "vars.flag", "greater_than", 0, False),
    ("a missing field is not greater", "vars.unknown", "greater_than", -1, False),
    ("a missing field is not less", "vars.unknown", "less_than", 1, False),
    # exists and not_exists: empty text, null and an empty list are not set
    ("a set field exists", "contact.email", "exists", None, True),
    ("an unset profile field does not exist", "contact.phone", "exists", None, False),
    ("an unset profile field is not_exists", "contact.phone", "not_exists", None, True),
    ("a set field is not not_exists", "contact.email", "not_exists", None, False),
    ("an unknown variable does not exist", "vars.unknown", "exists", None, False),
    ("empty text does not exist", "vars.empty", "exists", None, False),
    ("null does not exist", "vars.none", "exists", None, False),
    ("an empty list does not exist", "vars.nothing", "exists", None, False),
    ("zero exists", "vars.zero", "exists", None, True),
    ("false exists", "contact.fields.vip", "exists", None, True),
    ("an empty custom field does not exist", "contact.fields.blank", "exists", None, False),
    ("an unknown custom field does not exist", "contact.fields.size", "exists", None, False),
    # custom contact fields
    ("a custom field equals, folded", "contact.fields.plan", "equals", "pro", True),
    ("a custom number compares", "contact.fields.seats", "less_than", 20, True),
    # tags: equals means "has this tag"; text tests look at each tag
    ("equals on tags means has the tag", "contact.tags", "equals", "billing", True),
    ("equals on tags without the tag", "contact.tags", "equals", "spam", False),
    ("not_equals on tags means lacks the tag", "contact.tags", "not_equals", "spam", True),
    ("not_equals a tag they have", "contact.tags", "not_equals", "VIP", False),
    ("is_one_of on tags: any tag listed", "contact.tags", "is_one_of", ["spam", "vip"], True),
    ("contains looks in each tag", "contact.tags", "contains", "bill", True),
    ("contains does not span two tags", "contact.tags", "contains", "vip billing", False),
    ("starts_with looks at each tag", "contact.tags", "starts_with", "bi", True),
    ("tags exist when there is one", "contact.tags", "exists", None, True),
    # language: a bare language names it in every region
    ("a bare language matches its regions", "contact.language", "equals", "es", True),
    ("the exact region matches", "contact.language", "equals", "es-mx", True),
    ("another region does not", "contact.language", "equals", "es-ES", False),
    ("another language does not", "contact.language", "equals", "en", False),
    ("is_one_of with a bare language", "contact.language", "is_one_of", ["en", "es"], True),
    ("not_equals a bare language of theirs", "contact.language", "not_equals", "es", False),
    ("the region rule is the language's alone", "vars.tongue", "equals", "es", False),
    # the conversation, the channel and the last answer
    ("channel equals the conversation's", "channel", "equals", "telegram", True),
    ("channel is not another", "channel", "equals", "slack", False),
    ("conversation.channel is the channel", "conversation.channel", "equals", "Telegram", True),
    ("conversation.team equals, folded", "conversation.team", "equals", "SALES", True),
    ("an unassigned conversation has no assignee", "conversation.assignee", "exists", None, False),
    ("the last answer equals, folded", "answer", "equals", "si", True),
    ("the last answer contains", "answer", "contains", "í", True),
    # schedules read at the injected time (NOW: Monday 10:30 in Madrid)
    ("a schedule is open inside its hours", "schedule.office", "equals", "open", True),
    ("an open schedule is not closed", "schedule.office", "equals", "closed", False),
    ("an unknown schedule does not exist", "schedule.shop", "exists", None, False),
    ("an unknown schedule is neither open", "schedule.shop", "equals", "open", False),
    ("nor closed", "schedule.shop", "equals", "closed", False),
]


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [row[1:] for row in CASES],
    ids=[row[0] for row in CASES],
)
def test_a_condition_holds_by_its_operator_and_field(
    field: str, op: str, value: Scalar | list[Scalar] | None, expected: bool
) -> None:
    assert holds(condition(field, op, value), facts()) is expected


def _madrid(day: int, hour: int, minute: int = 0) -> datetime:
    """March 2026, Madrid (UTC+1): the 2nd is a Monday, the 3rd a Tuesday."""
    return datetime(2026, 3, day, hour - 1, minute, tzinfo=UTC)


# (rule, the time, the schedule's state)
TIMES = [
    ("open at its opening minute", _madrid(2, 9), "open"),
    ("closed a minute before it opens", _madrid(2, 8, 59), "closed"),
    ("closed at its closing minute", _madrid(2, 14), "closed"),
    ("closed on a day with no hours", _madrid(4, 11), "closed"),
    ("open on an overnight shift's evening", _madrid(3, 23), "open"),
    ("open past midnight on the night it started", _madrid(4, 5, 59), "open"),
    ("closed when the overnight shift ends", _madrid(4, 6), "closed"),
]


@pytest.mark.parametrize(
    ("now", "state"), [row[1:] for row in TIMES], ids=[row[0] for row in TIMES]
)
def test_a_schedule_condition_reads_the_injected_time(now: datetime, state: str) -> None:
    assert holds(condition("schedule.office", "equals", state), facts(now=now))
    other = "closed" if state == "open" else "open"
    assert not holds(condition("schedule.office", "equals", other), facts(now=now))


def test_no_tags_do_not_exist() -> None:
    bare = facts(contact=contact())
    assert holds(condition("contact.tags", "not_exists"), bare)
    assert not holds(condition("contact.tags", "equals", "vip"), bare)
    assert holds(condition("contact.tags", "not_equals", "vip"), bare)


YES = ("vars.team", "equals", "sales")
NO = ("vars.team", "equals", "support")

# (rule, match, conditions, matches)
COMBINED: list[tuple[str, str, list[tuple[str, str, str]], bool]] = [
    ("all: every condition holds", "all", [YES, YES], True),
    ("all: one fails, the case fails", "all", [YES, NO], False),
    ("any: one holds, the case holds", "any", [NO, YES], True),
    ("any: none holds", "any", [NO, NO], False),
    ("all with one condition", "all", [YES], True),
    ("any with one condition", "any", [NO], False),
]


@pytest.mark.parametrize(
    ("match", "conditions", "expected"),
    [row[1:] for row in COMBINED],
    ids=[row[0] for row in COMBINED],
)
def test_a_case_combines_its_conditions(
    match: str, conditions: list[tuple[str, str, str]], expected: bool
) -> None:
    case = BranchCase.model_validate(
        {"match": match, "conditions": [condition(*c) for c in conditions]}
    )
    assert case_matches(case, facts()) is expected


# A branch in a branch: the outer cases test the plan, the inner ones the seats.
NESTED = """
- id: route
  type: branch
  branches:
    - name: pro
      conditions: [{field: vars.plan, op: equals, value: pro}]
      steps:
        - id: size
          type: branch
          branches:
            - match: any
              conditions:
                - {field: vars.seats, op: greater_than, value: 100}
                - {field: contact.tags, op: equals, value: vip}
              steps: [{id: big, type: send_message, text: pro and big}]
            - conditions: [{field: vars.seats, op: greater_than, value: 10}]
              steps: [{id: mid, type: send_message, text: pro and mid}]
          else: [{id: small, type: send_message, text: pro and small}]
    - name: paid
      match: all
      conditions:
        - {field: vars.plan, op: exists}
        - {field: vars.plan, op: not_equals, value: free}
      steps: [{id: paid, type: send_message, text: paid}]
    - name: also pro
      conditions: [{field: vars.plan, op: starts_with, value: pr}]
      steps: [{id: never, type: send_message, text: second pro case}]
  else: [{id: rest, type: send_message, text: everyone else}]
- {id: after, type: send_message, text: after}
"""

# (rule, run variables, contact tags, what the customer is told)
ROUTES: list[tuple[str, dict[str, Any], list[str], list[str]]] = [
    ("inner any: its first condition", {"plan": "Pro", "seats": 500}, [], ["pro and big"]),
    ("inner any: its second condition", {"plan": "pro", "seats": 1}, ["vip"], ["pro and big"]),
    ("the first inner match wins", {"plan": "pro", "seats": 500}, ["vip"], ["pro and big"]),
    ("the next inner case", {"plan": "pro", "seats": 50}, [], ["pro and mid"]),
    ("the inner else", {"plan": "pro", "seats": 5}, [], ["pro and small"]),
    ("the first outer case wins over a later match", {"plan": "pro"}, [], ["pro and small"]),
    ("an all-case whose conditions all hold", {"plan": "team"}, [], ["paid"]),
    ("an all-case with one failing condition", {"plan": "free"}, [], ["everyone else"]),
    ("the else when a field is missing", {}, [], ["everyone else"]),
]


@pytest.mark.parametrize(
    ("vars_", "tags", "told"), [row[1:] for row in ROUTES], ids=[row[0] for row in ROUTES]
)
async def test_a_branch_takes_the_first_case_that_matches_then_carries_on(
    vars_: dict[str, Any], tags: list[str], told: list[str]
) -> None:
    prog = program(NESTED)
    at = start(prog, turn(who=contact(tags=tags)), vars=vars_)
    assert await drive(prog, at) == [*told, "after"]


async def test_a_branch_without_else_carries_on_after_itself() -> None:
    prog = program(
        """
        - id: route
          type: branch
          branches:
            - conditions: [{field: vars.x, op: exists}]
              steps: [{id: a, type: send_message, text: x}]
        - {id: after, type: send_message, text: after}
        """
    )
    assert await drive(prog, start(prog, turn())) == ["after"]
    assert await drive(prog, start(prog, turn(), vars={"x": 1})) == ["x", "after"]
