"""Duty: posts with a required headcount, shifts, planning, my duty, check-in/out, handover notes
and the on-duty-now board.

Rules: the committee plans every post and creates shifts; a captain assigns only their own
team's members. A person is never on two overlapping shifts; less than 8 hours between two of
their shifts is allowed with a warning. Check-in is open from 60 minutes before the start until
the end of the shift; check-out from check-in until 60 minutes after the end (people leave their
post when relieved, a little after the end)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, overload

import pandas as pd

from . import access, clock, kpi, teams
from .access import Actor
from .db import Database, Tx
from .errors import InvalidInput, NotFound, PermissionDenied
from .states import Machine

ALL_ROLES = ("committee", "captain", "member")
ASSIGNMENT = Machine(
    "shift_assignment",
    {
        "assigned": {"checked_in": ALL_ROLES},
        "checked_in": {"done": ALL_ROLES},
    },
    terminal=("done",),
)

CHECKIN_EARLY = timedelta(minutes=60)
CHECKOUT_LATE = timedelta(minutes=60)
CHECKOUT_EARLY_WARNING = timedelta(minutes=30)  # leaving more than this before the end asks to confirm
MIN_REST = timedelta(hours=8)
MAX_NOTE = 500
MY_DAYS = 3
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Warning:
    """A planning warning that does not block: a catalogue key and its parameters."""

    key: str
    params: dict


# -- helpers ------------------------------------------------------------------------------------
_PLAN_TABLES = ("shifts", "duty_posts", "shift_assignments", "volunteers")


def _minute(ts: datetime) -> datetime:
    """Shifts start and end on whole minutes, so the board is the same for every second of a minute."""
    return ts.replace(second=0, microsecond=0)


@overload
def local(ts: datetime) -> datetime: ...
@overload
def local(ts: None) -> None: ...
def local(ts: datetime | None) -> datetime | None:
    return None if ts is None else ts.astimezone(clock.TZ)


def hhmm(ts: datetime | None) -> str:
    return "" if ts is None else local(ts).strftime("%H:%M")


def parse_hhmm(text: str) -> time:
    match = _HHMM.match((text or "").strip())
    if not match:
        raise InvalidInput("duty.error.time_format", value=text)
    return time(int(match.group(1)), int(match.group(2)))


def post_name(row: dict, lang: str) -> str:
    return (row.get("name_zh") if lang == "zh" else row.get("name_en")) or ""


def is_global(actor: Actor, action: str) -> bool:
    return access.scope_of(actor, action) == "all"


def _require_person_in_scope(tx: Tx, actor: Actor, action: str, volunteer_id: int) -> dict:
    """The volunteer, if the actor may act on them for this action (self / own team / all)."""
    person = tx.record("volunteers", volunteer_id)
    scope = access.scope_of(actor, action)
    if scope is None:
        raise PermissionDenied(action=action, unit="")
    if scope == "self":
        if actor.volunteer_id != volunteer_id:
            raise PermissionDenied(action=action, unit="")
        return person
    teams.require_team(tx, actor, action, person["team_id"])
    return person


# -- posts ----------------------------------------------------------------------------------------
def posts(db: Database, actor: Actor) -> list[dict]:
    access.require(actor, "duty.view")
    return db.cached_read(
        "duty.posts",
        ("duty_posts",),
        "dicts",
        "SELECT id, code, kind, name_zh, name_en, required, version FROM duty_posts WHERE active ORDER BY id",
        [],
    )


def set_required(db: Database, actor: Actor, post_id: int, required: int, version: int) -> None:
    """The headcount a post needs per shift (committee)."""

    def fn(tx: Tx) -> None:
        if not is_global(actor, "duty.plan"):
            raise PermissionDenied(action="duty.plan", unit="")
        n = int(required)
        if not 1 <= n <= 50:
            raise InvalidInput("duty.error.required", n=n)
        before, _ = tx.update("duty_posts", post_id, {"required": n}, expected_version=version)
        tx.audit("duty.post_required", "duty_post", post_id, {"required": before["required"]}, {"required": n})

    db.write(actor, fn)


# -- shifts and planning --------------------------------------------------------------------------
def _bounds(day: date, start: str, end: str) -> tuple[datetime, datetime]:
    s, e = parse_hhmm(start), parse_hhmm(end)
    start_at = datetime.combine(day, s, tzinfo=clock.TZ)
    end_at = datetime.combine(day, e, tzinfo=clock.TZ)
    if end_at == start_at:
        raise InvalidInput("duty.error.time_order")
    if end_at < start_at:  # an overnight shift ends the next morning
        end_at += timedelta(days=1)
    return start_at, end_at


def create_shift(db: Database, actor: Actor, post_id: int, day: date, start: str, end: str) -> int:
    """A new shift at a post (committee). Refuses an identical shift at the same post."""

    def fn(tx: Tx) -> int:
        if not is_global(actor, "duty.plan"):
            raise PermissionDenied(action="duty.plan", unit="")
        tx.record("duty_posts", post_id)
        start_at, end_at = _bounds(day, start, end)
        if tx.scalar(
            "SELECT count(*) FROM shifts WHERE post_id = ? AND start_at = ? AND end_at = ?", [post_id, start_at, end_at]
        ):
            raise InvalidInput("duty.error.shift_exists")
        values = {
            "id": tx.scalar("SELECT nextval('shift_seq')"),
            "post_id": post_id,
            "day": day,
            "start_at": start_at,
            "end_at": end_at,
        }
        shift_id = tx.insert("shifts", values)
        tx.audit("duty.shift_create", "shift", shift_id, None, values)
        return shift_id

    return db.write(actor, fn)


def _conflicts(tx: Tx, volunteer_id: int, start_at: datetime, end_at: datetime, skip_shift: int | None = None):
    """(overlapping shifts, shifts less than MIN_REST apart) of one person around a time span."""
    rows = tx.rows(
        """SELECT s.id, s.start_at, s.end_at, p.name_zh, p.name_en FROM shift_assignments a
           JOIN shifts s ON s.id = a.shift_id JOIN duty_posts p ON p.id = s.post_id
           WHERE a.volunteer_id = ? AND s.id <> ? AND s.start_at < ? AND s.end_at > ?
           ORDER BY s.start_at""",
        [volunteer_id, skip_shift if skip_shift is not None else -1, end_at + MIN_REST, start_at - MIN_REST],
    )
    overlap = [r for r in rows if r[1] < end_at and r[2] > start_at]
    close = [r for r in rows if not (r[1] < end_at and r[2] > start_at)]
    return overlap, close


def _assign_in(tx: Tx, actor: Actor, shift: dict, volunteer_id: int) -> list[Warning]:
    person = _require_person_in_scope(tx, actor, "duty.plan", volunteer_id)
    if not person["active"]:
        raise InvalidInput("roster.error.inactive")
    if shift["end_at"] <= tx.now:
        raise InvalidInput("duty.error.shift_over")
    if tx.scalar("SELECT count(*) FROM shift_assignments WHERE shift_id = ? AND volunteer_id = ?", [shift["id"], volunteer_id]):
        raise InvalidInput("duty.error.already_assigned", name=person["name"])
    # Touch the person's booking counter: two planners booking the same person at once conflict and
    # retry, so the second one sees the first booking (no double-booking through a race).
    tx.execute("UPDATE volunteers SET booking_lock = booking_lock + 1 WHERE id = ?", [volunteer_id], writes=("volunteers",))
    overlap, close = _conflicts(tx, volunteer_id, shift["start_at"], shift["end_at"], shift["id"])
    if overlap:
        s = overlap[0]
        raise InvalidInput(
            "duty.error.double_booked", name=person["name"], post=s[3], start=local(s[1]).strftime("%m-%d %H:%M"), end=hhmm(s[2])
        )
    warnings = []
    for s in close:
        gap = (shift["start_at"] - s[2]) if s[2] <= shift["start_at"] else (s[1] - shift["end_at"])
        warnings.append(
            Warning(
                "duty.warn.rest",
                {
                    "name": person["name"],
                    "hours": round(gap.total_seconds() / 3600, 1),
                    "post": s[3],
                    "start": local(s[1]).strftime("%m-%d %H:%M"),
                },
            )
        )
    aid = tx.insert(
        "shift_assignments",
        {
            "id": tx.scalar("SELECT nextval('assignment_seq')"),
            "shift_id": shift["id"],
            "volunteer_id": volunteer_id,
            "status": "assigned",
            "assigned_by": actor.username,
        },
    )
    tx.audit(
        "duty.assign",
        "shift_assignment",
        aid,
        None,
        {"shift_id": shift["id"], "volunteer_id": volunteer_id, "warnings": [w.key for w in warnings]},
    )
    return warnings


def assign(db: Database, actor: Actor, shift_id: int, volunteer_id: int) -> list[Warning]:
    """Put a person on a shift; returns warnings (rest < 8 h, post over its headcount)."""

    def fn(tx: Tx) -> list[Warning]:
        shift = tx.record("shifts", shift_id)
        warnings = _assign_in(tx, actor, shift, volunteer_id)
        required, n = tx.rows(
            """SELECT p.required, (SELECT count(*) FROM shift_assignments WHERE shift_id = ?)
                                FROM duty_posts p WHERE p.id = ?""",
            [shift_id, shift["post_id"]],
        )[0]
        if n > required:
            warnings.append(Warning("duty.warn.over", {"n": n, "required": required}))
        return warnings

    return db.write(actor, fn)


def unassign(db: Database, actor: Actor, assignment_id: int, version: int) -> None:
    """Take a person off a shift they have not started."""

    def fn(tx: Tx) -> None:
        row = tx.record("shift_assignments", assignment_id)
        _require_person_in_scope(tx, actor, "duty.plan", row["volunteer_id"])
        if row["version"] != version:
            from .errors import StaleEdit

            raise StaleEdit()
        if row["status"] != "assigned":
            raise InvalidInput("duty.error.started")
        tx.execute(
            "DELETE FROM shift_assignments WHERE id = ? AND version = ?", [assignment_id, version], writes=("shift_assignments",)
        )
        tx.changes += 1
        tx.audit("duty.unassign", "shift_assignment", assignment_id, row, None)

    db.write(actor, fn)


PLAN_PAGE = 12


def count_shifts(db: Database, actor: Actor, day: date, post_id: int | None = None) -> int:
    access.require(actor, "duty.view")
    post_sql, post_p = ("AND post_id = ?", [post_id]) if post_id else ("", [])
    sql, params = f"SELECT count(*) FROM shifts WHERE day = ? {post_sql}", [day, *post_p]
    return db.cached_read("duty.count_shifts", ("shifts",), "scalar", sql, params)


def day_plan(
    db: Database, actor: Actor, day: date, post_id: int | None = None, page: int = 1, page_size: int | None = None
) -> list[dict]:
    """The shifts of a day (optionally one post; optionally a page of them) with their crews, in one
    query. Names of people outside the actor's teams are shown to global roles only."""
    access.require(actor, "duty.view")
    visible, vparams = _visible_sql(actor)
    post_p: list[Any]
    post_sql, post_p = ("AND s.post_id = ?", [post_id]) if post_id else ("", [])
    if page_size:
        post_sql += (
            " AND s.id IN (SELECT id FROM shifts WHERE day = ? "
            + ("AND post_id = ? " if post_id else "")
            + "ORDER BY post_id, start_at, id LIMIT ? OFFSET ?)"
        )
        post_p += [day, *([post_id] if post_id else []), int(page_size), (max(1, int(page)) - 1) * int(page_size)]
    flat = db.cached_read(
        "duty.day_plan",
        _PLAN_TABLES,
        "dicts",
        f"""SELECT s.id, s.post_id, p.name_zh, p.name_en, p.required, s.start_at, s.end_at, s.version,
                   a.id AS crew_id, v.id AS crew_volunteer_id, v.team_id AS crew_team_id,
                   CASE WHEN {visible} THEN v.name END AS crew_name, a.status AS crew_status, a.version AS crew_version
            FROM shifts s JOIN duty_posts p ON p.id = s.post_id
            LEFT JOIN shift_assignments a ON a.shift_id = s.id LEFT JOIN volunteers v ON v.id = a.volunteer_id
            WHERE s.day = ? {post_sql}
            ORDER BY s.post_id, s.start_at, s.id, a.id""",
        [*vparams, day, *post_p],
    )
    rows = _nest(flat, "id", "crew")
    for r in rows:
        r["assigned"] = len(r["crew"])
        r["short"] = max(0, r["required"] - r["assigned"])
    return rows


