"""The demo's clock: whatever the real hour, a visitor sees a working morning of the demo day, with nothing
recorded after "now" and the morning shifts at their posts."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from qinyuan import clock, duty, users
from qinyuan.demo import DEMO_DATE

# Columns that hold plans (a shift, a slot, a due date), not things that happened.
PLANNED = {
    ("shifts", "start_at"),
    ("shifts", "end_at"),
    ("shifts", "day"),
    ("test_slots", "slot_start"),
    ("residents", "due_date"),
    ("schema_migrations", "applied_at"),
    ("test_rounds", "day"),
    ("donation_batches", "day"),
}


def recorded_columns(db) -> list[tuple[str, str]]:
    rows = db.rows(
        "SELECT table_name, column_name FROM information_schema.columns WHERE data_type LIKE 'TIMESTAMP%' OR data_type = 'DATE'"
    )
    return [(t, c) for t, c in rows if (t, c) not in PLANNED]


@pytest.mark.parametrize("real", ["2026-12-05T01:52:00+08:00", "2026-12-05T23:00:00+08:00"])
def test_at_any_real_hour_the_demo_shows_a_working_morning(db, monkeypatch, real):
    monkeypatch.setenv("QINYUAN_NOW", real)
    now = db.now()
    assert now.date() == DEMO_DATE
    assert clock.DEMO_OPEN <= now.astimezone(clock.TZ).time() < clock.DEMO_CLOSE
    later = {}
    for table, column in recorded_columns(db):
        top = db.scalar(f"SELECT max({column}) FROM {table}")
        if top is not None and (top > now if isinstance(top, datetime) else top > now.date()):
            later[(table, column)] = top
    assert later == {}, f"recorded after the demo's now {now}: {later}"
    rows = duty.board(db, users.actor_for(db, "committee"))
    running = [r for r in rows if r["now"]]
    assert running, "no shift in progress"
    assert sum(r["checked_in_now"] for r in running) > 0, "nobody at their post"


def test_the_demo_clock_advances_with_the_real_day():
    night, late = (
        clock.demo_now(DEMO_DATE, datetime.fromisoformat(v)) for v in ("2026-12-05T01:52:00+08:00", "2026-12-05T23:00:00+08:00")
    )
    assert night < late
    assert clock.demo_now(DEMO_DATE, datetime(2026, 12, 5, 0, 0, tzinfo=clock.TZ)).time() == clock.DEMO_OPEN


def test_a_pinned_moment_of_the_demo_day_stays_pinned(db, monkeypatch):
    monkeypatch.setenv("QINYUAN_NOW", "2022-01-10T09:00:00+08:00")
    assert db.now().astimezone(clock.TZ).time() == time(9, 0)
