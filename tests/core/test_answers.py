"""Reading a customer's answer, as plain functions: which option they chose, which email,
phone, number or date they gave, and what a question does with a valid answer (saves it,
carries on) and with an invalid one (asks again, then takes its failure steps)."""

from __future__ import annotations

from typing import Any

import pytest

from core.answers import choose, fold, parse_date, parse_email, parse_number, parse_phone
from core.models import Direction, Option
from core.step_types import AskQuestionStep
from core.steps import answer, timed_out
from core.turn import Turn
from tests.core.turns import drive, program, start, turn

OPTIONS = [
    Option(id="sales", label="Sales"),
    Option(id="support", label="Soporte técnico"),
    Option(id="7", label="Other"),
]

# (rule, text, button payload, chosen option id)
CHOICES: list[tuple[str, str | None, str | None, str | None]] = [
    ("a button's payload is its option", None, "support", "support"),
    ("a payload wins over the text", "1", "support", "support"),
    ("an unknown payload falls back to the text", "1", "gone", "sales"),
    ("an unknown payload with no text is nothing", None, "gone", None),
    ("a number picks by position", "2", None, "support"),
    ("a number with a dot", "3.", None, "7"),
    ("a number with a parenthesis and spaces", " 1 ) ", None, "sales"),
    ("zero is out of range", "0", None, None),
    ("past the last option is out of range", "4", None, None),
    ("a number is a position, not an id", "7", None, None),
    ("the label typed, any case", "SALES", None, "sales"),
    ("the label without its accents", "soporte  tecnico", None, "support"),
    ("the id typed", "Support", None, "support"),
    ("a part of a label is not a choice", "soporte", None, None),
    ("empty text is not a choice", "", None, None),
    ("no text and no payload", None, None, None),
]


@pytest.mark.parametrize(
    ("text", "option_id", "chosen"), [r[1:] for r in CHOICES], ids=[r[0] for r in CHOICES]
)
def test_the_option_a_customer_chose(
    text: str | None, option_id: str | None, chosen: str | None
) -> None:
    found = choose(OPTIONS, text, option_id)
    assert (found.id if found else None) == chosen


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Sóporte ", "soporte"), ("  Two   words ", "two words"), ("STRASSE", "strasse")],
    ids=["accents and trailing space", "inner spacing", "case"],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


# (rule, text, saved address or None when refused)
EMAILS: list[tuple[str, str, str | None]] = [
    ("an address, trimmed and its domain lowercased", "  Ana@Example.COM ", "Ana@example.com"),
    ("a short domain", "a@b.co", "a@b.co"),
    ("an international domain", "ana@exämple.com", "ana@exämple.com"),
    ("no domain", "ana@", None),
    ("no at sign", "ana example.com", None),
    ("a domain with no dot", "ana@localhost", None),
    ("two dots in a row", "ana..x@example.com", None),
    ("a sentence", "my email is ana@example.com", None),
]


@pytest.mark.parametrize(("text", "saved"), [r[1:] for r in EMAILS], ids=[r[0] for r in EMAILS])
def test_an_email_answer(text: str, saved: str | None) -> None:
    parsed = parse_email(text)
    assert (parsed.value if parsed else None) == saved
    if parsed is not None:
        assert parsed.contact == {"email": saved}


# (rule, text, the step's default region, E.164 or None, the contact's country or None)
PHONES: list[tuple[str, str, str | None, str | None, str | None]] = [
    ("international format", "+34 612 34 56 78", None, "+34612345678", "ES"),
    ("a national number in the step's region", "612 34 56 78", "ES", "+34612345678", "ES"),
    ("a national number with no region to read it in", "612345678", None, None, None),
    ("US formatting in the US", "(650) 253-0000", "US", "+16502530000", "US"),
    ("a country code overrides the region", "+44 20 7946 0958", "ES", "+442079460958", "GB"),
    ("too short for the region", "12345", "ES", None, None),
    ("a cut-off number", "+34 600", "ES", None, None),
    ("words", "call me", "ES", None, None),
    ("a number for no country keeps no country", "+800 1234 5678", None, "+80012345678", None),
]


