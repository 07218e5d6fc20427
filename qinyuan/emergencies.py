"""Emergency cases: reported from a phone, followed as a timeline of typed events, closed on the record.

A case's status is the kind of its latest (non-note) event. Which event may follow which, and who
may record it, is the one `CASE` machine below; impossible orders are refused with a message that
says what is missing. Captains act inside their units, the clinic everywhere, the committee
everywhere and alone grants exit permits. Members have no access at all."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, overload

from . import access, i18n, users
from .access import Actor
from .db import Database, Tx
from .errors import InvalidInput, NotFound, PermissionDenied, StaleEdit
from .states import Machine

SEVERITIES = ("critical", "urgent", "routine")
EVENT_KINDS = (
    "reported",
    "clinic_contacted",
    "treated_on_site",
    "transfer_advised",
    "exit_permit_requested",
    "exit_permit_granted",
    "escort_assigned",
    "left_for_hospital",
    "at_hospital",
    "returned",
    "closed",
)
NOTE = "note"
STALE_SETTING = "emergency_stale_minutes"
DEFAULT_STALE_MINUTES = 60
MAX_TEXT = 500

_ANY = ("committee", "captain", "medic")
_COMMITTEE = ("committee",)

# from status -> {next event: roles that may record it}. The status follows the latest event.
CASE = Machine(
    "emergency",
    {
        "reported": {
            "clinic_contacted": _ANY,
            "treated_on_site": _ANY,
            "transfer_advised": _ANY,
            "exit_permit_requested": _ANY,
            "closed": _ANY,
        },
        "clinic_contacted": {"treated_on_site": _ANY, "transfer_advised": _ANY, "exit_permit_requested": _ANY, "closed": _ANY},
        "treated_on_site": {"clinic_contacted": _ANY, "transfer_advised": _ANY, "exit_permit_requested": _ANY, "closed": _ANY},
        "transfer_advised": {"clinic_contacted": _ANY, "treated_on_site": _ANY, "exit_permit_requested": _ANY, "closed": _ANY},
        "exit_permit_requested": {"exit_permit_granted": _COMMITTEE, "closed": _ANY},
        "exit_permit_granted": {"escort_assigned": _ANY, "left_for_hospital": _ANY},
        "escort_assigned": {"left_for_hospital": _ANY},
        "left_for_hospital": {"at_hospital": _ANY, "returned": _ANY},
        "at_hospital": {"returned": _ANY, "closed": _ANY},
        "returned": {"clinic_contacted": _ANY, "treated_on_site": _ANY, "closed": _ANY},
        "closed": {},
    },
    terminal=("closed",),
)

# An event that needs an earlier one: refused with a message naming what is missing.
NEEDS = {
    "exit_permit_granted": "exit_permit_requested",
    "escort_assigned": "exit_permit_granted",
    "left_for_hospital": "exit_permit_granted",
    "at_hospital": "left_for_hospital",
    "returned": "left_for_hospital",
}

_BP = re.compile(r"^\s*(\d{2,3})\s*/\s*(\d{2,3})\s*$")


# -- rules ------------------------------------------------------------------------------------------
def check_event(status: str, kind: str, role: str, history: list[str] | tuple[str, ...] = ()) -> None:
    """Raise unless an event of `kind` may follow a case in `status` (history: earlier event kinds)."""
    if kind not in EVENT_KINDS and kind != NOTE:
        raise InvalidInput("emergency.error.kind")
    if not CASE.is_open(status):
        raise InvalidInput("emergency.error.closed")
    if kind == NOTE:
        if role not in _ANY:
            raise access_denied(kind)
        return
    if kind == "exit_permit_granted" and role not in _COMMITTEE:
        raise access_denied(kind)
    if kind not in CASE.transitions.get(status, {}):
        needed = NEEDS.get(kind)
        if needed and needed not in history:
            raise InvalidInput(f"emergency.error.needs.{kind}")
        if kind == "reported":
            raise InvalidInput("emergency.error.reported_twice")
        raise InvalidInput(f"emergency.error.order.{status}")
    CASE.check(status, kind, role)


def access_denied(kind: str) -> PermissionDenied:
    return PermissionDenied(action=f"emergency.{kind}", unit="")


def next_steps(status: str, role: str) -> list[str]:
    """Events this role may record now: the steps forward in timeline order, then those going back (the page
    highlights the first, so after 建议转院 it is 已申请出门, not 已联系校医院 again). Notes are always possible."""
    allowed = CASE.next_steps(status, role)
    here = EVENT_KINDS.index(status) if status in EVENT_KINDS else -1
    ordered = [k for k in EVENT_KINDS if k in allowed]
    return [k for k in ordered if EVENT_KINDS.index(k) > here] + [k for k in ordered if EVENT_KINDS.index(k) <= here]


# The short signs vitals_text stores, as each language says them.
VITAL_SIGNS = {
    "BP": "emergency.vital.bp",
    "P": "emergency.vital.pulse",
    "T": "emergency.vital.temperature",
    "SpO2": "emergency.vital.spo2",
}
_SIGN = re.compile(r"(?<![A-Za-z])(BP|SpO2|P|T)(?= \d)")


def vitals_label(text: str, lang: str) -> str:
    """'BP 220/120 · P 96' as the reader's language says it (血压 220/120 · 心率 96)."""
    return _SIGN.sub(lambda m: i18n.t(VITAL_SIGNS[m[1]], lang), text or "")


