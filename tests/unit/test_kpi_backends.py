"""Every figure of the demo (qinyuan/kpi.py, the overview's figures, deltas, attention lists and chart data,
the testing board, the duty summary) computed on DuckDB and on PostgreSQL from the same demo must be equal
(floats to 1e-9): the same SQL text must not mean something else on the other engine (integer division,
NULL order, rounding, time zone arithmetic)."""

from __future__ import annotations

import math
import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from qinyuan import clock, duty, kpi, scale, testing, users
from qinyuan import overview as ov
from qinyuan.db import Database
from tests.conftest import pg_copy_of

TODAY = date(2022, 1, 10)
SCOPES = (None, (1,), (5, 20), tuple(range(1, 52, 2)))
DAYS = (TODAY, TODAY - timedelta(days=1), date(2022, 1, 5), date(2022, 1, 3))
MOMENTS = (None, clock.at(TODAY, 17), clock.at(TODAY, 23, 30), clock.at(date(2022, 1, 9), 12))


@pytest.fixture(params=[1, 2], ids=["demo", "demo-x2"])
def both(request, demo_file_template, tmp_path, pg_databases):
    """(DuckDB, PostgreSQL, scale): databases holding the same demo: as built, and twice over (102 units, more than
    the heatmap and the donation chart list, so that their 'most in need first' orders count too)."""
    path = str(tmp_path / "demo.duckdb")
    shutil.copy(demo_file_template, path)
    if request.param > 1:
        db = Database.open(path)
        scale.replicate(db, request.param)
        with db.bulk() as cur:  # units nobody has visited yet: NULLs where the heatmap orders by days since a visit
            cur.execute("UPDATE households SET last_visit_at = NULL WHERE unit_id IN (SELECT id FROM units WHERE id % 17 = 0)")
        db.close()
    name = pg_copy_of(pg_databases, path)
    duck, pg = Database.open(path), Database.open(pg_databases.url(name))
    assert (duck.backend, pg.backend) == ("duckdb", "postgres")
    yield duck, pg, request.param
    pg.close()
    duck.close()
    pg_databases.drop(name)


def _plain(value):
    """A value as plain Python, so that the two engines' drivers (numpy, Decimal, pandas NA) compare alike."""
    if isinstance(value, pd.DataFrame):
        return {"columns": list(value.columns), "rows": [_plain(r) for r in value.to_dict("records")]}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Decimal | np.floating):
        return float(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return ("ts", value.timestamp()) if value.tzinfo else ("naive", value.isoformat())
    return value


def _same(a, b, where: str = "") -> list[str]:
    """Where a and b differ (numbers to 1e-9; ints and equal floats are the same figure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a.keys() ^ b.keys())}"]
        return [d for k in a for d in _same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} rows vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _same(x, y, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return [] if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) else [f"{where}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def everything(db: Database) -> dict:
    """Every figure the overview, the briefing and the KPI command show, for several scopes, days and moments."""
    out: dict = {}
    for units in SCOPES:
        out[f"kpi {units}"] = kpi.compute(db, units=units)
        out[f"trips {units}"] = kpi.treatment_trips(db, TODAY + timedelta(days=1), units)
        for day in DAYS:
            figures, deltas = ov.with_deltas(db, units, day)
            out[f"overview {units} {day}"] = {"figures": figures, "deltas": deltas}
        out[f"heatmap {units}"] = ov.unit_heatmap(db, units)
        out[f"heatmap-5 {units}"] = ov.unit_heatmap(db, units, limit=5)
        out[f"heatmap-past {units}"] = ov.unit_heatmap(db, units, DAYS[1], limit=1000 if units is None else 5)
        out[f"rounds {units}"] = ov.coverage_by_round(db, units)
        out[f"medicine-by-day {units}"] = ov.medicine_by_day(db, units)
        out[f"delivery-hours {units}"] = ov.delivery_hours(db, units)
        out[f"open-cases {units}"] = ov.open_cases_over_time(db, units)
        out[f"donation {units}"] = ov.donation_by_building_hour(db, units)
        out[f"donation-1 {units}"] = ov.donation_by_building_hour(db, units, 1, limit=5)
        for now in MOMENTS:
            for role in (None, "committee", "medic", "captain"):
                out[f"attention {units} {now} {role}"] = ov.attention(db, units, now, role)
    out["duty-fill"] = ov.duty_fill(db)
    out["donation-batches"] = ov.donation_batches(db)
    committee, captain, member = (users.actor_for(db, name) for name in ("committee", "captain01", "member001"))
    out["team"] = ov.team_figures(db, member)
    out["next-shift"] = ov.next_shift(db, member.volunteer_id)
    out["unit-detail"] = ov.unit_detail(db, committee, 5)
    rnd = kpi.current_round(db)
    for actor in (committee, captain):
        summary = testing.board_summary(db, actor, rnd["id"])
        out[f"testing {actor.username}"] = {**summary, "board": testing.board(db, actor, rnd["id"])}
    for day in DAYS:
        out[f"duty-summary {day}"] = duty.day_summary(db, committee, day)
    out["duty-board"] = duty.board_totals(duty.board(db, committee))
    return _plain(out)


# Needs a PostgreSQL server: runs in the PostgreSQL pass of `make test`, which has started one (and still builds
# its own DuckDB copy of the demo beside it).
@pytest.mark.postgres_only
def test_every_figure_is_the_same_on_duckdb_and_postgres(both):
    duck, pg, times = both
    on_duck, on_pg = everything(duck), everything(pg)
    differences = _same(on_duck, on_pg)
    assert not differences, "\n".join(differences[:40])
    # the comparison is about something: the record's figures, and ratios that are not 0 or 1
    k = on_duck["kpi None"]
    record = (k["teams"], k["members"], k["duty_person_times"], k["medicine_households_served"])
    assert record == (51 * times, 338 * times, 122 * times, 108 * times)
    assert 0 < k["current_round_coverage"] < 1 and 0 < k["donation_batch_coverage"] < 1
    assert any(r["coverage"] is not None and 0 < r["coverage"] < 1 for r in on_duck["heatmap None"]["rows"])
    assert any(0 < r["rate"] < 1 for r in on_duck["duty-fill"]["rows"])
