"""Special residents: needs tags, medical notes, due date, regular treatments outside the compound
and an emergency contact. Medical detail is for the clinic, the committee and the captain of the
resident's unit only, and every view of it is written to the audit log. Everyone else who may see
a household learns only that a resident needs priority support."""

from __future__ import annotations

import re
from datetime import date, timedelta

from . import access, users
from .access import Actor
from .db import Database, Tx
from .errors import InvalidInput, NotFound

TAGS = (
    "elderly_alone",
    "disability",
    "chronic",
    "critical",
    "dialysis",
    "chemo",
    "pregnancy",
    "newborn",
    "mental_health",
    "other",
)
TREATMENT_KINDS = ("dialysis", "chemo", "radiotherapy", "prenatal", "rehab", "other")
TRIP_DAYS = 7
MAX_TEXT = 500
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _unit_of_resident(db_or_tx, resident_id: int) -> int:
    row = db_or_tx.one(
        "SELECT h.unit_id FROM residents r JOIN households h ON h.id = r.household_id WHERE r.id = ?", [resident_id]
    )
    if row is None:
        raise NotFound(entity="resident", id=resident_id)
    return row[0]


def _clean(value: str | None, max_len: int = MAX_TEXT) -> str | None:
    value = (value or "").strip()
    if len(value) > max_len:
        raise InvalidInput("medical.error.too_long", n=max_len)
    return value or None


# -- reads ------------------------------------------------------------------------------------------
def units_overview(db: Database, actor: Actor, today: date | None = None) -> list[dict]:
    """Units the actor may see medical detail for, with their count of special residents and of
    treatment trips in the next 7 days (for the unit picker). One aggregate query."""
    where, params = access.unit_filter(actor, "medical.view", "u.id")
    days = trip_days(today or db.today())
    return db.dicts(
        f"""WITH special AS (
                SELECT h.unit_id, count(*) AS n FROM residents r JOIN households h ON h.id = r.household_id
                WHERE r.active AND array_length(r.tags, 1) > 0 GROUP BY h.unit_id),
            trips AS (
                SELECT h.unit_id, count(*) AS n FROM treatments t JOIN residents r ON r.id = t.resident_id
                JOIN households h ON h.id = r.household_id, unnest(CAST(? AS DATE[])) AS d(day)
                WHERE t.active AND r.active AND CAST(extract(isodow FROM d.day) AS INTEGER) = ANY(t.weekdays)
                GROUP BY h.unit_id)
            SELECT u.id AS unit_id, u.building, u.unit_no, coalesce(s.n, 0) AS special, coalesce(tr.n, 0) AS trips
            FROM units u LEFT JOIN special s ON s.unit_id = u.id LEFT JOIN trips tr ON tr.unit_id = u.id
            WHERE {where} ORDER BY u.id""",
        [days, *params],
    )


def trip_days(today: date, days: int = TRIP_DAYS) -> list[date]:
    return [today + timedelta(days=n) for n in range(days)]


def special_residents(db: Database, actor: Actor, unit_id: int, *, log: bool = True) -> list[dict]:
    """Special residents of one unit with their tags, due date and next treatment trip. Tags are
    medical detail: the view of the list is logged."""
    access.require(actor, "medical.view", unit_id)
    days = trip_days(db.today())
    rows = db.dicts(
        """SELECT r.id, r.name, r.gender, r.birth_year, r.tags, r.due_date, h.id AS household_id, h.room,
                  nt.next_day, nt.depart_time, nt.kind AS next_kind
           FROM residents r JOIN households h ON h.id = r.household_id
           LEFT JOIN (SELECT * FROM (
               SELECT t.resident_id, d.day AS next_day, t.depart_time, t.kind,
                      row_number() OVER (PARTITION BY t.resident_id ORDER BY d.day, t.depart_time, t.id) AS n
               FROM treatments t JOIN residents r2 ON r2.id = t.resident_id
               JOIN households h2 ON h2.id = r2.household_id, unnest(CAST(? AS DATE[])) AS d(day)
               WHERE t.active AND h2.unit_id = ? AND CAST(extract(isodow FROM d.day) AS INTEGER) = ANY(t.weekdays)) ranked
               WHERE n = 1) nt ON nt.resident_id = r.id
           WHERE h.unit_id = ? AND r.active AND array_length(r.tags, 1) > 0
           ORDER BY length(h.room), h.room, r.id""",
        [days, unit_id, unit_id],
    )
    if log:
        users.log_view(db, actor, "unit", unit_id, what="medical_list")
    return rows


def resident_medical(db: Database, actor: Actor, resident_id: int, *, log: bool = True) -> dict:
    """All medical detail of one resident, with active treatments. Logged as a view."""
    unit_id = _unit_of_resident(db, resident_id)
    access.require(actor, "medical.view", unit_id)
    resident = db.dicts(
        """SELECT r.id, r.name, r.gender, r.birth_year, r.phone, r.tags, r.medical_notes, r.due_date,
                  r.emergency_contact, r.version, h.id AS household_id, h.room, h.unit_id, u.building, u.unit_no
           FROM residents r JOIN households h ON h.id = r.household_id JOIN units u ON u.id = h.unit_id
           WHERE r.id = ?""",
        [resident_id],
    )[0]
    resident["treatments"] = db.dicts(
        """SELECT id, kind, weekdays, depart_time, destination, notes, version FROM treatments
           WHERE resident_id = ? AND active ORDER BY id""",
        [resident_id],
    )
    if log:
        users.log_view(db, actor, "resident", resident_id)
    return resident


