"""How values cross into SQLite columns and back.

Times are stored as integer microseconds since the Unix epoch, UTC: they sort and compare
correctly in SQL whatever offset the caller used, index compactly, and round-trip exactly
(datetime has microsecond resolution). JSON columns are written and read by pydantic so that
nested models keep their types.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.rows import Times

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the store takes timezone-aware times")
    return (moment - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def to_micros_or_none(moment: datetime | None) -> int | None:
    return None if moment is None else to_micros(moment)


def from_micros_or_none(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


def seconds_to_micros(seconds: float) -> int:
    return round(seconds * 1_000_000)


TIMES = Times(column=to_micros, moment=from_micros)  # for the shared row mappings
