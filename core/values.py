"""The checked building blocks of the domain models: text that can be stored, and the
frozen base of every model that describes a fact."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

# Deeper than any platform payload frontdesk reads, and shallow enough that the store's JSON
# reader (pydantic's, which stops at a depth of about 250) reads back whatever was written.
MAX_RAW_DEPTH = 64


def storable(text: str) -> str:
    """`text` if it can be written as UTF-8. JSON lets a sender write half of a surrogate
    pair (`"\\ud83d"`); Python reads it into a str that no encoder accepts, so it could never
    be stored, and retrying would not change that."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "not_unicode", "not valid Unicode text (a lone surrogate)"
        ) from None
    return text


def storable_json(value: Any) -> None:
    """Check every string and key of a JSON value with `storable`, and its nesting depth.

    Every event's payload passes here, so the common case is answered by the C encoder: the
    value written as JSON without escapes encodes as UTF-8 (no lone surrogate anywhere) and
    has no more opening brackets than the depth allowed (so it cannot nest deeper). Anything
    else is walked, which finds what is wrong and says where."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")
    except (ValueError, TypeError, RecursionError):  # UnicodeEncodeError is a ValueError
        pass
    else:
        if not may_nest_too_deep(text):
            return
    _walk(value, 0)


def may_nest_too_deep(json_text: str | bytes) -> bool:
    """Whether JSON text has more opening brackets than MAX_RAW_DEPTH: only then can it nest
    deeper than that (brackets inside strings count too, so this errs towards a walk that
    measures). Counted in C, it spares that walk for every ordinary payload."""
    if isinstance(json_text, bytes):
        return json_text.count(b"{") + json_text.count(b"[") > MAX_RAW_DEPTH
    return json_text.count("{") + json_text.count("[") > MAX_RAW_DEPTH


def _walk(value: Any, depth: int) -> None:
    if depth > MAX_RAW_DEPTH:
        raise PydanticCustomError(
            "too_deep", "nested deeper than {limit} levels", {"limit": MAX_RAW_DEPTH}
        )
    if isinstance(value, str):
        storable(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                storable(key)
            _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1)


# Text that came from outside: checked before anything tries to store it.
Text = Annotated[str, AfterValidator(storable)]
Identifier = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(storable)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
