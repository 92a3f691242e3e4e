"""Schedules: named weekly timetables in a time zone, with holidays and closures.

```yaml
schedules:
  office:
    timezone: Europe/Madrid
    hours:
      mon: ["09:00-14:00", "16:00-19:00"]   # a split shift
      fri: ["09:00-15:00"]
    holidays: {country: ES, subdivision: MD}   # public holidays, from the holidays package
    closed: ["2026-12-24", "2026-12-28..2026-12-31"]
  night:
    timezone: Europe/Madrid
    hours: {mon: ["22:00-06:00"]}             # overnight: Monday 22:00 to Tuesday 06:00
```

An interval belongs to the day it starts on: a holiday or a closure on that day closes it,
including the part of an overnight interval that runs into the next day.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as public_holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_INTERVAL = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class Interval(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: int  # minutes after midnight
    end: int  # minutes after midnight; end <= start means it runs past midnight

    @classmethod
    def parse(cls, text: str) -> Interval:
        match = _INTERVAL.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not an interval like '09:00-17:30'")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h2 == 24 and m2 != 0:
            raise ValueError(f"{text!r}: 24:00 is the latest end")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start == end:
            raise ValueError(f"{text!r} is empty")
        return cls(start=start, end=end)

    @property
    def overnight(self) -> bool:
        return self.end < self.start


class HolidayCalendar(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str = Field(pattern=r"^[A-Z]{2}$")
    subdivision: str | None = None


class Schedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str
    hours: dict[Day, list[str]] = Field(default_factory=dict)
    holidays: HolidayCalendar | None = None
    closed: list[str] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("hours")
    @classmethod
    def _intervals(cls, value: dict[Day, list[str]]) -> dict[Day, list[str]]:
        for intervals in value.values():
            for text in intervals:
                Interval.parse(text)
        return value

    @field_validator("closed")
    @classmethod
    def _dates(cls, value: list[str]) -> list[str]:
        for text in value:
            _closure(text)
        return value

    @model_validator(mode="after")
    def _calendar(self) -> Self:
        if self.holidays is not None:
            try:
                public_holidays.country_holidays(
                    self.holidays.country, subdiv=self.holidays.subdivision
                )
            except NotImplementedError as exc:
                raise ValueError(f"holidays: {exc}") from exc
        return self

    @cached_property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _week(self) -> dict[int, list[Interval]]:
        return {
            DAYS.index(day): [Interval.parse(t) for t in texts] for day, texts in self.hours.items()
        }

    @cached_property
    def _closures(self) -> list[tuple[date, date]]:
        return [_closure(text) for text in self.closed]

    @cached_property
    def _holidays(self) -> public_holidays.HolidayBase | None:
        if self.holidays is None:
            return None
        return public_holidays.country_holidays(
            self.holidays.country, subdiv=self.holidays.subdivision
        )

    def is_closed_day(self, day: date) -> bool:
        if any(first <= day <= last for first, last in self._closures):
            return True
        return self._holidays is not None and day in self._holidays

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self._zone)
        minute = local.hour * 60 + local.minute
        today, yesterday = local.date(), local.date() - timedelta(days=1)
        if not self.is_closed_day(today):
            for interval in self._week.get(today.weekday(), []):
                if interval.overnight and minute >= interval.start:
                    return True
                if not interval.overnight and interval.start <= minute < interval.end:
                    return True
        if not self.is_closed_day(yesterday):
            for interval in self._week.get(yesterday.weekday(), []):
                if interval.overnight and minute < interval.end:
                    return True
        return False

    def next_opening(self, at: datetime, within_days: int = 14) -> datetime | None:
        """The first moment at or after `at` when the schedule is open (None: not soon)."""
        local = at.astimezone(self._zone)
        if self.is_open(at):
            return at
        for offset in range(within_days + 1):
            day = local.date() + timedelta(days=offset)
            if self.is_closed_day(day):
                continue
            starts = sorted(i.start for i in self._week.get(day.weekday(), []))
            for start in starts:
                moment = datetime.combine(day, time(start // 60, start % 60), self._zone)
                if moment >= local:
                    return moment.astimezone(UTC)
        return None


def _closure(text: str) -> tuple[date, date]:
    """`2026-12-24`, or the range `2026-12-28..2026-12-31` (both ends closed)."""
    first, _, last = text.partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if last else start
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date or a range like 2026-12-28..2026-12-31") from exc
    if end < start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end
