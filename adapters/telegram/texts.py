"""Splitting a long text into messages Telegram accepts."""

from __future__ import annotations

# "1-4096 characters after entities parsing", counted by Telegram in UTF-16 code units.
# https://core.telegram.org/bots/api#sendmessage
MESSAGE_LIMIT = 4096


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` in parts of at most `limit` UTF-16 units, each cut at the last newline or space
    before the limit (that character dropped), or hard at the limit when a part has none."""
    parts: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        end = _fitting_prefix(rest, limit)
        cut = max(rest.rfind("\n", 0, end + 1), rest.rfind(" ", 0, end + 1))
        if cut > 0:
            parts.append(rest[:cut])
            rest = rest[cut + 1 :]
        else:
            parts.append(rest[:end])
            rest = rest[end:]
    parts.append(rest)
    return [p for p in parts if p] or [text]


def _fitting_prefix(text: str, limit: int) -> int:
    """The largest n such that text[:n] is at most `limit` UTF-16 units."""
    units = 0
    for n, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return n
    return len(text)
