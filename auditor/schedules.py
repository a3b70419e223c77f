"""Scheduled actions of Application Auto Scaling: when one can never run, or would be refused.

The formats are PutScheduledAction's: ``at(yyyy-mm-ddThh:mm:ss)`` once, ``rate(value unit)`` with a
positive integer and a unit of ``minute(s)``, ``hour(s)`` or ``day(s)``, and ``cron(fields)`` with six
fields (minutes, hours, day of month, month, day of week, year), of which day of month or day of week
must be ``?``, as for EventBridge. ``at`` and ``cron`` read UTC unless ``Timezone`` says otherwise.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from datetime import timezone as _timezone

_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.*)\)")
LATEST_OFFSET = timedelta(hours=14)
"""The farthest any time zone is ahead of UTC: an ``at()`` earlier than now minus this has passed everywhere."""


def problem(schedule, timezone=None, start_time=None, end_time=None, min_capacity=None, max_capacity=None,
            now: datetime | None = None) -> str | None:
    """Why a scheduled action never runs or is refused, or ``None`` (also when a value is not known)."""
    now = now or datetime.now(tz=_UTC)
    if not isinstance(schedule, str):
        return None
    expression = schedule.strip()
    at = _AT.fullmatch(expression)
    if at:
        moment = _parse(at.group(1))
        if moment is None:
            return f"{schedule!r} is not a valid date and time"
        if moment < now - LATEST_OFFSET:
            return f"it runs once, at {at.group(1)}, which has passed"
    elif _RATE.fullmatch(expression):
        if int(_RATE.fullmatch(expression).group(1)) < 1:
            return f"{schedule!r} needs a positive rate"
    elif _CRON.fullmatch(expression):
        reason = _cron_problem(_CRON.fullmatch(expression).group(1))
        if reason:
            return f"{schedule!r} is not a valid cron expression: {reason}"
    else:
        return (f"{schedule!r} is not a schedule Application Auto Scaling reads "
                "(at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(six fields))")
    if isinstance(timezone, str) and _unknown_zone(timezone):
        return f"Timezone {timezone!r} is not a time zone name (IANA, such as Europe/Paris)"
    end = _parse(end_time) if isinstance(end_time, str) else None
    if end is not None and end < now:
        return f"its EndTime {end_time} has passed"
    start = _parse(start_time) if isinstance(start_time, str) else None
    if start is not None and end is not None and end <= start:
        return f"its EndTime {end_time} is not after its StartTime {start_time}"
    if isinstance(min_capacity, (int, float)) and isinstance(max_capacity, (int, float)) \
            and min_capacity > max_capacity:
        return f"it sets MinCapacity {min_capacity:g} above MaxCapacity {max_capacity:g}, which the service refuses"
    return None


_UTC = _timezone.utc


def _parse(value: str) -> datetime | None:
    """An ISO date and time (``Z``, an offset, or none: UTC)."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_UTC)


def _unknown_zone(name: str) -> bool:
    """True when the time zone database says ``name`` is no zone (never when there is no database to ask)."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except zoneinfo.ZoneInfoNotFoundError:
        return bool(zoneinfo.TZPATH) or _has_tzdata()
    except ValueError:
        return True
    return False


def _has_tzdata() -> bool:
    try:
        import tzdata  # noqa: F401 - the database as a package (Windows)
    except ImportError:
        return False
    return True


def _cron_problem(fields: str) -> str | None:
    parts = fields.split()
    if len(parts) != 6:
        return f"{len(parts)} fields, six are needed (minutes hours day-of-month month day-of-week year)"
    day_of_month, day_of_week = parts[2], parts[4]
    if day_of_month != "?" and day_of_week != "?":
        return "day of month or day of week must be '?'"
    if day_of_month == "?" and day_of_week == "?":
        return "only one of day of month and day of week may be '?'"
    return None