def vitals_text(
    bp: str | None = None,
    pulse: int | None = None,
    temperature: float | None = None,
    spo2: int | None = None,
    other: str | None = None,
) -> str | None:
    """One line of vital signs from optional phone inputs, e.g. 'BP 220/120 · P 96 · T 36.8'."""
    parts = []
    if bp and bp.strip():
        match = _BP.match(bp)
        if not match:
            raise InvalidInput("emergency.error.bp")
        high, low = int(match[1]), int(match[2])
        if not (50 <= high <= 300 and 20 <= low <= 200 and low < high):
            raise InvalidInput("emergency.error.bp")
        parts.append(f"BP {high}/{low}")
    if pulse:
        if not 20 <= int(pulse) <= 250:
            raise InvalidInput("emergency.error.pulse")
        parts.append(f"P {int(pulse)}")
    if temperature:
        if not 30 <= float(temperature) <= 45:
            raise InvalidInput("emergency.error.temperature")
        parts.append(f"T {float(temperature):.1f}")
    if spo2:
        if not 50 <= int(spo2) <= 100:
            raise InvalidInput("emergency.error.spo2")
        parts.append(f"SpO2 {int(spo2)}%")
    if other and other.strip():
        parts.append(other.strip()[:100])
    return " · ".join(parts) or None


@overload
def _text(value: str | None, required_key: str) -> str: ...
@overload
def _text(value: str | None, required_key: None = None) -> str | None: ...
def _text(value: str | None, required_key: str | None = None) -> str | None:
    value = (value or "").strip()
    if not value:
        if required_key:
            raise InvalidInput(required_key)
        return None
    if len(value) > MAX_TEXT:
        raise InvalidInput("emergency.error.too_long", n=MAX_TEXT)
    return value


# -- writes -----------------------------------------------------------------------------------------
def report_case(
    db: Database, actor: Actor, household_id: int, resident_id: int | None, summary: str, severity: str, vitals: str | None = None
) -> int:
    """A new case with its 'reported' event, in one audited transaction. Returns the case id."""
    summary = _text(summary, "emergency.error.summary_required")
    vitals = _text(vitals)
    if severity not in SEVERITIES:
        raise InvalidInput("emergency.error.severity")

    def fn(tx: Tx) -> int:
        house = tx.one("SELECT unit_id FROM households WHERE id = ?", [household_id])
        if house is None:
            raise NotFound(entity="household", id=household_id)
        tx.require("emergency.report", house[0])
        return insert_case(tx, household_id, resident_id, summary, severity, vitals)

    return db.write(actor, fn)


def insert_case(
    tx: Tx, household_id: int, resident_id: int | None, summary: str, severity: str, vitals: str | None = None
) -> int:
    """The case, its 'reported' event and audit inside a write whose caller has checked who may report it
    (staff: report_case; a household at its door: qinyuan.door)."""
    assert tx.actor is not None
    actor = tx.actor
    if resident_id is not None and not tx.scalar(
        "SELECT count(*) FROM residents WHERE id = ? AND household_id = ? AND active", [resident_id, household_id]
    ):
        raise InvalidInput("emergency.error.resident")
    case_id = tx.scalar("SELECT nextval('case_seq')")
    values = {
        "id": case_id,
        "household_id": household_id,
        "resident_id": resident_id,
        "summary": summary,
        "vitals": vitals,
        "severity": severity,
        "status": "reported",
        "reported_at": tx.now,
        "reported_by": actor.username,
        "last_event_at": tx.now,
        "closed_at": None,
    }
    tx.insert("emergency_cases", values, returning=None)
    tx.insert("emergency_events", {"case_id": case_id, "kind": "reported", "ts": tx.now, "actor": actor.username, "note": vitals})
    tx.audit("emergency.report", "emergency_case", case_id, None, values)
    return case_id