@pytest.mark.parametrize(
    ("text", "region", "e164", "country"), [r[1:] for r in PHONES], ids=[r[0] for r in PHONES]
)
def test_a_phone_answer(
    text: str, region: str | None, e164: str | None, country: str | None
) -> None:
    parsed = parse_phone(text, region)
    assert (parsed.value if parsed else None) == e164
    if parsed is not None:
        expected = {"phone": e164} | ({"country": country} if country else {})
        assert parsed.contact == expected


# (rule, text, min, max, saved value or None)
NUMBERS: list[tuple[str, str, float | None, float | None, int | float | None]] = [
    ("a whole number is saved as an int", "12", None, None, 12),
    ("a decimal point", "12.5", None, None, 12.5),
    ("a decimal comma", "12,5", None, None, 12.5),
    ("a sign", "-3", None, None, -3),
    ("a plus sign", "+4", None, None, 4),
    ("no leading digit", ".5", None, None, 0.5),
    ("a trailing point is whole", "12.", None, None, 12),
    ("spaces inside", " 1 000 ", None, None, 1000),
    ("a thousands comma and a point", "1,000.5", None, None, None),
    ("letters after it", "12abc", None, None, None),
    ("an exponent", "1e3", None, None, None),
    ("nothing", "", None, None, None),
    ("the lower bound is allowed", "1", 1, 10, 1),
    ("the upper bound is allowed", "10", 1, 10, 10),
    ("below the lower bound", "0.5", 1, 10, None),
    ("above the upper bound", "10,1", 1, 10, None),
    ("only a lower bound", "1000000", 0, None, 1000000),
    ("only an upper bound", "-5", None, 0, -5),
]


@pytest.mark.parametrize(
    ("text", "low", "high", "saved"), [r[1:] for r in NUMBERS], ids=[r[0] for r in NUMBERS]
)
def test_a_number_answer(
    text: str, low: float | None, high: float | None, saved: int | float | None
) -> None:
    parsed = parse_number(text, low, high)
    value = parsed.value if parsed else None
    assert value == saved
    assert type(value) is type(saved)


# (rule, text, format, ISO date or None)
DATES: list[tuple[str, str, str, str | None]] = [
    ("ISO, the default format", "2026-03-02", "%Y-%m-%d", "2026-03-02"),
    ("spaces around it", " 2026-03-02 ", "%Y-%m-%d", "2026-03-02"),
    ("day first, as the step says", "02/03/2026", "%d/%m/%Y", "2026-03-02"),
    ("a month by name", "2 March 2026", "%d %B %Y", "2026-03-02"),
    ("a day the month does not have", "2026-02-30", "%Y-%m-%d", None),
    ("another format than the step's", "2026-03-02", "%d/%m/%Y", None),
    ("a two-digit year for a four-digit format", "02/03/26", "%d/%m/%Y", None),
    ("a word", "tomorrow", "%Y-%m-%d", None),
]


@pytest.mark.parametrize(
    ("text", "date_format", "saved"), [r[1:] for r in DATES], ids=[r[0] for r in DATES]
)
def test_a_date_answer(text: str, date_format: str, saved: str | None) -> None:
    parsed = parse_date(text, date_format)
    assert (parsed.value if parsed else None) == saved


# What a question does with the customer's replies. Each step asks "Q?", saves to
# vars.got, and is followed by a step saying "after"; its failure steps say "failed".
Reply = tuple[str | None, str | None]  # text, button payload

