"""What an event's raw payload may hold to be stored: Unicode text (no lone surrogate, in a
value or a key) nested no deeper than MAX_RAW_DEPTH."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_core import PydanticCustomError

from core.values import MAX_RAW_DEPTH, storable_json


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


LONE = "\ud83d"  # half of a surrogate pair, as JSON lets a sender write it

# (rule, value, the error's type or None)
PAYLOADS: list[tuple[str, Any, str | None]] = [
    ("an ordinary update", {"message": {"text": "hi 👋", "chat": {"id": 7}}}, None),
    ("a lone surrogate in a value", {"message": {"text": f"hi {LONE}"}}, "not_unicode"),
    ("a lone surrogate in a key", {f"k{LONE}": 1}, "not_unicode"),
    ("a lone surrogate deep in a list", {"a": [[{"b": [LONE]}]]}, "not_unicode"),
    ("as deep as allowed", nested(MAX_RAW_DEPTH + 1), None),
    ("one level deeper", nested(MAX_RAW_DEPTH + 2), "too_deep"),
    ("many brackets, shallow", {"items": [{} for _ in range(200)]}, None),
    ("brackets in text only", {"text": "{[" * 100}, None),
    ("brackets in text and a lone surrogate", {"text": "{[" * 100 + LONE}, "not_unicode"),
    ("a value JSON cannot hold is not a string", {"when": object()}, None),
]


@pytest.mark.parametrize(
    ("value", "error"), [r[1:] for r in PAYLOADS], ids=[r[0] for r in PAYLOADS]
)
def test_what_a_payload_may_hold(value: Any, error: str | None) -> None:
    if error is None:
        storable_json(value)
    else:
        with pytest.raises(PydanticCustomError) as raised:
            storable_json(value)
        assert raised.value.type == error