def add_event(
    db: Database, actor: Actor, case_id: int, kind: str, note: str | None = None, expected_version: int | None = None
) -> dict:
    """Record one event on a case: rules, unit scope and version check, status change and audit together."""
    note = _text(note, "emergency.error.note_required" if kind == NOTE else None)

    def fn(tx: Tx) -> dict:
        case = tx.record("emergency_cases", case_id)
        unit_id = tx.scalar("SELECT unit_id FROM households WHERE id = ?", [case["household_id"]])
        tx.require("emergency.update", unit_id)
        if kind == "exit_permit_granted":
            tx.require("emergency.permit")
        if expected_version is not None and case["version"] != expected_version:
            raise StaleEdit()  # someone recorded a step since this user loaded the case: reload first
        history = [r[0] for r in tx.rows("SELECT DISTINCT kind FROM emergency_events WHERE case_id = ?", [case_id])]
        assert tx.actor is not None
        check_event(case["status"], kind, tx.actor.role, history)
        changes: dict[str, Any] = {"last_event_at": tx.now}
        if kind != NOTE:
            changes["status"] = kind
            if kind == "closed":
                changes["closed_at"] = tx.now
        before, after = tx.update("emergency_cases", case_id, changes, expected_version=expected_version)
        event_id = tx.insert(
            "emergency_events", {"case_id": case_id, "kind": kind, "ts": tx.now, "actor": actor.username, "note": note}
        )
        tx.audit(
            f"emergency.event.{kind}",
            "emergency_case",
            case_id,
            {"status": before["status"], "version": before["version"]},
            {"status": after["status"], "version": after["version"], "event_id": event_id, "note": note},
        )
        return after

    return db.write(actor, fn)


def stale_minutes(db: Database) -> int:
    try:
        return max(1, int(db.settings().get(STALE_SETTING, str(DEFAULT_STALE_MINUTES))))
    except (TypeError, ValueError):
        return DEFAULT_STALE_MINUTES


def set_stale_minutes(db: Database, actor: Actor, minutes: int) -> None:
    if not 5 <= int(minutes) <= 24 * 60:
        raise InvalidInput("emergency.error.stale_range")

    def fn(tx: Tx):
        tx.require("emergency.configure")
        before = tx.scalar("SELECT value FROM settings WHERE key = ?", [STALE_SETTING])
        tx.set_setting(STALE_SETTING, str(int(minutes)))
        tx.audit("settings.update", "setting", STALE_SETTING, before, str(int(minutes)))

    db.write(actor, fn)


# -- reads ------------------------------------------------------------------------------------------
_CASE_COLUMNS = """c.id, c.severity, c.status, c.reported_at, c.reported_by, c.last_event_at, c.closed_at, c.version,
    c.household_id, h.unit_id, u.building, u.unit_no, h.room, r.name AS resident"""
_SEVERITY_RANK = "CASE c.severity WHEN 'critical' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END"


def _minute(db: Database) -> datetime:
    """Now, to the minute: the board counts whole minutes, so reruns within a minute share its cached answers."""
    return db.now().replace(second=0, microsecond=0)


def board_summary(db: Database, actor: Actor) -> dict:
    """Open cases in scope and how many of them have had no update for the stale threshold."""
    where, params = access.unit_filter(actor, "emergency.view", "h.unit_id")
    limit = stale_minutes(db)
    sql = f"""SELECT count(*), count(*) FILTER (WHERE c.last_event_at <= ?)
              FROM emergency_cases c JOIN households h ON h.id = c.household_id WHERE c.status <> 'closed' AND {where}"""
    values = [_minute(db) - timedelta(minutes=limit), *params]
    total, stale = db.cached_read("emergencies.board_summary", ("emergency_cases", "households"), "one", sql, values)
    return {"open": total, "stale": stale, "stale_minutes": limit}


