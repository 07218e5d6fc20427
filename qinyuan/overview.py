"""Overview data per viewer scope: key figures with their change since the previous day, what
needs attention now, chart data, the per-unit heatmap, a captain's to-do list and a member's
team figures. Every figure is one SQL aggregation over rows; `units` is the viewer's scope
(None = the whole compound). Never imports streamlit."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from . import access, clock, duty, emergencies, kpi, medicine, testing
from .access import Actor
from .db import Database
from .errors import NotFound

_MEDICINE_CLOSED = medicine.CLOSED_SQL
_ON_DUTY = duty.ASSIGNMENT.sql_list(duty.ASSIGNMENT.open_states)  # assigned or checked in: not yet done
MEDICINE_STATUSES = (*medicine.OPEN, *medicine.CLOSED)  # the chart order: the flow, then how orders end
# Hours an order has been open at a moment (the parameter), and a round's coverage over its results tr.
_HOURS_OPEN = kpi.seconds("CAST(? AS TIMESTAMPTZ) - m.created_at") + " / 3600.0"
_COVERAGE = kpi.ratio(f"count(*) FILTER (WHERE tr.status NOT IN {testing.UNACCOUNTED_SQL})", "count(*)")

# Figures whose change since yesterday we can reconstruct from timestamps. Not the rounds organised (a round's
# completion has no timestamp) nor the treatment trips ahead (a plan, not a history): no delta for them.
DELTA_KEYS = (
    "current_round_coverage",
    "residents_pending",
    "home_samplings_done",
    "duty_person_times",
    "duty_fill_rate_today",
    "medicine_households_served",
    "medicine_orders_open",
    "medicine_urgent_open",
    "medicine_median_hours_to_delivery",
    "emergency_cases_open",
    "emergency_cases_total",
    "vegetable_portions_distributed",
    "donation_batch_coverage",
    "grocery_orders_open",
)
# Figures of the current round: compared with the same round as it stood at the end of yesterday.
ROUND_KEYS = ("current_round_coverage", "residents_pending", "home_samplings_done")
# A rise of these is bad news (the UI colours their deltas the other way round).
WORSE_WHEN_UP = (
    "residents_pending",
    "medicine_orders_open",
    "medicine_urgent_open",
    "medicine_median_hours_to_delivery",
    "emergency_cases_open",
    "emergency_cases_total",
    "grocery_orders_open",
)

DEFAULTS = {
    "medicine_limit_hours_urgent": 4.0,
    "medicine_limit_hours_critical": 2.0,
    "emergency_stale_minutes": 60.0,
    "coverage_alert_threshold": 0.9,
}


def setting(db: Database, key: str) -> float:
    try:
        return float(db.settings().get(key, str(DEFAULTS[key])))
    except (TypeError, ValueError):
        return DEFAULTS[key]


def _in(column: str, units) -> tuple[str, list]:
    return kpi._in(column, units)


def _cutoff(db: Database, day: date) -> datetime:
    """The moment figures 'as of day' are taken: now for today (or later), else the end of that day."""
    return db.now() if day >= db.today() else clock.day_start(day + timedelta(days=1))


# -- key figures and deltas -----------------------------------------------------------------------
def _testing_as_of(db: Database, units, round_id: int, cutoff: datetime) -> dict:
    unit_sql, unit_p = _in("h.unit_id", units)
    total, accounted, home = db.rows(
        f"""SELECT count(*),
                   count(*) FILTER (WHERE tr.status NOT IN {testing.UNACCOUNTED_SQL}
                                    AND coalesce(tr.updated_at, ?) < ?),
                   count(*) FILTER (WHERE tr.status = 'sampled_at_home' AND coalesce(tr.updated_at, ?) < ?)
            FROM test_results tr JOIN residents r ON r.id = tr.resident_id JOIN households h ON h.id = r.household_id
            WHERE tr.round_id = ? AND {unit_sql}""",
        [cutoff, cutoff, cutoff, cutoff, round_id, *unit_p],
    )[0]
    return {
        "current_round_coverage": round(accounted / total, 4) if total else 0.0,
        "residents_pending": total - accounted,
        "home_samplings_done": home,
    }


def _as_of(db: Database, units, cutoff: datetime, day: date) -> dict:
    """The time-dependent figures of kpi.compute, counted only from what had happened before cutoff."""
    k: dict = {}
    rnd = kpi.current_round(db, day)
    if rnd:
        k.update(_testing_as_of(db, units, rnd["id"], cutoff))
    k.update(kpi.time_figures(db, units, day, cutoff))
    return k


def figures(db: Database, units: tuple[int, ...] | None = None, day: date | None = None) -> dict:
    """kpi.compute for the scope; for a past day, the time-dependent figures as they stood at its end."""
    today = db.today()
    day = day or today
    k = kpi.compute(db, units=units, as_of=day)
    if day < today:
        k.update(_as_of(db, units, _cutoff(db, day), day))
    return k


def _diff(now, before):
    if now is None or before is None:
        return None
    d = now - before
    return round(d, 4) if isinstance(d, float) else d


def with_deltas(db: Database, units: tuple[int, ...] | None = None, day: date | None = None) -> tuple[dict, dict]:
    """(figures as of day, change since the end of the previous day). Testing figures compare the same
    round: its progress since yesterday, not this round against the last one."""
    day = day or db.today()
    now = figures(db, units, day)

    def yesterday() -> dict:
        before = figures(db, units, day - timedelta(days=1))
        rnd = kpi.current_round(db, day)
        if rnd:
            before.update(_testing_as_of(db, units, rnd["id"], clock.day_start(day)))
        return before

    # The end of yesterday is a snapshot, rebuilt from timestamps once per day and scope: today's writes
    # carry today's times and cannot move it (and it is the costly half at scale).
    before = db.cached("overview.yesterday", (units, day), (), yesterday)
    deltas = {key: _diff(now.get(key), before.get(key)) for key in DELTA_KEYS}
    rnd = kpi.current_round(db, day)
    if rnd and rnd["day"] >= day:  # a round that started today has no "since yesterday"
        deltas.update(dict.fromkeys(ROUND_KEYS))
    return now, deltas


# -- needs attention now --------------------------------------------------------------------------
def attention(db: Database, units: tuple[int, ...] | None = None, now: datetime | None = None, role: str | None = None) -> dict:
    """What needs doing now, each a small list: overdue urgent medicine, cases without update,
    posts under-staffed this hour (whole compound only) and units below the coverage threshold; and
    for the role that must act (role given), newest first: a new critical case, a new urgent order,
    exit-permit requests."""
    now = now or db.now()
    unit_sql, unit_p = _in("h.unit_id", units)
    urgent_h, critical_h = setting(db, "medicine_limit_hours_urgent"), setting(db, "medicine_limit_hours_critical")
    medicine = db.df(
        f"""SELECT m.id, h.unit_id, u.building, u.unit_no, h.room, m.urgency, m.status,
                   round(CAST({_HOURS_OPEN} AS DECIMAL(18, 12)), 1) AS hours,
                   CASE m.urgency WHEN 'critical' THEN ? ELSE ? END AS limit_hours
            FROM medicine_orders m JOIN households h ON h.id = m.household_id JOIN units u ON u.id = h.unit_id
            WHERE m.status NOT IN {_MEDICINE_CLOSED} AND m.urgency IN ('urgent', 'critical')
              AND {_HOURS_OPEN} > CASE m.urgency WHEN 'critical' THEN ? ELSE ? END
              AND {unit_sql}
            ORDER BY m.urgency = 'critical' DESC, hours DESC, m.id""",
        [now, critical_h, urgent_h, now, critical_h, urgent_h, *unit_p],
    )
    stale_min = setting(db, "emergency_stale_minutes")
    cases = db.df(
        f"""SELECT c.id, h.unit_id, u.building, u.unit_no, h.room, c.severity, c.status,
                   CAST({kpi.seconds("CAST(? AS TIMESTAMPTZ) - c.last_event_at")} / 60 AS INTEGER) AS minutes
            FROM emergency_cases c JOIN households h ON h.id = c.household_id JOIN units u ON u.id = h.unit_id
            WHERE c.status <> 'closed' AND {kpi.seconds("CAST(? AS TIMESTAMPTZ) - c.last_event_at")} / 60 > ? AND {unit_sql}
            ORDER BY minutes DESC, c.id""",
        [now, now, stale_min, *unit_p],
    )
    posts = _understaffed_posts(db, units, now)
    threshold = setting(db, "coverage_alert_threshold")
    rnd = kpi.current_round(db, now.date())
    low = _low_coverage(db, unit_sql, unit_p, rnd, now, threshold)
    return {
        "medicine": medicine,
        "cases": cases,
        "posts": posts,
        "coverage": low,
        **to_act(db, units, role),
        "limits": {"urgent": urgent_h, "critical": critical_h, "stale_minutes": stale_min, "threshold": threshold},
        "round_no": rnd["round_no"] if rnd else None,
    }


def _understaffed_posts(db: Database, units: tuple[int, ...] | None, now: datetime) -> pd.DataFrame:
    """Posts with fewer people than they need this hour (whole compound only)."""
    if units is None:
        posts = db.df(
            """SELECT p.id AS post_id, p.name_zh, p.name_en, s.start_at, s.end_at, p.required,
                      count(a.id) AS staffed
               FROM shifts s JOIN duty_posts p ON p.id = s.post_id LEFT JOIN shift_assignments a ON a.shift_id = s.id
               WHERE p.active AND s.start_at <= ? AND s.end_at > ?
               GROUP BY p.id, p.name_zh, p.name_en, s.start_at, s.end_at, p.required
               HAVING count(a.id) < p.required ORDER BY p.id, s.start_at""",
            [now, now],
        )
    else:
        posts = pd.DataFrame(columns=["post_id", "name_zh", "name_en", "start_at", "end_at", "required", "staffed"])
    return posts


def _low_coverage(db: Database, unit_sql: str, unit_p: list, rnd: dict | None, now: datetime, threshold) -> pd.DataFrame:
    """Units below the coverage threshold in the current round, once their slot is over."""
    low = pd.DataFrame(columns=["unit_id", "building", "unit_no", "coverage", "pending"])
    if rnd:
        # Only units whose slot is over: before its slot a unit is expected to be untested.
        low = db.df(
            f"""SELECT h.unit_id, u.building, u.unit_no,
                       {_COVERAGE} AS coverage,
                       count(*) FILTER (WHERE tr.status IN {testing.UNACCOUNTED_SQL}) AS pending
                FROM test_results tr JOIN residents r ON r.id = tr.resident_id JOIN households h ON h.id = r.household_id
                JOIN units u ON u.id = h.unit_id
                LEFT JOIN test_slots ts ON ts.round_id = tr.round_id AND ts.unit_id = h.unit_id
                WHERE tr.round_id = ? AND {unit_sql}
                  AND (? = 'completed' OR coalesce(ts.slot_start, CAST(? AS TIMESTAMPTZ)) + ? * INTERVAL '1 minute' <= ?)
                GROUP BY h.unit_id, u.building, u.unit_no HAVING {_COVERAGE} < ? ORDER BY coverage, h.unit_id""",
            [rnd["id"], *unit_p, rnd["status"], clock.at(rnd["day"], 8), int(rnd["slot_minutes"]), now, threshold],
        )
    return low


ACT_LISTS = ("new_cases", "new_orders", "permits")


def to_act(db: Database, units: tuple[int, ...] | None, role: str | None) -> dict:
    """The lists of what this role must act on, newest first: a critical case nobody has taken up yet
    (the clinic's next step), an urgent or critical order nobody is sourcing yet, and exit permits
    waiting for the one role that grants them. Who must act comes from the state machines."""
    unit_sql, unit_p = _in("h.unit_id", units)
    empty = pd.DataFrame(columns=["id", "unit_id", "building", "unit_no", "room", "severity", "urgency", "at"])
    found = dict.fromkeys(ACT_LISTS, empty)
    if role is None:
        return found
    if access.ACTIONS["emergency.update"].get(role) == "all":  # the clinic takes it up, the committee watches
        found["new_cases"] = db.df(
            f"""SELECT c.id, h.unit_id, u.building, u.unit_no, h.room, c.severity, c.reported_at AS at
                FROM emergency_cases c JOIN households h ON h.id = c.household_id JOIN units u ON u.id = h.unit_id
                WHERE c.status = 'reported' AND c.severity = 'critical' AND {unit_sql} ORDER BY c.reported_at DESC, c.id DESC""",
            unit_p,
        )
    if medicine.forward_step("requested", role):
        found["new_orders"] = db.df(
            f"""SELECT m.id, h.unit_id, u.building, u.unit_no, h.room, m.urgency, m.created_at AS at
                FROM medicine_orders m JOIN households h ON h.id = m.household_id JOIN units u ON u.id = h.unit_id
                WHERE m.status = 'requested' AND m.urgency IN ('urgent', 'critical') AND {unit_sql}
                ORDER BY m.created_at DESC, m.id DESC""",
            unit_p,
        )
    if "exit_permit_granted" in emergencies.next_steps("exit_permit_requested", role):
        found["permits"] = db.df(
            f"""SELECT c.id, h.unit_id, u.building, u.unit_no, h.room, c.severity, c.last_event_at AS at
                FROM emergency_cases c JOIN households h ON h.id = c.household_id JOIN units u ON u.id = h.unit_id
                WHERE c.status = 'exit_permit_requested' AND {unit_sql} ORDER BY c.last_event_at DESC, c.id DESC""",
            unit_p,
        )
    return found


def attention_count(items: dict) -> int:
    return sum(len(items[k]) for k in ("medicine", "cases", "posts", "coverage", *ACT_LISTS) if k in items)


# -- chart data -------------------------------------------------------------------------------------
def coverage_by_round(db: Database, units=None) -> pd.DataFrame:
    unit_sql, unit_p = _in("h.unit_id", units)
    return db.df(
        f"""SELECT t.round_no, t.day, t.status, count(*) AS total,
                   count(*) FILTER (WHERE tr.status NOT IN {testing.UNACCOUNTED_SQL}) AS accounted,
                   {_COVERAGE} AS coverage
            FROM test_rounds t JOIN test_results tr ON tr.round_id = t.id JOIN residents r ON r.id = tr.resident_id
            JOIN households h ON h.id = r.household_id WHERE {unit_sql}
            GROUP BY t.id, t.round_no, t.day, t.status ORDER BY t.round_no""",
        unit_p,
    )


def medicine_by_day(db: Database, units=None, day: date | None = None, days: int = 10) -> pd.DataFrame:
    """Orders requested per day (last `days` days up to day), split by where they stand now."""
    day = day or db.today()
    unit_sql, unit_p = _in("h.unit_id", units)
    return db.df(
        f"""SELECT CAST(timezone('Asia/Shanghai', m.created_at) AS DATE) AS day, m.status, count(*) AS orders
            FROM medicine_orders m JOIN households h ON h.id = m.household_id
            WHERE m.created_at >= ? AND m.created_at < ? AND {unit_sql}
            GROUP BY 1, 2 ORDER BY day, m.status""",
        [clock.day_start(day - timedelta(days=days - 1)), clock.day_start(day + timedelta(days=1)), *unit_p],
    )


def delivery_hours(db: Database, units=None, bin_hours: int = 4) -> pd.DataFrame:
    """Request-to-door time of delivered orders, in bins of bin_hours."""
    unit_sql, unit_p = _in("h.unit_id", units)
    return db.df(
        f"""SELECT CAST(floor({kpi.seconds("m.delivered_at - m.created_at")} / 3600.0 / ?) * ? AS INTEGER) AS hours_from,
                   count(*) AS orders
            FROM medicine_orders m JOIN households h ON h.id = m.household_id
            WHERE m.status = 'delivered' AND m.delivered_at IS NOT NULL AND {unit_sql}
            GROUP BY 1 ORDER BY 1""",
        [bin_hours, bin_hours, *unit_p],
    )


def duty_fill(db: Database, day: date | None = None, back: int = 9, ahead: int = 2) -> pd.DataFrame:
    """Fill rate per post per day (assigned people, capped at the post's need, over the need)."""
    day = day or db.today()
    return db.df(
        f"""SELECT s.day, p.id AS post_id, p.name_zh, p.name_en, sum(p.required) AS required,
                  sum(least(p.required, coalesce(c.n, 0))) AS filled,
                  {kpi.ratio("sum(least(p.required, coalesce(c.n, 0)))", "sum(p.required)")} AS rate
           FROM shifts s JOIN duty_posts p ON p.id = s.post_id
           LEFT JOIN (SELECT shift_id, count(*) AS n FROM shift_assignments
                      GROUP BY shift_id) c ON c.shift_id = s.id
           WHERE s.day BETWEEN ? AND ? GROUP BY s.day, p.id, p.name_zh, p.name_en ORDER BY s.day, p.id""",
        [day - timedelta(days=back), day + timedelta(days=ahead)],
    )


def open_cases_over_time(db: Database, units=None, day: date | None = None, days: int = 10) -> pd.DataFrame:
    """Open emergency cases at the end of each day (now for today)."""
    day = day or db.today()
    unit_sql, unit_p = _in("h.unit_id", units)
    cuts = [_cutoff(db, day - timedelta(days=n)) for n in range(days - 1, -1, -1)]
    frame = db.df(
        f"""SELECT d.cut, count(c.id) AS open_cases
            FROM unnest(CAST(? AS TIMESTAMPTZ[])) AS d(cut)
            LEFT JOIN (SELECT c.* FROM emergency_cases c JOIN households h ON h.id = c.household_id WHERE {unit_sql}) c
              ON c.reported_at < d.cut AND NOT (c.status = 'closed' AND coalesce(c.closed_at, c.last_event_at) < d.cut)
            GROUP BY d.cut ORDER BY d.cut""",
        [cuts, *unit_p],
    )
    frame["day"] = [(day - timedelta(days=n)) for n in range(days - 1, -1, -1)]
    return frame[["day", "open_cases"]]


def donation_batches(db: Database) -> pd.DataFrame:
    return db.df("SELECT id, donor, item, portions, day FROM donation_batches ORDER BY day DESC, id DESC")


DONATION_BUILDINGS_MAX = 40  # more buildings than this (a scaled-up compound): the busiest ones


def donation_by_building_hour(
    db: Database, units=None, batch_id: int | None = None, limit: int = DONATION_BUILDINGS_MAX
) -> pd.DataFrame:
    """Portions handed out per building per hour of the day, for one batch (default: the latest); at
    most `limit` buildings, those that handed out the most, and `buildings_total` says how many had any."""
    if batch_id is None:
        batch_id = db.scalar("SELECT id FROM donation_batches WHERE day <= ? ORDER BY day DESC, id DESC LIMIT 1", [db.today()])
    unit_sql, unit_p = _in("h.unit_id", units)
    return db.df(
        f"""WITH per AS (
                SELECT u.building, CAST(extract(hour FROM timezone('Asia/Shanghai', d.delivered_at)) AS INTEGER) AS hour,
                       sum(d.portions) AS portions
                FROM donation_deliveries d JOIN households h ON h.id = d.household_id JOIN units u ON u.id = h.unit_id
                WHERE d.batch_id = ? AND {unit_sql} GROUP BY 1, 2),
            ranked AS (
                SELECT building, row_number() OVER (ORDER BY sum(portions) DESC, building) AS rank,
                       count(*) OVER () AS buildings_total
                FROM per GROUP BY building)
            SELECT per.building, per.hour, per.portions, ranked.buildings_total
            FROM per JOIN ranked USING (building) WHERE ranked.rank <= ? ORDER BY per.building, per.hour""",
        [batch_id, *unit_p, int(limit)],
    )


HEAT_MAX = 60  # more units than this (a scaled-up compound): show the ones most in need


def unit_heatmap(db: Database, units=None, day: date | None = None, limit: int = HEAT_MAX) -> pd.DataFrame:
    """One row per unit: round coverage, pending residents, open medicine orders, open cases, days
    since the least recently visited household was visited (census). Up to `limit` units: all of
    them in unit order, or, when there are more, those most in need (open cases, overdue-prone
    medicine, low coverage first)."""
    day = day or db.today()
    unit_sql, unit_p = _in("u.id", units)
    rnd = kpi.current_round(db, day)
    sql = f"""WITH t AS (SELECT h.unit_id, count(*) AS total,
                              count(*) FILTER (WHERE tr.status IN {testing.UNACCOUNTED_SQL}) AS pending
                       FROM test_results tr JOIN residents r ON r.id = tr.resident_id JOIN households h ON h.id = r.household_id
                       WHERE tr.round_id = ? GROUP BY 1),
                m AS (SELECT h.unit_id, count(*) AS n FROM medicine_orders m JOIN households h ON h.id = m.household_id
                      WHERE m.status NOT IN {_MEDICINE_CLOSED} GROUP BY 1),
                c AS (SELECT h.unit_id, count(*) AS n FROM emergency_cases c JOIN households h ON h.id = c.household_id
                      WHERE c.status <> 'closed' GROUP BY 1),
                v AS (SELECT unit_id, min(last_visit_at) AS oldest, count(*) FILTER (WHERE last_visit_at IS NULL) AS never
                      FROM households GROUP BY 1)
            SELECT u.id AS unit_id, u.building, u.unit_no,
                   {kpi.ratio("t.total - t.pending", "t.total")} AS coverage,
                   coalesce(t.pending, 0) AS pending, coalesce(m.n, 0) AS medicine_open, coalesce(c.n, 0) AS cases_open,
                   CAST(? AS DATE) - CAST(timezone('Asia/Shanghai', v.oldest) AS DATE) AS days_since_visit
            FROM units u LEFT JOIN t ON t.unit_id = u.id LEFT JOIN m ON m.unit_id = u.id LEFT JOIN c ON c.unit_id = u.id
            LEFT JOIN v ON v.unit_id = u.id
            WHERE {unit_sql}"""
    params = [rnd["id"] if rnd else -1, day, *unit_p]
    many = db.scalar(f"SELECT count(*) > ? FROM units u WHERE {unit_sql}", [limit, *unit_p])
    order = (
        "cases_open DESC, medicine_open DESC, coalesce(coverage, 1), pending DESC, days_since_visit DESC NULLS FIRST, unit_id"
        if many
        else "unit_id"
    )
    return db.df(f"SELECT * FROM ({sql}) AS heat ORDER BY {order} LIMIT ?", [*params, limit])


def unit_detail(db: Database, actor: Actor, unit_id: int) -> dict:
    """The figures of one unit, for a viewer allowed to see it."""
    access.require(actor, "kpi.view", unit_id)
    figures_, deltas = with_deltas(db, (unit_id,))
    row = db.one("SELECT building, unit_no, team_id FROM units WHERE id = ?", [unit_id])
    if row is None:
        raise NotFound()
    captain = db.one(
        """SELECT v.name FROM units u JOIN teams t ON t.id = u.team_id JOIN volunteers v ON v.id = t.captain_id
                        WHERE u.id = ?""",
        [unit_id],
    )
    return {
        "unit_id": unit_id,
        "building": row[0],
        "unit_no": row[1],
        "team_id": row[2],
        "captain": captain[0] if captain else None,
        "figures": figures_,
        "deltas": deltas,
        "attention": attention(db, (unit_id,)),
    }


# -- captain's to-do, member's view -------------------------------------------------------------------
def next_shift(db: Database, volunteer_id: int | None, now: datetime | None = None) -> dict | None:
    """The volunteer's current or next shift."""
    if volunteer_id is None:
        return None
    now = now or db.now()
    rows = db.dicts(
        f"""SELECT s.id AS shift_id, s.day, s.start_at, s.end_at, p.name_zh, p.name_en, p.required, a.status,
                  (SELECT count(*) FROM shift_assignments b WHERE b.shift_id = s.id) AS crew
           FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id JOIN duty_posts p ON p.id = s.post_id
           WHERE a.volunteer_id = ? AND s.end_at > ? AND a.status IN {_ON_DUTY}
           ORDER BY s.start_at LIMIT 1""",
        [volunteer_id, now],
    )
    if not rows:
        return None
    row = rows[0]
    row["now"] = row["start_at"] <= now
    return row


def team_figures(db: Database, actor: Actor) -> dict:
    """A member's team: its people, its units' figures and its own duty record."""
    units = actor.scope()
    figures_, deltas = with_deltas(db, units)
    team = db.one(
        """SELECT t.name, count(v.id) FILTER (WHERE v.active AND NOT v.is_captain),
                  (SELECT name FROM volunteers WHERE id = t.captain_id)
           FROM teams t LEFT JOIN volunteers v ON v.team_id = t.id WHERE t.id = ? GROUP BY t.id, t.name, t.captain_id""",
        [actor.team_id],
    )
    waiting = 0
    unit_sql, unit_p = _in("h.unit_id", units)
    batch = db.scalar("SELECT id FROM donation_batches WHERE day <= ? ORDER BY day DESC, id DESC LIMIT 1", [db.today()])
    if batch is not None:
        waiting = db.scalar(
            f"""SELECT count(*) FROM households h LEFT JOIN donation_deliveries d ON d.household_id = h.id AND d.batch_id = ?
                WHERE d.household_id IS NULL AND {unit_sql}""",
            [batch, *unit_p],
        )
    my_done = (
        db.scalar("SELECT count(*) FROM shift_assignments WHERE volunteer_id = ? AND status = 'done'", [actor.volunteer_id])
        if actor.volunteer_id
        else 0
    )
    return {
        "team_name": team[0] if team else None,
        "team_members": team[1] if team else 0,
        "captain": team[2] if team else None,
        "figures": figures_,
        "deltas": deltas,
        "vegetables_waiting": waiting,
        "my_duty_done": my_done,
    }
