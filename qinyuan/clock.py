"""What time it is for the compound: real time, or the demo day (2022-01-10) at today's time of day."""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def real_now() -> datetime:
    return datetime.now(TZ)


def now(demo_date: date | None = None) -> datetime:
    """QINYUAN_NOW pins the clock (tests, benchmarks); a demo database shifts today's time to its date."""
    pinned = os.environ.get("QINYUAN_NOW")
    if pinned:
        value = datetime.fromisoformat(pinned)
        return value if value.tzinfo else value.replace(tzinfo=TZ)
    current = real_now()
    if demo_date is None:
        return current
    return datetime.combine(demo_date, current.timetz())


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=TZ)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return day_start(day) + timedelta(hours=hour, minutes=minute)
