"""N times the demo world, with bulk SQL inside DuckDB (no Python row loops).

The base world (ids 1..max per table) is copied N-1 times; copy k shifts every id by k times the
base maximum, so ids stay unique and references (unit -> team, household -> unit, resident ->
household, order -> household, assignment -> shift and volunteer, ...) stay inside their copy.
Copies get new building numbers (copy k: buildings 17k+1..17k+17) so building units stay distinct.
Compound-wide things stay single: users (the demo accounts keep their scopes), duty posts,
test rounds, suppliers, supply items, donation batches (their portions grow with households).
Sequences used by the services are moved past the copied ids so new rows never collide."""

from __future__ import annotations

import json
import time

from . import clock
from .db import Database

# table -> {column: offset source}: "T" shifts by k * max(T.id), "building" by k * max(units.building).
# Columns not named are copied as they are; tables in NO_ID get fresh ids from their sequence.
PLAN: list[tuple[str, dict[str, str]]] = [
    ("units", {"id": "units", "building": "building", "team_id": "teams"}),
    ("teams", {"id": "teams", "captain_id": "volunteers"}),
    ("volunteers", {"id": "volunteers", "team_id": "teams"}),
    ("households", {"id": "households", "unit_id": "units"}),
    ("residents", {"id": "residents", "household_id": "households"}),
    ("census_visits", {"household_id": "households"}),
    ("treatments", {"resident_id": "residents"}),
    ("test_slots", {"unit_id": "units"}),
    ("test_results", {"resident_id": "residents"}),
    ("shifts", {"id": "shifts"}),
    ("shift_assignments", {"id": "shift_assignments", "shift_id": "shifts", "volunteer_id": "volunteers"}),
    ("medicine_orders", {"id": "medicine_orders", "household_id": "households", "resident_id": "residents"}),
    ("medicine_events", {"order_id": "medicine_orders"}),
    ("emergency_cases", {"id": "emergency_cases", "household_id": "households", "resident_id": "residents"}),
    ("emergency_events", {"case_id": "emergency_cases"}),
    ("grocery_orders", {"id": "grocery_orders", "household_id": "households", "unit_id": "units"}),
    ("grocery_events", {"order_id": "grocery_orders"}),
    ("donation_deliveries", {"household_id": "households"}),
    ("stock_movements", {}),
    ("carrying_tasks", {"id": "carrying_tasks"}),
]
NO_ID = {"census_visits", "treatments", "medicine_events", "emergency_events", "grocery_events", "stock_movements"}
SEQUENCES = {
    "teams": "team_seq",
    "volunteers": "volunteer_seq",
    "households": "household_seq",
    "residents": "resident_seq",
    "shifts": "shift_seq",
    "shift_assignments": "assignment_seq",
    "medicine_orders": "medicine_seq",
    "emergency_cases": "case_seq",
    "grocery_orders": "grocery_seq",
    "carrying_tasks": "task_seq",
}


def _columns(cur, table: str) -> list[str]:
    return [
        r[0]
        for r in cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]


def _advance_sequence(cur, sequence: str, past: int) -> None:
    """Make nextval(sequence) return more than `past` (DuckDB cannot restart a sequence)."""
    value = cur.execute(f"SELECT nextval('{sequence}')").fetchone()[0]
    if value <= past:
        cur.execute(f"SELECT max(nextval('{sequence}')) FROM range(?)", [past - value]).fetchone()


def _copy_sql(cur, table: str, shifts: dict, base: dict, scale: int) -> str:
    """The INSERT … SELECT that adds copies 1..scale-1 of the table's base rows, ids and references shifted."""
    columns = [c for c in _columns(cur, table) if not (table in NO_ID and c == "id")]
    exprs = []
    for column in columns:
        source = shifts.get(column)
        if table == "teams" and column == "name":  # 沁园红第52队: the number follows the new id
            exprs.append(f"regexp_replace(x.name, '[0-9]+', CAST(x.id + k.k * {int(base['teams'])} AS VARCHAR))")
        else:
            exprs.append(f"x.{column} + k.k * {int(base[source])}" if source else f"x.{column}")
    # Only the base copy is read: rows whose own id (or first reference) lies in the base range.
    if "id" in shifts:
        base_filter = f"x.id <= {int(base[table])}"
    elif shifts:
        column, source = next(iter(shifts.items()))
        base_filter = f"x.{column} <= {int(base[source])}"
    else:
        base_filter = f"x.id <= {int(cur.execute(f'SELECT coalesce(max(id), 0) FROM {table}').fetchone()[0])}"
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(exprs)} "
        f"FROM {table} x, range(1, {int(scale)}) k(k) WHERE {base_filter}"
    )
    return sql


def replicate(db: Database, scale: int) -> dict:
    """Turn the (base) demo world into `scale` copies of it. Returns what it did, with timings."""
    if scale <= 1:
        return {"scale": 1, "seconds": 0.0, "tables": {}}
    started = time.perf_counter()
    report: dict = {"scale": scale, "tables": {}}
    with db.bulk() as cur:
        base = {
            t: cur.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0]
            for t in (
                "units",
                "teams",
                "volunteers",
                "households",
                "residents",
                "shifts",
                "shift_assignments",
                "medicine_orders",
                "emergency_cases",
                "grocery_orders",
                "carrying_tasks",
            )
        }
        base["building"] = cur.execute("SELECT coalesce(max(building), 0) FROM units").fetchone()[0]
        for table, shifts in PLAN:
            t0 = time.perf_counter()
            sql = _copy_sql(cur, table, shifts, base, scale)
            cur.execute(sql)
            report["tables"][table] = {
                "rows": cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0],
                "seconds": round(time.perf_counter() - t0, 3),
            }
        cur.execute("UPDATE donation_batches SET portions = portions * ?", [int(scale)])
        for table, sequence in SEQUENCES.items():
            _advance_sequence(cur, sequence, cur.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0)
        report["seconds"] = round(time.perf_counter() - started, 3)
        cur.execute(
            "INSERT INTO audit_log (ts, actor, action, entity, entity_id, before, after) "
            "VALUES (?, 'system', 'demo.scale', 'database', NULL, NULL, ?)",
            [clock.real_now(), json.dumps({"scale": scale, "seconds": report["seconds"]})],
        )
        cur.execute(
            "INSERT INTO settings VALUES ('demo_scale', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [str(int(scale))],
        )
    db.con.execute("CHECKPOINT")
    report["seconds_total"] = round(time.perf_counter() - started, 3)
    return report