def _nest(flat: list[dict], key: str, into: str) -> list[dict]:
    """Rows of a LEFT JOIN (one per child, `into`_* columns; one with NULL children for none), in order, as one
    row per `key` with its children listed under `into`: the portable form of list({...}) in SQL."""
    prefix = into + "_"
    out: dict = {}
    for row in flat:
        parent = out.get(row[key])
        if parent is None:
            parent = out[row[key]] = {k: v for k, v in row.items() if not k.startswith(prefix)}
            parent[into] = []
        if row[prefix + "id"] is not None:
            parent[into].append({k[len(prefix) :]: v for k, v in row.items() if k.startswith(prefix)})
    return list(out.values())


def day_summary(db: Database, actor: Actor, day: date) -> pd.DataFrame:
    """Per post: shifts, headcount required and assigned for the day (aggregated in SQL)."""
    access.require(actor, "duty.view")
    sql = """SELECT p.id AS post_id, p.name_zh, p.name_en, CAST(count(s.id) AS INTEGER) AS shifts,
                  CAST(coalesce(sum(p.required) FILTER (WHERE s.id IS NOT NULL), 0) AS INTEGER) AS required,
                  CAST(coalesce(sum(c.n), 0) AS INTEGER) AS assigned,
                  CAST(coalesce(sum(greatest(p.required - coalesce(c.n, 0), 0)) FILTER (WHERE s.id IS NOT NULL), 0) AS INTEGER)
                      AS short
           FROM duty_posts p LEFT JOIN shifts s ON s.post_id = p.id AND s.day = ?
           LEFT JOIN (SELECT shift_id, count(*) AS n FROM shift_assignments GROUP BY shift_id) c ON c.shift_id = s.id
           WHERE p.active GROUP BY p.id, p.name_zh, p.name_en ORDER BY p.id"""
    return db.cached("duty.day_summary", (day,), ("duty_posts", "shifts", "shift_assignments"), lambda: db.df(sql, [day]))


