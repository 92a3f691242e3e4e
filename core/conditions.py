"""Branch conditions evaluated against what is known about a conversation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

from core.answers import fold
from core.field_paths import FieldPath
from core.models import Contact, Conversation
from core.schedules import Schedule
from core.step_types import BranchCase, Condition

_MISSING = object()
LANGUAGE = FieldPath("contact", "language")


@dataclass(frozen=True)
class Facts:
    contact: Contact
    conversation: Conversation
    vars: dict[str, Any]
    answer: Any
    now: datetime
    schedules: Mapping[str, Schedule]

    def lookup(self, path: FieldPath) -> Any:
        """The value at a field path, or _MISSING when it is not set."""
        value: Any
        match path.kind:
            case "var":
                value = self.vars.get(path.name, _MISSING)
            case "custom":
                value = self.contact.fields.get(path.name, _MISSING)
            case "tags":
                value = self.contact.tags
            case "contact":
                value = getattr(self.contact, path.name)
            case "conversation":
                value = getattr(self.conversation, path.name)
            case "channel":
                value = self.conversation.channel
            case "answer":
                value = self.answer
            case "schedule":
                schedule = self.schedules.get(path.name)
                if schedule is None:  # the config defines every schedule a workflow names
                    value = _MISSING
                else:
                    value = "open" if schedule.is_open(self.now) else "closed"
            case _:
                assert_never(path.kind)
        return _MISSING if value is None or value == "" or value == [] else value


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list):  # tags: equals means "has this tag"
        return any(_equal(item, expected) for item in actual)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return fold(str(actual)) == fold(str(expected))
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return float(actual) == float(expected)
    return fold(str(actual)) == fold(str(expected))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        return None


def _texts(value: Any) -> list[str]:
    """Tags are tested one by one; anything else as its text."""
    return [fold(str(v)) for v in value] if isinstance(value, list) else [fold(str(value))]


def _language(actual: Any, expected: Any) -> Any:
    """`es` names Spanish in any region: compare `es-MX` to it by its primary subtag."""
    if isinstance(actual, str) and isinstance(expected, str) and "-" not in expected:
        return actual.split("-")[0]
    return actual


def _equal_language(actual: Any, expected: Any) -> bool:
    return _equal(_language(actual, expected), expected)


def holds(condition: Condition, facts: Facts) -> bool:
    value = facts.lookup(condition.field)
    present = value is not _MISSING
    equal = _equal_language if condition.field == LANGUAGE else _equal
    expected = condition.value
    match condition.op:
        case "exists":
            return present
        case "not_exists":
            return not present
        case "equals":
            return present and equal(value, expected)
        case "not_equals":
            return not (present and equal(value, expected))
        case "is_one_of":
            assert isinstance(expected, list)
            return present and any(equal(value, item) for item in expected)
        case "contains":
            return present and any(fold(str(expected)) in text for text in _texts(value))
        case "starts_with":
            return present and any(text.startswith(fold(str(expected))) for text in _texts(value))
        case "greater_than" | "less_than":
            actual, bound = _number(value) if present else None, _number(expected)
            if actual is None or bound is None:
                return False  # not a number: neither greater nor less
            return actual > bound if condition.op == "greater_than" else actual < bound
    raise AssertionError(condition.op)  # pragma: no cover - Literal covers every op


def case_matches(case: BranchCase, facts: Facts) -> bool:
    results = (holds(c, facts) for c in case.conditions)
    return all(results) if case.match == "all" else any(results)
