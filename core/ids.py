"""Ids of the contacts and conversations frontdesk creates: UUIDv7 (RFC 9562), written as
32 lowercase hex digits like the random ids before them.

The first 48 bits are the creation time in milliseconds, so a new row's id sorts after the
ids of older rows, and every index keyed on one (a conversation's, and through it its
transcript's, history's and outbox's) grows at its end, whose pages are in memory: a random
id lands on a page of its own in each of them, cold in a store of a million conversations,
read, changed and written back by the next checkpoint. The time is the turn's, from the
clock port. The remaining 74 bits are random (`secrets`), so two ids made in the same
millisecond still differ.
"""

from __future__ import annotations

import secrets
from datetime import datetime

_MS = (1 << 48) - 1
_LOW_62 = (1 << 62) - 1


def time_ordered(now: datetime) -> str:
    """A UUIDv7 for something made at `now`: its milliseconds since the Unix epoch, the
    version (7), 12 random bits, the variant (binary 10) and 62 random bits."""
    # Whole seconds and the microseconds apart: exact, where the float's * 1000 may round.
    ms = (int(now.timestamp()) * 1000 + now.microsecond // 1000) & _MS
    rand = secrets.randbits(74)
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & _LOW_62)
    return f"{value:032x}"