def plannable_people(
    db: Database, actor: Actor, team_id: int | None = None, search: str | None = None, limit: int = 500
) -> list[tuple[int, str]]:
    """(id, label) of active people the actor may put on shifts (all for the committee, own team for a
    captain), optionally of one team."""
    scope = access.scope_of(actor, "duty.plan")
    if scope is None:
        return []
    params: list[Any]
    if scope == "all":
        where, params = "TRUE", []
    else:
        fragment, params = teams.team_scope(actor, "duty.plan")
        where = teams._scoped(fragment, "v.team_id")
    clauses, values = [where, "v.active"], list(params)
    if team_id is not None:
        clauses.append("v.team_id = ?")
        values.append(int(team_id))
    if search and search.strip():
        clauses.append("v.name ILIKE ?")
        values.append(f"%{search.strip()}%")
    sql = f"""SELECT v.id, v.name, v.team_id, v.is_captain FROM volunteers v WHERE {" AND ".join(clauses)}
              ORDER BY v.team_id, v.is_captain DESC, v.id LIMIT ?"""
    params = [*values, int(limit)]
    # team_scope reads units (a captain's teams are the teams owning their units)
    rows = db.cached_read("duty.plannable_people", ("volunteers", "units"), "rows", sql, params)
    return [(r[0], f"{r[1]} · {r[2]}") for r in rows]


