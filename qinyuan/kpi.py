"""Key figures, each an SQL aggregation over rows. `units` confines household-based figures to a
scope (a captain's or member's units); None means the whole compound."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from . import medicine, testing
from .db import Database


def _in(column: str, values) -> tuple[str, list]:
    if values is None:
        return "TRUE", []
    values = list(values)
    if not values:
        return "FALSE", []
    return f"{column} IN ({', '.join('?' for _ in values)})", values


def seconds(interval: str) -> str:
    """SQL for the seconds in an interval (e.g. "a - b" of two timestamps) as a double on every backend
    (PostgreSQL's extract gives NUMERIC, which rounds and casts differently from DuckDB's double)."""
    return f"CAST(extract(epoch FROM ({interval})) AS DOUBLE PRECISION)"


def ratio(part: str, whole: str, digits: int = 4) -> str:
    """SQL for part / whole rounded to `digits`, the same on every backend: a double division (integers
    would divide to 0 on PostgreSQL), NULL for a zero whole, rounded as a DECIMAL (PostgreSQL has no
    round(double, n)); scale 12 keeps the double's value exact enough for the rounding."""
    return f"round(CAST(CAST({part} AS DOUBLE PRECISION) / nullif({whole}, 0) AS DECIMAL(18, 12)), {int(digits)})"


def current_round(db: Database, as_of: date | None = None) -> dict | None:
    """The round being worked: the latest one that has started by as_of."""
    day = as_of or db.today()
    rows = db.dicts("SELECT * FROM test_rounds WHERE day <= ? ORDER BY day DESC, id DESC LIMIT 1", [day])
    return rows[0] if rows else None


def _grid_figures(db: Database, unit_sql: str, unit_p: list, team_sql: str, team_p: list) -> dict:
    """Units, teams, captains, members, carriers, households, residents, residents needing support."""
    k: dict = {}
    row = db.rows(
        f"""SELECT (SELECT count(*) FROM units u WHERE {team_sql}),
                   (SELECT count(DISTINCT t.id) FROM teams t JOIN units u ON u.team_id = t.id WHERE {team_sql}),
                   (SELECT count(*) FROM volunteers v WHERE v.active AND v.is_captain
                        AND v.team_id IN (SELECT u.team_id FROM units u WHERE {team_sql})),
                   (SELECT count(*) FROM volunteers v WHERE v.active AND NOT v.is_captain
                        AND v.team_id IN (SELECT u.team_id FROM units u WHERE {team_sql})),
                   (SELECT count(*) FROM volunteers v WHERE v.active AND 'carrier' = ANY(v.skills)
                        AND v.team_id IN (SELECT u.team_id FROM units u WHERE {team_sql})),
                   (SELECT count(*) FROM households h WHERE {unit_sql}),
                   (SELECT count(*) FROM residents r JOIN households h ON h.id = r.household_id WHERE r.active AND {unit_sql}),
                   (SELECT count(*) FROM residents r JOIN households h ON h.id = r.household_id
                        WHERE r.active AND coalesce(array_length(r.tags, 1), 0) > 0 AND {unit_sql})""",
        [*team_p, *team_p, *team_p, *team_p, *team_p, *unit_p, *unit_p, *unit_p],
    )[0]
    (
        k["building_units"],
        k["teams"],
        k["captains"],
        k["members"],
        k["carriers"],
        k["households"],
        k["residents"],
        k["special_residents"],
    ) = row
    return k