def open_board(db: Database, actor: Actor, limit: int | None = None, offset: int = 0) -> list[dict]:
    """Open cases in the actor's scope: most severe first, then the longest without an update.
    Each row: times since report and since the last update (minutes), the last actor, a stale flag.
    No summaries or vitals here (medical detail is shown, and logged, per case)."""
    where, params = access.unit_filter(actor, "emergency.view", "h.unit_id")
    now = _minute(db)
    threshold = stale_minutes(db)
    sql = f"""WITH open AS (
                SELECT {_CASE_COLUMNS} FROM emergency_cases c
                JOIN households h ON h.id = c.household_id JOIN units u ON u.id = h.unit_id
                LEFT JOIN residents r ON r.id = c.resident_id
                WHERE c.status <> 'closed' AND {where}
                ORDER BY {_SEVERITY_RANK}, c.last_event_at, c.id LIMIT ? OFFSET ?)
            SELECT o.*, e.last_actor, coalesce(us.display_name, e.last_actor) AS last_actor_name, e.last_kind, e.events,
                   o.last_event_at <= ? AS stale
            FROM open o LEFT JOIN (
                SELECT case_id, max(actor) FILTER (WHERE latest = 1) AS last_actor,
                       max(kind) FILTER (WHERE latest = 1) AS last_kind, count(*) AS events
                FROM (SELECT case_id, actor, kind, row_number() OVER (PARTITION BY case_id ORDER BY id DESC) AS latest
                      FROM emergency_events WHERE case_id IN (SELECT id FROM open)) ev
                GROUP BY case_id) e ON e.case_id = o.id
            LEFT JOIN users us ON us.username = e.last_actor
            ORDER BY CASE o.severity WHEN 'critical' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END,
                     o.last_event_at, o.id"""
    values = [*params, limit if limit is not None else 1 << 31, int(offset), now - timedelta(minutes=threshold)]

    def compute() -> list[dict]:
        rows = db.dicts(sql, values)
        for row in rows:
            row["minutes_since_report"] = _minutes_between(row["reported_at"], now)
            row["minutes_since_update"] = _minutes_between(row["last_event_at"], now)
        return rows

    return db.cached(
        "emergencies.open_board",
        (sql, tuple(values), now),
        ("emergency_cases", "households", "units", "residents", "emergency_events", "users"),
        compute,
    )


def _minutes_between(start: datetime, now: datetime) -> int:
    """Minute boundaries from start to now (now is a whole minute): a case reported at 10:00:30 is 5 minutes
    old at 10:05, as the board has always counted."""
    return int((now - start.replace(second=0, microsecond=0)).total_seconds() // 60)


def closed_cases(db: Database, actor: Actor, limit: int = 20, offset: int = 0) -> tuple[list[dict], int]:
    where, params = access.unit_filter(actor, "emergency.view", "h.unit_id")
    base = f"""FROM emergency_cases c JOIN households h ON h.id = c.household_id JOIN units u ON u.id = h.unit_id
               LEFT JOIN residents r ON r.id = c.resident_id WHERE c.status = 'closed' AND {where}"""
    total = db.scalar(f"SELECT count(*) {base}", params)
    rows = db.dicts(
        f"SELECT {_CASE_COLUMNS} {base} ORDER BY c.closed_at DESC NULLS LAST, c.id DESC LIMIT ? OFFSET ?",
        [*params, int(limit), int(offset)],
    )
    return rows, total


def case_detail(db: Database, actor: Actor, case_id: int, *, log: bool = True) -> dict:
    """One case with its resident's details and full timeline. Medical detail: the view is logged
    (log=False only for a rerun of a view already logged)."""
    rows = db.dicts(
        f"""SELECT {_CASE_COLUMNS}, c.summary, c.vitals, c.resident_id, r.gender, r.birth_year, r.tags,
                   r.medical_notes, r.emergency_contact, h.contact_name, h.phone
            FROM emergency_cases c JOIN households h ON h.id = c.household_id JOIN units u ON u.id = h.unit_id
            LEFT JOIN residents r ON r.id = c.resident_id WHERE c.id = ?""",
        [case_id],
    )
    if not rows:
        raise NotFound(entity="emergency_case", id=case_id)
    case = rows[0]
    access.require(actor, "emergency.view", case["unit_id"])
    if not access.can(actor, "medical.view", case["unit_id"]):
        for key in ("tags", "medical_notes", "emergency_contact"):
            case[key] = None
    case["events"] = db.dicts(
        """SELECT e.id, e.kind, e.ts, e.actor, coalesce(u.display_name, e.actor) AS actor_name, e.note
           FROM emergency_events e LEFT JOIN users u ON u.username = e.actor WHERE e.case_id = ? ORDER BY e.ts, e.id""",
        [case_id],
    )
    case["reported_by_name"] = (
        db.scalar("SELECT display_name FROM users WHERE username = ?", [case["reported_by"]]) or case["reported_by"]
    )
    if log:
        users.log_view(db, actor, "emergency_case", case_id)
    return case