_COPY_MAP = """
    WITH src AS (SELECT id, post_id, start_at, end_at,
                        row_number() OVER (PARTITION BY post_id, start_at, end_at ORDER BY id) AS k
                 FROM shifts WHERE day = ?),
         tgt AS (SELECT id, post_id, start_at, end_at,
                        row_number() OVER (PARTITION BY post_id, start_at, end_at ORDER BY id) AS k
                 FROM shifts WHERE day = ?),
         map AS (SELECT src.id AS sid, tgt.id AS tid, tgt.start_at, tgt.end_at FROM src
                 LEFT JOIN tgt ON tgt.post_id = src.post_id AND tgt.start_at = src.start_at + INTERVAL '1 day'
                              AND tgt.end_at = src.end_at + INTERVAL '1 day' AND tgt.k = src.k),
         cand AS (SELECT a.volunteer_id AS vid, map.tid, map.start_at, map.end_at
                  FROM shift_assignments a JOIN map ON map.sid = a.shift_id JOIN volunteers v ON v.id = a.volunteer_id
                  WHERE v.active AND {team}),
         judged AS (SELECT cand.*, tid IS NOT NULL AND NOT EXISTS (
                        SELECT 1 FROM shift_assignments e JOIN shifts es ON es.id = e.shift_id
                        WHERE e.volunteer_id = cand.vid AND es.start_at < cand.end_at AND es.end_at > cand.start_at) AS ok
                    FROM cand)
"""


def _copy_shifts(tx: Tx, day: date, nxt: date) -> int:
    """The committee's copy: the day's shifts the next day lacks (by post and time); how many were created."""
    created = len(
        tx.rows(
            """INSERT INTO shifts (id, post_id, day, start_at, end_at)
           SELECT nextval('shift_seq'), post_id, ?, start_at + INTERVAL '1 day', end_at + INTERVAL '1 day' FROM (
               SELECT s.*, row_number() OVER (PARTITION BY post_id, start_at, end_at ORDER BY id) AS k
               FROM shifts s WHERE s.day = ?) src
           WHERE k > (SELECT count(*) FROM shifts n WHERE n.day = ? AND n.post_id = src.post_id
                      AND n.start_at = src.start_at + INTERVAL '1 day' AND n.end_at = src.end_at + INTERVAL '1 day')
           ORDER BY post_id, start_at, id RETURNING id""",
            [nxt, day, nxt],
            writes=("shifts",),
        )
    )
    if created:
        tx.changes += 1
    return created