def upcoming_trips(
    db: Database, actor: Actor, unit_id: int | None = None, *, limit: int = 50, offset: int = 0, log: bool = True
) -> tuple[list[dict], int]:
    """Treatment trips in the next 7 days (each needs an exit permit), by day and departure time,
    in the actor's scope (one unit, or all of it). Paged; returns (rows, total)."""
    if unit_id is not None:
        access.require(actor, "medical.view", unit_id)
    where, params = access.unit_filter(actor, "medical.view", "h.unit_id")
    if unit_id is not None:
        where, params = f"({where}) AND h.unit_id = ?", [*params, unit_id]
    base = f"""FROM treatments t JOIN residents r ON r.id = t.resident_id JOIN households h ON h.id = r.household_id
               JOIN units u ON u.id = h.unit_id, unnest(CAST(? AS DATE[])) AS d(day)
               WHERE t.active AND r.active AND CAST(extract(isodow FROM d.day) AS INTEGER) = ANY(t.weekdays) AND {where}"""
    days = trip_days(db.today())
    total = db.scalar(f"SELECT count(*) {base}", [days, *params])
    rows = db.dicts(
        f"""SELECT d.day, t.depart_time, t.kind, t.destination, r.id AS resident_id, r.name, h.room, h.unit_id,
                   u.building, u.unit_no {base}
            ORDER BY d.day, t.depart_time, h.unit_id, length(h.room), h.room, r.id LIMIT ? OFFSET ?""",
        [days, *params, int(limit), int(offset)],
    )
    if log:
        users.log_view(db, actor, "unit" if unit_id is not None else "compound", unit_id or "all", what="treatment_trips")
    return rows, total


def support_flags(db: Database, actor: Actor, household_id: int) -> list[dict]:
    """For anyone who may see the household (members included): who needs priority support, and
    nothing else about their health."""
    unit_id = db.scalar("SELECT unit_id FROM households WHERE id = ?", [household_id])
    if unit_id is None:
        raise NotFound(entity="household", id=household_id)
    access.require(actor, "household.view", unit_id)
    return db.dicts(
        """SELECT id, name, coalesce(array_length(tags, 1), 0) > 0 AS needs_priority_support FROM residents
           WHERE household_id = ? AND active ORDER BY id""",
        [household_id],
    )


# -- writes -----------------------------------------------------------------------------------------
def validate_profile(tags: list[str], due_date: date | None) -> tuple[list[str], date | None]:
    unknown = [tag for tag in tags if tag not in TAGS]
    if unknown:
        raise InvalidInput("medical.error.tag", tag=", ".join(unknown))
    tags = [tag for tag in TAGS if tag in set(tags)]
    if "pregnancy" in tags and due_date is None:
        raise InvalidInput("medical.error.due_date_missing")
    if "pregnancy" not in tags:
        due_date = None
    return tags, due_date


def update_profile(
    db: Database,
    actor: Actor,
    resident_id: int,
    *,
    tags: list[str],
    medical_notes: str | None,
    due_date: date | None,
    emergency_contact: str | None,
    expected_version: int,
) -> dict:
    tags, due_date = validate_profile(list(tags or []), due_date)
    notes = _clean(medical_notes)
    contact = _clean(emergency_contact, 100)

    def fn(tx: Tx) -> dict:
        tx.require("medical.edit", _unit_of_resident(tx, resident_id))
        before, after = tx.update(
            "residents",
            resident_id,
            {"tags": tags, "medical_notes": notes, "due_date": due_date, "emergency_contact": contact},
            expected_version=expected_version,
        )
        keys = ("tags", "medical_notes", "due_date", "emergency_contact", "version")
        tx.audit("medical.update", "resident", resident_id, {k: before[k] for k in keys}, {k: after[k] for k in keys})
        return after

    return db.write(actor, fn)


def add_treatment(
    db: Database,
    actor: Actor,
    resident_id: int,
    *,
    kind: str,
    weekdays: list[int],
    depart_time: str | None,
    destination: str | None,
    notes: str | None = None,
) -> int:
    if kind not in TREATMENT_KINDS:
        raise InvalidInput("medical.error.treatment_kind")
    days = sorted({int(d) for d in weekdays or []})
    if not days or any(d < 1 or d > 7 for d in days):
        raise InvalidInput("medical.error.weekdays")
    depart = (depart_time or "").strip()
    if not _TIME.match(depart):
        raise InvalidInput("medical.error.depart_time")
    destination = _clean(destination, 100)
    if not destination:
        raise InvalidInput("medical.error.destination")
    notes = _clean(notes)

    def fn(tx: Tx) -> int:
        tx.require("medical.edit", _unit_of_resident(tx, resident_id))
        values = {
            "resident_id": resident_id,
            "kind": kind,
            "weekdays": days,
            "depart_time": depart,
            "destination": destination,
            "notes": notes,
        }
        treatment_id = tx.insert("treatments", values)
        tx.audit("medical.treatment.add", "treatment", treatment_id, None, values)
        return treatment_id

    return db.write(actor, fn)


def end_treatment(db: Database, actor: Actor, treatment_id: int, expected_version: int) -> None:
    def fn(tx: Tx) -> None:
        resident_id = tx.scalar("SELECT resident_id FROM treatments WHERE id = ?", [treatment_id])
        if resident_id is None:
            raise NotFound(entity="treatment", id=treatment_id)
        tx.require("medical.edit", _unit_of_resident(tx, resident_id))
        before, after = tx.update("treatments", treatment_id, {"active": False}, expected_version=expected_version)
        tx.audit("medical.treatment.end", "treatment", treatment_id, {"active": True}, {"active": False})

    db.write(actor, fn)