def _round_figures(db: Database, today: date, unit_sql: str, unit_p: list) -> dict:
    """The current test round: its number, coverage, residents still open, home samplings done."""
    k: dict = {}
    rnd = current_round(db, today)
    if rnd:
        total, unaccounted, home = db.rows(
            f"""SELECT count(*), count(*) FILTER (WHERE tr.status IN {testing.UNACCOUNTED_SQL}),
                       count(*) FILTER (WHERE tr.status = 'sampled_at_home')
                FROM test_results tr JOIN residents r ON r.id = tr.resident_id
                JOIN households h ON h.id = r.household_id WHERE tr.round_id = ? AND {unit_sql}""",
            [rnd["id"], *unit_p],
        )[0]
        k["current_round"] = rnd["round_no"]
        k["current_round_coverage"] = round((total - unaccounted) / total, 4) if total else 0.0
        k["residents_pending"] = unaccounted
        k["home_samplings_done"] = home
    else:
        k.update(current_round=None, current_round_coverage=0.0, residents_pending=0, home_samplings_done=0)
    return k


def _medicine_figures(db: Database, cutoff: datetime, unit_sql: str, unit_p: list) -> dict:
    """Households served, orders open and urgent, median hours to delivery."""
    k: dict = {}
    served, open_, urgent, median = db.rows(
        f"""SELECT count(DISTINCT m.household_id) FILTER (WHERE m.status = 'delivered' AND coalesce(m.delivered_at, m.updated_at) < ?),
                   count(*) FILTER (WHERE m.created_at < ? AND NOT (m.status IN {medicine.CLOSED_SQL}
                                    AND coalesce(m.delivered_at, m.updated_at) < ?)),
                   count(*) FILTER (WHERE m.created_at < ? AND NOT (m.status IN {medicine.CLOSED_SQL}
                                    AND coalesce(m.delivered_at, m.updated_at) < ?) AND m.urgency IN ('urgent', 'critical')),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds("m.delivered_at - m.created_at")} / 3600.0)
                       FILTER (WHERE m.status = 'delivered' AND coalesce(m.delivered_at, m.updated_at) < ?)
            FROM medicine_orders m JOIN households h ON h.id = m.household_id WHERE {unit_sql}""",
        [cutoff] * 6 + unit_p,
    )[0]
    k["medicine_households_served"] = served
    k["medicine_orders_open"] = open_
    k["medicine_urgent_open"] = urgent
    k["medicine_median_hours_to_delivery"] = round(float(median), 2) if median is not None else None
    return k


def _supply_figures(db: Database, day: date, cutoff: datetime, unit_sql: str, unit_p: list) -> dict:
    """Grocery orders open, vegetable portions handed out, the latest donation batch's coverage."""
    k: dict = {}
    k["grocery_orders_open"] = db.scalar(
        f"""SELECT count(*) FROM grocery_orders g LEFT JOIN households h ON h.id = g.household_id
            WHERE g.created_at < ? AND NOT (g.status = 'handed_out' AND g.updated_at < ?)
              AND ({unit_sql.replace("h.unit_id", "coalesce(h.unit_id, g.unit_id)")})""",
        [cutoff, cutoff, *unit_p],
    )
    k["vegetable_portions_distributed"] = int(
        db.scalar(
            f"""SELECT coalesce(sum(d.portions), 0) FROM donation_deliveries d JOIN households h ON h.id = d.household_id
            WHERE d.delivered_at < ? AND {unit_sql}""",
            [cutoff, *unit_p],
        )
    )
    latest = db.scalar("SELECT id FROM donation_batches WHERE day <= ? ORDER BY day DESC, id DESC LIMIT 1", [day])
    if latest is None:
        k["donation_batch_coverage"] = 0.0
    else:
        got, all_ = db.rows(
            f"""SELECT count(d.household_id), count(*) FROM households h
                LEFT JOIN donation_deliveries d ON d.household_id = h.id AND d.batch_id = ? AND d.delivered_at < ?
                WHERE {unit_sql}""",
            [latest, cutoff, *unit_p],
        )[0]
        k["donation_batch_coverage"] = round(got / all_, 4) if all_ else 0.0
    return k


