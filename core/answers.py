"""Reading a customer's answer to a question."""

from __future__ import annotations

import re
import unicodedata

from core.models import Option

_NUMBERED = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive form: 'Sóporte ' and 'soporte' are equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def choose(options: list[Option], text: str | None, option_id: str | None) -> Option | None:
    """The option a customer picked: by its id (a button), its number, or its label typed."""
    if option_id is not None:
        for option in options:
            if option.id == option_id:
                return option
    if text is None:
        return None
    numbered = _NUMBERED.match(text)
    if numbered:
        n = int(numbered.group(1))
        return options[n - 1] if 1 <= n <= len(options) else None
    wanted = fold(text)
    for option in options:
        if fold(option.label) == wanted:
            return option
    for option in options:
        if fold(option.id) == wanted:
            return option
    return None
