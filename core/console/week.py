"""A schedule's week drawn as SVG: the open intervals of each day of this week in the
schedule's time zone, the days closed (holidays, closures), and where now is."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import holidays as public_holidays

from core.schedules import DAYS, Interval, Schedule

LEFT = 120
HOUR = 24
ROW = 24
TOP = 24
WIDTH = LEFT + 24 * HOUR + 16


def _bar(x0: float, x1: float, y: float, css: str) -> str:
    size = f'width="{x1 - x0:.1f}" height="{ROW - 8}"'
    return f'<rect class="{css}" x="{x0:.1f}" y="{y + 4:.1f}" {size}/>'


def draw_week(schedule: Schedule, now: datetime) -> str:
    local = now.astimezone(ZoneInfo(schedule.timezone))
    monday = local.date() - timedelta(days=local.weekday())
    height = TOP + 7 * ROW + 28
    open_now = schedule.is_open(now)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="week" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}">',
        "<style>.open{fill:#3b9c5a}.closed-day{fill:#f3d4d2}.today{fill:#eef4ff}"
        ".now{stroke:#d9342b;stroke-width:2}text{font:12px sans-serif;fill:#1d2433}"
        ".grid{stroke:#ccd;stroke-width:.5}</style>",
    ]
    for hour in range(0, 25, 3):
        x = LEFT + hour * HOUR
        parts.append(f'<line class="grid" x1="{x}" y1="{TOP - 4}" x2="{x}" y2="{TOP + 7 * ROW}"/>')
        parts.append(f'<text x="{x - 8}" y="{TOP - 8}">{hour:02d}h</text>')
    hours = {DAYS.index(day): texts for day, texts in schedule.hours.items()}
    for index in range(7):
        day = monday + timedelta(days=index)
        y = TOP + index * ROW
        closed = schedule.is_closed_day(day)
        if day == local.date():
            parts.append(f'<rect class="today" x="0" y="{y}" width="{WIDTH}" height="{ROW}"/>')
        if closed:
            parts.append(_bar(LEFT, LEFT + 24 * HOUR, y, "closed-day"))
        label = f"{DAYS[index].capitalize()} {day:%d %b}"
        if closed:
            label += " closed"
            why = closure_reason(schedule, day)
            parts.append(f'<text x="{LEFT + 8}" y="{y + ROW / 2 + 4}">{escape(why)}</text>')
        parts.append(f'<text x="4" y="{y + ROW / 2 + 4}">{escape(label)}</text>')
        if not closed:
            for text in hours.get(index, []):
                parts.extend(_interval(Interval.parse(text), y, index))
    minute = local.hour * 60 + local.minute
    at = LEFT + minute / 60 * HOUR
    y = TOP + local.weekday() * ROW
    parts.append(f'<line class="now" x1="{at:.1f}" y1="{y}" x2="{at:.1f}" y2="{y + ROW}"/>')
    state = "open now" if open_now else "closed now"
    parts.append(
        f'<text class="now-label" x="{LEFT}" y="{TOP + 7 * ROW + 18}">'
        f"{escape(state)} ({local:%a %H:%M} {escape(schedule.timezone)})</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)


def closure_reason(schedule: Schedule, day: date) -> str:
    """Why the schedule is closed on `day` (it is): the holiday's name, or a closure."""
    if schedule.holidays is not None:
        calendar = public_holidays.country_holidays(
            schedule.holidays.country, subdiv=schedule.holidays.subdivision
        )
        name = calendar.get(day)
        if name:
            return f"holiday: {name}"
    return "closed (a closure in the schedule)"


def _interval(interval: Interval, y: float, index: int) -> list[str]:
    start = LEFT + interval.start / 60 * HOUR
    if not interval.overnight:
        return [_bar(start, LEFT + interval.end / 60 * HOUR, y, "open")]
    # Past midnight: the rest is drawn at the start of the next day's row (Sunday's on Monday).
    next_y = TOP + ((index + 1) % 7) * ROW
    return [
        _bar(start, LEFT + 24 * HOUR, y, "open"),
        _bar(LEFT, LEFT + interval.end / 60 * HOUR, next_y, "open"),
    ]