def _rest_warnings(tx: Tx, head: str, params: list) -> list[Warning]:
    """People copied who would work too soon before or after another shift (first 50)."""
    warnings = [
        Warning(
            "duty.warn.rest",
            {"name": r[0], "post": r[1], "start": local(r[2]).strftime("%m-%d %H:%M"), "hours": round(r[3] / 3600, 1)},
        )
        for r in tx.rows(
            head
            + f"""
            SELECT v.name, p.name_zh, es.start_at,
                   CASE WHEN es.end_at <= j.start_at THEN {kpi.seconds("j.start_at - es.end_at")}
                        ELSE {kpi.seconds("es.start_at - j.end_at")} END
            FROM judged j JOIN shift_assignments e ON e.volunteer_id = j.vid JOIN shifts es ON es.id = e.shift_id
            JOIN duty_posts p ON p.id = es.post_id JOIN volunteers v ON v.id = j.vid
            WHERE j.ok AND es.start_at < j.end_at + INTERVAL '{int(MIN_REST.total_seconds())} seconds'
              AND es.end_at > j.start_at - INTERVAL '{int(MIN_REST.total_seconds())} seconds'
            ORDER BY j.start_at, v.id LIMIT 50""",
            params,
        )
    ]
    return warnings


def _copy_crews(tx: Tx, head: str, params: list, username: str) -> int:
    """Everyone who may be copied, into the next day's shifts; how many were."""
    copied = len(
        tx.rows(
            "INSERT INTO shift_assignments (id, shift_id, volunteer_id, status, assigned_by) "
            + head
            + "SELECT nextval('assignment_seq'), tid, vid, 'assigned', ? FROM judged WHERE ok ORDER BY tid, vid RETURNING id",
            [*params, username],
            writes=("shift_assignments",),
        )
    )
    if copied:
        tx.changes += 1
    return copied


def copy_day(db: Database, actor: Actor, day: date) -> dict:
    """Copy a day's plan to the next day in one transaction, set-based (a handful of statements
    whatever the size). The committee copies every shift (creating the next day's shifts where
    missing) and every crew; a captain copies their own team's people into the next day's
    existing shifts. People who would be double-booked (or are already there) are skipped;
    returns counts and the rest warnings (first 50)."""

    def fn(tx: Tx) -> dict:
        scope = access.scope_of(actor, "duty.plan")
        if scope is None:
            raise PermissionDenied(action="duty.plan", unit="")
        nxt = day + timedelta(days=1)
        if nxt < tx.now.date():
            raise InvalidInput("duty.error.copy_past")
        if not tx.scalar("SELECT count(*) FROM shifts WHERE day = ?", [day]):
            raise InvalidInput("duty.error.copy_empty", day=day.isoformat())
        team, team_p = ("TRUE", []) if scope == "all" else ("v.team_id = ?", [actor.team_id if actor.team_id is not None else -1])
        # Touch the people who may be copied (as _assign_in does for one): a planner booking one of them
        # meanwhile conflicts, retries after this commit and sees the copy, so nobody is booked twice.
        tx.execute(
            f"""UPDATE volunteers SET booking_lock = booking_lock + 1 WHERE id IN (
                           SELECT a.volunteer_id FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id
                           JOIN volunteers v ON v.id = a.volunteer_id WHERE s.day = ? AND {team})""",
            [day, *team_p],
            writes=("volunteers",),
        )
        created = 0
        if scope == "all":
            created = _copy_shifts(tx, day, nxt)
        head = _COPY_MAP.format(team=team)
        params = [day, nxt, *team_p]
        total = tx.scalar(head + "SELECT count(*) FROM judged", params)
        warnings = _rest_warnings(tx, head, params)
        copied = _copy_crews(tx, head, params, actor.username)
        result = {"shifts_created": created, "assignments_copied": copied, "skipped": total - copied}
        tx.audit("duty.copy_day", "shift_day", nxt.isoformat(), {"from": day.isoformat()}, result)
        return {**result, "warnings": warnings}

    return db.write(actor, fn)


# -- my duty --------------------------------------------------------------------------------------
def my_duty(db: Database, actor: Actor, days: int = MY_DAYS) -> list[dict]:
    """The actor's own shifts from today for `days` days: post, time, status, co-workers, the
    captain's name and phone, and the handover notes left by the previous shift at the post.
    Three queries whatever the number of shifts."""
    volunteer_id = actor.volunteer_id
    if volunteer_id is None:
        return []
    today = db.today()
    mine = db.cached("duty.my_duty", (volunteer_id, today, days), _MINE_TABLES, lambda: _my_rows(db, volunteer_id, today, days))
    now = db.now()
    for m in mine:
        m["next_steps"] = ASSIGNMENT.next_steps(m["status"], actor.role)
        m["window"] = window_state(m, now)
        m["now"] = m["start_at"] <= now < m["end_at"]
    return mine


