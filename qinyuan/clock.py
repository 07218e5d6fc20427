"""What time it is for the compound: real time, or a working morning of the demo day (2022-01-10)."""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
# The demo's recorded world stops just before DEMO_OPEN; whatever the real hour, a visitor sees the demo day
# between DEMO_OPEN and DEMO_CLOSE (the morning shifts in progress), the real day's 24 hours slowed down into it.
DEMO_OPEN = time(10, 0)
DEMO_CLOSE = time(12, 30)
_DAY = 24 * 3600


def real_now() -> datetime:
    return datetime.now(TZ)


def demo_now(demo_date: date, real: datetime) -> datetime:
    """The demo day's moment for a real moment: real midnight -> DEMO_OPEN, the next midnight -> DEMO_CLOSE."""
    real = real.astimezone(TZ)
    since_midnight = (real - datetime.combine(real.date(), time(0, 0), tzinfo=TZ)).total_seconds()
    opening = datetime.combine(demo_date, DEMO_OPEN, tzinfo=TZ)
    span = (datetime.combine(demo_date, DEMO_CLOSE, tzinfo=TZ) - opening).total_seconds()
    return opening + timedelta(seconds=int(since_midnight / _DAY * span))


def now(demo_date: date | None = None) -> datetime:
    """QINYUAN_NOW pins the clock (tests, benchmarks). On a demo database the real time of day (or a pinned
    moment of another day) becomes a moment of the demo day's working morning."""
    pinned = os.environ.get("QINYUAN_NOW")
    if pinned:
        value = datetime.fromisoformat(pinned)
        value = value if value.tzinfo else value.replace(tzinfo=TZ)
        if demo_date is None or value.astimezone(TZ).date() == demo_date:
            return value
        return demo_now(demo_date, value)
    current = real_now()
    return current if demo_date is None else demo_now(demo_date, current)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=TZ)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return day_start(day) + timedelta(hours=hour, minutes=minute)
