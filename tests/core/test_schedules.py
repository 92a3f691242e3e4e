"""Schedules: split and overnight shifts, holidays, closures, next opening, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from core.schedules import Schedule

MADRID = ZoneInfo("Europe/Madrid")


def at(text: str) -> datetime:
    """A Madrid wall-clock time, as the engine sees it (UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=MADRID).astimezone(UTC)


OFFICE = Schedule.model_validate(
    {
        "timezone": "Europe/Madrid",
        "hours": {d: ["09:00-14:00", "16:00-19:00"] for d in ("mon", "tue", "wed", "thu")}
        | {"fri": ["09:00-15:00"]},
        "holidays": {"country": "ES", "subdivision": "MD"},
        "closed": ["2026-12-24", "2026-12-28..2026-12-30"],
    }
)
NIGHT = Schedule.model_validate(
    {"timezone": "Europe/Madrid", "hours": {"mon": ["22:00-06:00"], "fri": ["22:00-24:00"]}}
)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ("2026-11-23 09:00", True),  # Monday, first minute
        ("2026-11-23 08:59", False),
        ("2026-11-23 14:00", False),  # the split: lunch
        ("2026-11-23 16:30", True),
        ("2026-11-23 19:00", False),
        ("2026-11-27 14:59", True),  # Friday's short day
        ("2026-11-27 15:00", False),
        ("2026-11-28 11:00", False),  # Saturday
        ("2026-12-08 11:00", False),  # a Tuesday, and a public holiday in Spain
        ("2026-12-24 11:00", False),  # a closure
        ("2026-12-29 11:00", False),  # inside a closed range
        ("2026-12-31 11:00", True),
    ],
)
def test_office_hours(moment: str, is_open: bool) -> None:
    assert OFFICE.is_open(at(moment)) is is_open


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ("2026-11-23 21:59", False),
        ("2026-11-23 22:00", True),
        ("2026-11-24 05:59", True),  # Tuesday morning, still Monday's shift
        ("2026-11-24 06:00", False),
        ("2026-11-24 23:00", False),  # no Tuesday night shift
        ("2026-11-27 23:59", True),  # 24:00 as an end
        ("2026-11-28 00:00", False),
    ],
)
def test_overnight_shift(moment: str, is_open: bool) -> None:
    assert NIGHT.is_open(at(moment)) is is_open


def test_time_zone_is_the_schedules_own() -> None:
    # 08:30 UTC on a winter Monday is 09:30 in Madrid.
    assert OFFICE.is_open(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
    assert not OFFICE.is_open(datetime(2026, 11, 23, 7, 30, tzinfo=UTC))


def test_next_opening_skips_weekends_holidays_and_closures() -> None:
    assert OFFICE.next_opening(at("2026-11-28 11:00")) == at("2026-11-30 09:00")
    # Thursday 24th closed, Friday 25th a holiday, the weekend, 28th to 30th closed.
    assert OFFICE.next_opening(at("2026-12-23 19:30")) == at("2026-12-31 09:00")
    assert OFFICE.next_opening(at("2026-11-23 14:30")) == at("2026-11-23 16:00")
    moment = at("2026-11-23 10:00")
    assert OFFICE.next_opening(moment) == moment


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"timezone": "UTC", "hours": {"mon": ["9-17"]}}, "'9-17' is not an interval"),
        ({"timezone": "UTC", "hours": {"mon": ["10:00-10:00"]}}, "'10:00-10:00' is empty"),
        ({"timezone": "UTC", "hours": {"monday": ["09:00-10:00"]}}, "Input should be 'mon'"),
        ({"timezone": "UTC", "closed": ["2026-13-01"]}, "'2026-13-01' is not a date"),
        ({"timezone": "UTC", "closed": ["2026-12-31..2026-12-01"]}, "ends before it starts"),
        ({"timezone": "UTC", "holidays": {"country": "XX"}}, "holidays:"),
    ],
)
def test_bad_schedules_say_why(body: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Schedule.model_validate(body)
    assert message in str(caught.value)
