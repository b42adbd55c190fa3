"""Report periods: calendar days, Monday-to-Sunday weeks and calendar months, in the
project's time zone (settings.TIME_ZONE). A period is `[start, end)`; `end` is the first day
after it. A period is due once its end has come.

The periods of a subscription follow each other from the one containing its `starts_on`
day: each starts where the previous delivered one ended, so a late beat run, a run repeated
or a run after a outage finds the same periods, never periods computed from "now".
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.utils import timezone

from reports.choices import Cadence

Period = tuple[dt.date, dt.date]


def period_containing(day: dt.date, cadence: str) -> Period:
    if cadence == Cadence.DAILY:
        return day, day + dt.timedelta(days=1)
    if cadence == Cadence.WEEKLY:
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=7)
    if cadence == Cadence.MONTHLY:
        start = day.replace(day=1)
        days = calendar.monthrange(start.year, start.month)[1]
        return start, start + dt.timedelta(days=days)
    raise ValueError(f"unknown cadence {cadence!r}")


def period_after(end: dt.date, cadence: str) -> Period:
    """The period that starts where the previous one ended. After a change of cadence the
    first one may be short (it ends where the new cadence's period ends): no gap, no overlap."""
    return end, period_containing(end, cadence)[1]


def period_bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The period's start and end as aware datetimes (midnight in the project's time zone)."""
    tz = timezone.get_current_timezone()
    return tuple(dt.datetime.combine(day, dt.time.min, tzinfo=tz) for day in period)


def period_display(period: Period) -> str:
    start, end = period
    last = end - dt.timedelta(days=1)
    return start.isoformat() if start == last else f"{start.isoformat()} – {last.isoformat()}"
