"""The checked building blocks of the domain models: text that can be stored, and the
frozen base of every model that describes a fact."""

from __future__ import annotations

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


def storable_json(value: Any, depth: int = 0) -> None:
    """Check every string and key of a JSON value with `storable`, and its nesting depth."""
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
            storable_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            storable_json(item, depth + 1)


# Text that came from outside: checked before anything tries to store it.
Text = Annotated[str, AfterValidator(storable)]
Identifier = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(storable)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