_MINE_TABLES = ("shift_assignments", "shifts", "duty_posts", "volunteers", "teams")


def _my_rows(db: Database, volunteer_id: int, today: date, days: int) -> list[dict]:
    """my_duty's rows before the clock is applied (three queries, cached per person and day)."""
    mine = db.dicts(
        """SELECT a.id, a.version, a.status, a.check_in_at, a.check_out_at, a.handover_note,
                  s.id AS shift_id, s.day, s.start_at, s.end_at, s.post_id, p.name_zh, p.name_en, p.required,
                  c.name AS captain, c.phone AS captain_phone
           FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id JOIN duty_posts p ON p.id = s.post_id
           JOIN volunteers me ON me.id = a.volunteer_id
           LEFT JOIN teams t ON t.id = me.team_id LEFT JOIN volunteers c ON c.id = t.captain_id
           WHERE a.volunteer_id = ? AND s.day >= ? AND s.day < ?
           ORDER BY s.start_at""",
        [volunteer_id, today, today + timedelta(days=days)],
    )
    if not mine:
        return []
    ids = [m["shift_id"] for m in mine]
    marks = ", ".join("?" for _ in ids)
    crew: dict[int, list[dict]] = {}
    for r in db.dicts(
        f"""SELECT a.shift_id, v.name, v.team_id, a.status FROM shift_assignments a
                          JOIN volunteers v ON v.id = a.volunteer_id
                          WHERE a.shift_id IN ({marks}) AND a.volunteer_id <> ? ORDER BY a.id""",
        [*ids, volunteer_id],
    ):
        crew.setdefault(r["shift_id"], []).append(r)
    notes: dict[int, list[dict]] = {}
    for r in db.dicts(
        f"""WITH prev AS (
                    SELECT sid, pid FROM (
                        SELECT s.id AS sid, p.id AS pid, row_number() OVER (PARTITION BY s.id ORDER BY p.start_at DESC, p.id DESC) AS k
                        FROM shifts s JOIN shifts p ON p.post_id = s.post_id AND p.start_at < s.start_at
                        WHERE s.id IN ({marks})) ranked
                    WHERE k = 1)
                SELECT prev.sid AS shift_id, v.name, a.handover_note AS note, a.check_out_at
                FROM prev JOIN shift_assignments a ON a.shift_id = prev.pid JOIN volunteers v ON v.id = a.volunteer_id
                WHERE a.handover_note IS NOT NULL ORDER BY a.check_out_at NULLS LAST, a.id""",
        ids,
    ):
        notes.setdefault(r["shift_id"], []).append(r)
    for m in mine:
        m["coworkers"] = crew.get(m["shift_id"], [])
        m["handover_in"] = notes.get(m["shift_id"], [])
    return mine


def early_by(row: dict, now: datetime) -> timedelta | None:
    """How long before its end a checked-in shift would be left if checked out now, when that is more than
    CHECKOUT_EARLY_WARNING (the page then asks to confirm: 0 minutes into a 5-hour shift is most likely a slip)."""
    left = row["end_at"] - now
    return left if row["status"] == "checked_in" and left > CHECKOUT_EARLY_WARNING else None


def team_today(db: Database, actor: Actor, day: date | None = None) -> list[dict]:
    """Who of the actor's team is on duty on a day (today by default): post, time, name, status, in time order."""
    access.require(actor, "duty.view")
    if actor.team_id is None:
        return []
    day = day or db.today()
    return db.cached(
        "duty.team_today",
        (actor.team_id, day),
        _MINE_TABLES,
        lambda: db.dicts(
            """SELECT s.start_at, s.end_at, p.name_zh, p.name_en, v.name, a.status, a.check_in_at, a.volunteer_id
           FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id JOIN duty_posts p ON p.id = s.post_id
           JOIN volunteers v ON v.id = a.volunteer_id
           WHERE v.team_id = ? AND s.day = ? ORDER BY s.start_at, p.id, v.name, a.id""",
            [actor.team_id, day],
        ),
    )


def window_state(row: dict, now: datetime) -> str:
    """Where the clock stands for this assignment: 'early', 'open', 'late' (check-in), or for a
    checked-in one 'open' / 'late' (check-out)."""
    if row["status"] == "assigned":
        if now < row["start_at"] - CHECKIN_EARLY:
            return "early"
        return "open" if now <= row["end_at"] else "late"
    if row["status"] == "checked_in":
        return "open" if now <= row["end_at"] + CHECKOUT_LATE else "late"
    return "closed"


