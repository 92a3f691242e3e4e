"""Branch conditions evaluated against what is known about a conversation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.answers import fold
from core.models import Contact, Conversation
from core.workflow import BranchCase, Condition

_MISSING = object()


@dataclass(frozen=True)
class Facts:
    contact: Contact
    conversation: Conversation
    vars: dict[str, Any]
    answer: Any

    def lookup(self, path: str) -> Any:
        """The value at a field path, or _MISSING when it is not set."""
        parts = path.split(".")
        head = parts[0]
        value: Any
        if head == "vars":
            value = self.vars.get(parts[1], _MISSING)
        elif head == "contact" and parts[1] == "fields":
            value = self.contact.fields.get(parts[2], _MISSING)
        elif head == "contact":
            value = getattr(self.contact, parts[1])
        elif head == "conversation":
            value = getattr(self.conversation, parts[1])
        elif path == "channel":
            value = self.conversation.channel
        elif path == "answer":
            value = self.answer
        else:  # paths are checked when the workflow loads; an unknown one is simply unset
            value = _MISSING
        return _MISSING if value is None or value == "" or value == [] else value


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list):  # tags: equals means "has this tag"
        return any(_equal(item, expected) for item in actual)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return fold(str(actual)) == fold(str(expected))
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return float(actual) == float(expected)
    return fold(str(actual)) == fold(str(expected))


def holds(condition: Condition, facts: Facts) -> bool:
    value = facts.lookup(condition.field)
    present = value is not _MISSING
    match condition.op:
        case "exists":
            return present
        case "not_exists":
            return not present
        case "equals":
            return present and _equal(value, condition.value)
        case "not_equals":
            return not (present and _equal(value, condition.value))
    raise AssertionError(condition.op)  # pragma: no cover - Literal covers every op


def case_matches(case: BranchCase, facts: Facts) -> bool:
    results = (holds(c, facts) for c in case.conditions)
    return all(results) if case.match == "all" else any(results)