def compute(db: Database, units: tuple[int, ...] | None = None, as_of: date | None = None) -> dict:
    today = as_of or db.today()
    unit_sql, unit_p = _in("h.unit_id", units)
    team_sql, team_p = _in("u.id", units)
    k: dict = {"as_of": today.isoformat()}

    k.update(_grid_figures(db, unit_sql, unit_p, team_sql, team_p))

    k["test_rounds"] = db.scalar("SELECT count(*) FROM test_rounds WHERE status = 'completed' AND day <= ?", [today])
    k.update(_round_figures(db, today, unit_sql, unit_p))

    required, filled = db.rows(
        """SELECT coalesce(sum(p.required), 0), coalesce(sum(least(p.required, coalesce(c.n, 0))), 0)
           FROM shifts s JOIN duty_posts p ON p.id = s.post_id
           LEFT JOIN (SELECT shift_id, count(*) AS n FROM shift_assignments GROUP BY shift_id) c ON c.shift_id = s.id
           WHERE s.day = ?""",
        [today],
    )[0]
    k["duty_fill_rate_today"] = round(filled / required, 4) if required else 0.0

    k.update(time_figures(db, units, today))
    k["treatment_trips_next_7_days"] = treatment_trips(db, today, units)

    k["suppliers"] = db.scalar("SELECT count(*) FROM suppliers WHERE vetted")
    k["supplies"] = {
        code: int(qty) if float(qty).is_integer() else float(qty)
        for code, qty in db.rows(
            """SELECT i.code, coalesce(sum(m.quantity) FILTER (WHERE m.quantity > 0), 0)
               FROM supply_items i LEFT JOIN stock_movements m ON m.item_id = i.id GROUP BY i.code ORDER BY i.code"""
        )
    }
    return k


def treatment_trips(db: Database, today: date, units: tuple[int, ...] | None = None) -> int:
    """Treatment trips (leaving the compound, needing an exit permit) over the next 7 days."""
    unit_sql, unit_p = _in("h.unit_id", units)
    days = [today + timedelta(days=n) for n in range(7)]
    weekdays = [d.isoweekday() for d in days]
    return db.scalar(
        f"""SELECT count(*) FROM treatments t JOIN residents r ON r.id = t.resident_id
            JOIN households h ON h.id = r.household_id, unnest(CAST(? AS INTEGER[])) AS w(d)
            WHERE t.active AND r.active AND w.d = ANY(t.weekdays) AND {unit_sql}""",
        [weekdays, *unit_p],
    )


# Later than any row: "as of now" counts everything, with the same SQL that counts up to a past moment.
EVER = datetime(9999, 12, 31, tzinfo=UTC)


def time_figures(db: Database, units, day: date, cutoff: datetime = EVER) -> dict:
    """The figures that move with time (duty done, medicine, cases, groceries, vegetables), counted from
    what had happened before cutoff: now by default, or the end of a past day for the overview's deltas."""
    unit_sql, unit_p = _in("h.unit_id", units)
    team_sql, team_p = _in("u.id", units)
    k: dict = {}
    vol_scope, vol_p = "TRUE", []
    if units is not None:
        vol_scope = f"a.volunteer_id IN (SELECT v.id FROM volunteers v JOIN units u ON u.team_id = v.team_id WHERE {team_sql})"
        vol_p = team_p
    k["duty_person_times"] = db.scalar(
        f"""SELECT count(*) FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id
            WHERE a.status = 'done' AND coalesce(a.check_out_at, s.end_at) < ? AND {vol_scope}""",
        [cutoff, *vol_p],
    )
    k.update(_medicine_figures(db, cutoff, unit_sql, unit_p))
    total, open_cases = db.rows(
        f"""SELECT count(*) FILTER (WHERE c.reported_at < ?),
                   count(*) FILTER (WHERE c.reported_at < ? AND NOT (c.status = 'closed' AND coalesce(c.closed_at, c.last_event_at) < ?))
            FROM emergency_cases c JOIN households h ON h.id = c.household_id WHERE {unit_sql}""",
        [cutoff, cutoff, cutoff, *unit_p],
    )[0]
    k["emergency_cases_total"], k["emergency_cases_open"] = total, open_cases
    k.update(_supply_figures(db, day, cutoff, unit_sql, unit_p))
    return k