# -- check-in, check-out, handover ------------------------------------------------------------------
def _transition(db: Database, actor: Actor, assignment_id: int, version: int, target: str, note: str | None = None) -> None:
    def fn(tx: Tx) -> None:
        row = tx.record("shift_assignments", assignment_id)
        _require_person_in_scope(tx, actor, "duty.checkin", row["volunteer_id"])
        ASSIGNMENT.check(row["status"], target, actor.role)
        shift = tx.record("shifts", row["shift_id"])
        now = tx.now
        if target == "checked_in":
            opens = shift["start_at"] - CHECKIN_EARLY
            if now < opens:
                raise InvalidInput("duty.error.too_early", time=local(opens).strftime("%m-%d %H:%M"))
            if now > shift["end_at"]:
                raise InvalidInput("duty.error.too_late", time=local(shift["end_at"]).strftime("%m-%d %H:%M"))
            changes = {"status": target, "check_in_at": now}
        else:
            if now > shift["end_at"] + CHECKOUT_LATE:
                raise InvalidInput("duty.error.too_late", time=local(shift["end_at"] + CHECKOUT_LATE).strftime("%m-%d %H:%M"))
            changes = {"status": target, "check_out_at": now}
            if note is not None and note.strip():
                changes["handover_note"] = _clean_note(note)
        before, _ = tx.update("shift_assignments", assignment_id, changes, expected_version=version)
        tx.audit(f"duty.{target}", "shift_assignment", assignment_id, {"status": before["status"]}, dict(changes))

    db.write(actor, fn)


def check_in(db: Database, actor: Actor, assignment_id: int, version: int) -> None:
    _transition(db, actor, assignment_id, version, "checked_in")


def check_out(db: Database, actor: Actor, assignment_id: int, version: int, handover_note: str | None = None) -> None:
    _transition(db, actor, assignment_id, version, "done", handover_note)


def _clean_note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput("duty.error.note_long", n=MAX_NOTE)
    return note or None


def write_handover(db: Database, actor: Actor, assignment_id: int, version: int, note: str) -> None:
    """A note for the next shift at the same post, by someone who has started this shift."""

    def fn(tx: Tx) -> None:
        row = tx.record("shift_assignments", assignment_id)
        _require_person_in_scope(tx, actor, "duty.checkin", row["volunteer_id"])
        if row["status"] == "assigned":
            raise InvalidInput("duty.error.handover_before_start")
        text = _clean_note(note)
        before, _ = tx.update("shift_assignments", assignment_id, {"handover_note": text}, expected_version=version)
        tx.audit(
            "duty.handover",
            "shift_assignment",
            assignment_id,
            {"handover_note": before["handover_note"]},
            {"handover_note": text},
        )

    db.write(actor, fn)


# -- on duty now ------------------------------------------------------------------------------------
def _visible_sql(actor: Actor) -> tuple[str, list]:
    """Condition on v (volunteers) under which the actor sees the person's name."""
    if access.scope_of(actor, "duty.view") == "all":
        return "TRUE", []
    return "v.team_id = ?", [actor.team_id if actor.team_id is not None else -1]


def board(db: Database, actor: Actor, at: datetime | None = None, names: int | None = None) -> list[dict]:
    """Per active post: the shifts running now and the next shift(s), their crews (status per person; the
    first `names` shifts and people of each when given, all otherwise, with shifts_now, crew_now_total
    and crew_next_total counting everything), and whether the post is under-staffed (fewer assigned than required now).
    Counted in SQL (two queries: the shifts, their crews), cached until a write to the duty tables or the next minute."""
    access.require(actor, "duty.view")
    now = _minute(at or db.now())
    visible, vparams = _visible_sql(actor)
    key = (now, visible, tuple(vparams), names)
    return db.cached(
        "duty.board",
        key,
        ("shifts", "shift_assignments", "volunteers", "duty_posts"),
        lambda: _board(db, now, visible, vparams, names),
    )


def _board(db: Database, now: datetime, visible: str, vparams: list, names: int | None) -> list[dict]:
    keep = names if names is not None else 2**31 - 1  # shifts and people listed per post and slot
    by = _board_groups(db, now, visible, vparams, keep)
    empty = {"n_shifts": 0, "shifts": [], "n": 0, "checked_in": 0, "crew": []}
    posts = db.dicts("SELECT id, code, kind, name_zh, name_en, required FROM duty_posts WHERE active ORDER BY id")
    return [_board_row(post, by.get((post["id"], "now"), empty), by.get((post["id"], "next"), empty)) for post in posts]


