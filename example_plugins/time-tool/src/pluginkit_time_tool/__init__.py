"""Time tools for pluginkit: the current time in a zone, a time converted between zones, the difference between
two dates — with the IANA zone database through :mod:`zoneinfo`.

Everything a host needs is the :data:`tools` set, which the entry point names: it lists these functions as tools
(schemas derived from their signatures and docstrings) and runs them when called.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pluginkit.tools import ToolError, ToolSet

__all__ = ["convert_time", "current_time", "date_difference", "tools"]

tools = ToolSet(description="Time zones and dates: current time, conversion between zones, date differences.")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Paris' or 'UTC'") from None


def _describe(moment: datetime) -> dict[str, Any]:
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return {
        "time": moment.isoformat(),
        "zone": str(moment.tzinfo),
        "utc_offset": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
        "abbreviation": moment.tzname(),
        "dst": bool(moment.dst()),
        "weekday": moment.strftime("%A"),
    }


def _parse(text: str, what: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise ToolError(f"{what} {text!r} is not an ISO 8601 date or time, such as '2024-05-01T14:30'") from None


@tools.tool
def current_time(zone: str = "UTC") -> dict[str, Any]:
    """The current date and time in a time zone.

    Args:
        zone: IANA time zone name, such as "Europe/Paris", "America/New_York" or "UTC".
    """
    now = datetime.now(_zone(zone))
    return {**_describe(now), "unix": int(now.timestamp())}


@tools.tool
def convert_time(time: str, from_zone: str, to_zone: str) -> dict[str, Any]:
    """Convert a date and time from one time zone to another.

    Args:
        time: ISO 8601 date and time, such as "2024-05-01T14:30". A time with an explicit UTC offset is taken
            as it is; otherwise it is the wall-clock time in from_zone.
        from_zone: IANA time zone of the given time.
        to_zone: IANA time zone to convert to.
    """
    source, target = _zone(from_zone), _zone(to_zone)
    moment = _parse(time, "time")
    ambiguous = False
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=source)
        if local.astimezone(UTC).astimezone(source).replace(tzinfo=None) != moment:
            raise ToolError(f"{moment.isoformat()} does not exist in {from_zone}: the clocks skip it (DST change)")
        ambiguous = local.utcoffset() != local.replace(fold=1).utcoffset()
        moment = local
    converted = moment.astimezone(target)
    answer: dict[str, Any] = {"from": _describe(moment), "to": _describe(converted)}
    if ambiguous:
        answer["note"] = f"{time} happens twice in {from_zone} (DST ends); the first occurrence was used"
    return answer


@tools.tool
def date_difference(start: str, end: str, zone: str = "UTC") -> dict[str, Any]:
    """The time between two dates (or dates and times): days, weeks, calendar years/months/days.

    Args:
        start: ISO 8601 date or date and time, such as "2024-01-31" or "2024-01-31T09:00".
        end: ISO 8601 date or date and time; may be before start (the difference is then negative).
        zone: IANA time zone for times given without a UTC offset (their difference follows its DST changes).
    """
    first, second = _parse(start, "start"), _parse(end, "end")
    tz = _zone(zone)
    first = first if first.tzinfo else first.replace(tzinfo=tz)
    second = second if second.tzinfo else second.replace(tzinfo=tz)
    seconds = int((second.astimezone(UTC) - first.astimezone(UTC)).total_seconds())  # real elapsed time
    sign = -1 if seconds < 0 else 1
    early, late = (first, second) if sign > 0 else (second, first)
    years, months, days = _calendar(early.date(), late.date())
    whole_days = (late.date() - early.date()).days
    return {
        "days": sign * whole_days,
        "weeks": sign * (whole_days // 7),
        "remaining_days": sign * (whole_days % 7),
        "calendar": {"years": sign * years, "months": sign * months, "days": sign * days},
        "total_seconds": seconds,
        "total_hours": round(seconds / 3600, 4),
    }


def _calendar(early: date, late: date) -> tuple[int, int, int]:
    """Whole years, then whole months, then days from ``early`` to ``late`` (Jan 31 + 1 month = end of Feb)."""
    months = (late.year - early.year) * 12 + (late.month - early.month)
    if _add_months(early, months) > late:
        months -= 1
    days = (late - _add_months(early, months)).days
    return months // 12, months % 12, days


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