# (rule, the step's own fields, replies, what the customer is told, vars.got)
CONVERSATIONS: list[tuple[str, str, list[Reply], list[str], Any]] = [
    ("text: trimmed", "answer: text", [(" hi there ", None)], ["Q?", "after"], "hi there"),
    (
        "text: blank asks again",
        "answer: text",
        [("  ", None), ("ok", None)],
        ["Q?", "Please answer with some text.", "after"],
        "ok",
    ),
    (
        "text: a photo is not an answer",
        "answer: text",
        [(None, None), ("ok", None)],
        ["Q?", "Please answer with some text.", "after"],
        "ok",
    ),
    (
        "choice: by number, saved as its id",
        "{answer: multiple_choice, options: [{id: a, label: Tea}, {id: b, label: Coffee}]}",
        [("2", None)],
        ["Q?", "after"],
        "b",
    ),
    (
        "choice: by button",
        "{answer: multiple_choice, options: [{id: a, label: Tea}, {id: b, label: Coffee}]}",
        [(None, "a")],
        ["Q?", "after"],
        "a",
    ),
    (
        "choice: an unknown one asks again",
        "{answer: multiple_choice, options: [{id: a, label: Tea}, {id: b, label: Coffee}]}",
        [("maybe", None), ("tea", None)],
        ["Q?", "Sorry, I didn't understand that. Please choose one of the options.", "after"],
        "a",
    ),
    (
        "email: normalised",
        "answer: email",
        [("Ana@EXAMPLE.com", None)],
        ["Q?", "after"],
        "Ana@example.com",
    ),
    (
        "phone: E.164",
        "{answer: phone, default_region: ES}",
        [("612 34 56 78", None)],
        ["Q?", "after"],
        "+34612345678",
    ),
    (
        "number: out of range asks again",
        "{answer: number, min: 1, max: 10}",
        [("11", None), ("2,5", None)],
        ["Q?", "Please answer with a number.", "after"],
        2.5,
    ),
    (
        "date: saved as ISO",
        "{answer: date, date_format: '%d/%m/%Y'}",
        [("31/12/2026", None)],
        ["Q?", "after"],
        "2026-12-31",
    ),
    (
        "the step's own retry message",
        "{answer: email, retry_message: Once more please}",
        [("no", None), ("a@b.co", None)],
        ["Q?", "Once more please", "after"],
        "a@b.co",
    ),
    (
        "the last attempt fails: the failure steps, then on",
        "{answer: email, max_attempts: 3, on_failure: [{id: f, type: send_message, text: failed}]}",
        [("x", None), ("y", None), ("z", None)],
        [
            "Q?",
            "That doesn't look like an email address. Please try again.",
            "That doesn't look like an email address. Please try again.",
            "failed",
            "after",
        ],
        None,
    ),
    (
        "one attempt: the first invalid answer fails",
        "{answer: number, max_attempts: 1, on_failure: [{id: f, type: send_message, text: sorry}]}",
        [("many", None)],
        ["Q?", "sorry", "after"],
        None,
    ),
    (
        "failing with no failure steps carries on",
        "{answer: phone, max_attempts: 2}",
        [("no", None), ("nope", None)],
        ["Q?", "That doesn't look like a phone number. Please include the country code.", "after"],
        None,
    ),
]


def _question(fields: str) -> str:
    own = fields.strip("{}")
    return f"""
        - {{id: q, type: ask_question, text: 'Q?', save_to: vars.got, {own}}}
        - {{id: after, type: send_message, text: after}}
    """


async def _converse(fields: str, replies: list[Reply], shared: str | None = None) -> Turn:
    prog = program(_question(fields))
    at = start(prog, turn())
    await drive(prog, at)
    for text, option_id in replies:
        run = at.conversation.run
        assert run is not None
        assert run.waiting is not None, "the question waits no more"
        instruction = prog.code[run.pc]
        assert isinstance(instruction.step, AskQuestionStep)
        at.record_in(text, option_id)
        answer(instruction.step, instruction, at, text, option_id, shared)
        await drive(prog, at)
    return at


@pytest.mark.parametrize(
    ("fields", "replies", "told", "saved"),
    [r[1:] for r in CONVERSATIONS],
    ids=[r[0] for r in CONVERSATIONS],
)
async def test_what_a_question_does_with_the_answers(
    fields: str, replies: list[Reply], told: list[str], saved: Any
) -> None:
    at = await _converse(fields, replies)
    assert [m.text for m in at.effects.outbound] == told
    run = at.conversation.run
    assert run is not None
    assert run.waiting is None
    assert run.vars.get("got") == saved
    assert type(run.vars.get("got")) is type(saved)