def _board_groups(db: Database, now: datetime, visible: str, vparams: list, keep: int) -> dict[tuple, dict]:
    """{(post, "now"|"next"): its shifts and crew (the first `keep` of each) and their counts}."""
    picked = """WITH cur AS (
                SELECT s.id, s.post_id, s.start_at, s.end_at, 'now' AS slot FROM shifts s
                WHERE s.start_at <= ? AND s.end_at > ?),
            nxt AS (
                SELECT n.id, n.post_id, n.start_at, n.end_at, 'next' AS slot FROM (
                    SELECT s.id, s.post_id, s.start_at, s.end_at, rank() OVER (PARTITION BY s.post_id ORDER BY s.start_at) AS k
                    FROM shifts s WHERE s.start_at > ?) n
                WHERE n.k = 1),
            picked AS (SELECT * FROM cur UNION ALL SELECT * FROM nxt)"""
    # counted over every row of a post and slot before the first `keep` are kept (at least one, for the counts)
    shifts = db.dicts(
        picked
        + """
            SELECT post_id, slot, id, start_at, end_at, n_shifts FROM (
                SELECT picked.*, count(*) OVER (PARTITION BY post_id, slot) AS n_shifts,
                       row_number() OVER (PARTITION BY post_id, slot ORDER BY start_at, id) AS k
                FROM picked) ranked
            WHERE k <= ? ORDER BY post_id, slot, k""",
        [now, now, now, max(keep, 1)],
    )
    crews = db.dicts(
        picked
        + f"""
            SELECT post_id, slot, name, team_id, status, check_in_at, n, checked_in FROM (
                SELECT x.post_id, x.slot, CASE WHEN {visible} THEN v.name END AS name, v.team_id, a.status, a.check_in_at,
                       count(*) OVER (PARTITION BY x.post_id, x.slot) AS n,
                       count(*) FILTER (WHERE a.status = 'checked_in') OVER (PARTITION BY x.post_id, x.slot) AS checked_in,
                       row_number() OVER (PARTITION BY x.post_id, x.slot ORDER BY x.start_at, x.id, a.id) AS k
                FROM picked x JOIN shift_assignments a ON a.shift_id = x.id JOIN volunteers v ON v.id = a.volunteer_id) ranked
            WHERE k <= ? ORDER BY post_id, slot, k""",
        [now, now, now, *vparams, max(keep, 1)],
    )
    groups: dict[tuple, dict] = {}
    for r in shifts:
        g = groups.setdefault(
            (r["post_id"], r["slot"]), {"n_shifts": r["n_shifts"], "shifts": [], "n": 0, "checked_in": 0, "crew": []}
        )
        g["shifts"].append({k: r[k] for k in ("id", "post_id", "slot", "start_at", "end_at")})
    for r in crews:
        g = groups[(r["post_id"], r["slot"])]
        g["n"], g["checked_in"] = r["n"], r["checked_in"]
        g["crew"].append({k: r[k] for k in ("name", "team_id", "status", "check_in_at")})
    for g in groups.values():
        g["shifts"], g["crew"] = g["shifts"][:keep], g["crew"][:keep]
    return groups


def _board_row(post: dict, cur: dict, nxt: dict) -> dict:
    """One post of the board: its shifts now and next, their crews, and whether it is under-staffed."""
    current = cur["shifts"]
    assigned, checked_in = int(cur["n"]), int(cur["checked_in"])
    required = post["required"] * int(cur["n_shifts"]) if current else post["required"]
    return {
        **post,
        "now": current,
        "next": nxt["shifts"],
        "crew_now": cur["crew"],
        "crew_next": nxt["crew"],
        "shifts_now": int(cur["n_shifts"]),
        "crew_now_total": assigned,
        "crew_next_total": int(nxt["n"]),
        "assigned_now": assigned,
        "checked_in_now": checked_in,
        "required_now": required if current else 0,
        "under_staffed": bool(current) and assigned < required,
        "not_arrived": max(0, min(assigned, required) - checked_in) if current else 0,
    }


def board_totals(rows: list[dict]) -> dict:
    return {
        "posts": len(rows),
        "running": sum(1 for r in rows if r["now"]),
        "under_staffed": sum(1 for r in rows if r["under_staffed"]),
        "checked_in": sum(r["checked_in_now"] for r in rows),
        "required": sum(r["required_now"] for r in rows),
    }


def find_assignment(db: Database, assignment_id: int) -> dict:
    rows = db.dicts("SELECT * FROM shift_assignments WHERE id = ?", [assignment_id])
    if not rows:
        raise NotFound(entity="shift_assignment", id=assignment_id)
    return rows[0]
