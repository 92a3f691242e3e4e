"""Reading a platform's JSON body: an object no deeper than MAX_RAW_DEPTH, or a clear error."""

from __future__ import annotations

import json

import pytest

from core.bodies import json_object
from core.errors import BadInbound
from core.values import MAX_RAW_DEPTH


def nested(levels: int) -> str:
    """An object `levels` deep: {"a": {"a": ... {} }}."""
    return '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)


# (rule, body, accepted)
BODIES: list[tuple[str, str, bool]] = [
    ("an ordinary body", '{"text": "hi", "contact": {"id": "c-1"}}', True),
    ("as deep as allowed", nested(MAX_RAW_DEPTH + 1), True),
    ("one level deeper", nested(MAX_RAW_DEPTH + 2), False),
    ("deep in a list", '{"a": ' + "[" * 70 + "]" * 70 + "}", False),
    ("many brackets, shallow", json.dumps({"items": [{} for _ in range(200)]}), True),
    ("brackets in strings only", json.dumps({"text": "{[" * 100}), True),
]


@pytest.mark.parametrize(("body", "accepted"), [r[1:] for r in BODIES], ids=[r[0] for r in BODIES])
@pytest.mark.parametrize("kind", ["bytes", "str"])
def test_how_deep_a_body_may_nest(body: str, accepted: bool, kind: str) -> None:
    raw: bytes | str = body.encode() if kind == "bytes" else body
    if accepted:
        assert json_object(raw) == json.loads(body)
    else:
        with pytest.raises(BadInbound, match=f"nested deeper than {MAX_RAW_DEPTH} levels"):
            json_object(raw)