async def test_an_invalid_choice_is_asked_again_with_the_options() -> None:
    at = await _converse(
        "{answer: multiple_choice, options: [{id: a, label: Tea}, {id: b, label: Coffee}]}",
        [("maybe", None)],
    )
    question, again = at.effects.outbound
    assert [o.label for o in question.options] == ["Tea", "Coffee"]
    assert again.options == question.options
    run = at.conversation.run
    assert run is not None
    assert run.waiting is not None
    assert run.waiting.attempts == 1


async def test_a_typed_choice_is_marked_in_the_transcript_as_the_option() -> None:
    at = await _converse(
        "{answer: multiple_choice, options: [{id: a, label: Tea}, {id: b, label: Coffee}]}",
        [("coffee", None)],
    )
    (said,) = [e for e in at.effects.transcript if e.direction == Direction.IN]
    assert (said.text, said.option_id) == ("coffee", "b")


# (rule, the step's own fields, reply, the contact's fields afterwards)
CONTACT_FIELDS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("an email fills the contact's email", "answer: email", "a@b.co", {"email": "a@b.co"}),
    (
        "a phone fills the phone and the country",
        "answer: phone",
        "+52 55 1234 5678",
        {"phone": "+525512345678", "country": "MX"},
    ),
    ("a number fills nothing", "answer: number", "3", {}),
]


@pytest.mark.parametrize(
    ("fields", "reply", "filled"),
    [r[1:] for r in CONTACT_FIELDS],
    ids=[r[0] for r in CONTACT_FIELDS],
)
async def test_an_answer_fills_the_contact_fields_it_names(
    fields: str, reply: str, filled: dict[str, Any]
) -> None:
    at = await _converse(fields, [(reply, None)])
    profile = at.contact.model_dump(include={"email", "phone", "country"}, exclude_none=True)
    assert profile == filled
    assert at.contact.workflow_fields == sorted(filled)  # the channel no longer overwrites them
    assert at.contact_changed is bool(filled)


async def test_a_shared_phone_number_answers_a_phone_question() -> None:
    at = await _converse("answer: phone", [(None, None)], shared="+34612345678")
    assert [m.text for m in at.effects.outbound] == ["Q?", "after"]
    assert at.contact.phone == "+34612345678"


async def test_a_shared_phone_number_does_not_override_typed_text() -> None:
    at = await _converse("{answer: phone, max_attempts: 1}", [("no", None)], shared="+34612345678")
    assert at.contact.phone is None


# (rule, the step's timeout fields, what the customer is told)
TIMEOUTS: list[tuple[str, str, list[str]]] = [
    (
        "no answer in time takes the timeout steps",
        "{timeout_seconds: 60, on_timeout: [{id: t, type: send_message, text: too late}]}",
        ["Q?", "too late", "after"],
    ),
    ("no timeout steps: the run carries on", "timeout_seconds: 60", ["Q?", "after"]),
]


@pytest.mark.parametrize(
    ("fields", "told"), [r[1:] for r in TIMEOUTS], ids=[r[0] for r in TIMEOUTS]
)
async def test_a_question_nobody_answers(fields: str, told: list[str]) -> None:
    prog = program(_question(fields))
    at = start(prog, turn())
    await drive(prog, at)
    run = at.conversation.run
    assert run is not None
    assert run.waiting is not None
    (timer,) = at.effects.timers
    assert run.waiting.timer_id == timer.id
    assert (timer.due_at - at.now).total_seconds() == 60
    instruction = prog.code[run.pc]
    assert isinstance(instruction.step, AskQuestionStep)
    timed_out(instruction.step, instruction, at)
    await drive(prog, at)
    assert [m.text for m in at.effects.outbound] == told


async def test_a_valid_answer_drops_the_timeout() -> None:
    at = await _converse("timeout_seconds: 60", [("hello", None)])
    (timer,) = at.effects.timers
    assert at.effects.dropped_timers == [timer.id]
