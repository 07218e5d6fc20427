"""A captain's to-do for today: a list of small providers, each one kind of work the captain can act on
now, with the id its line opens (a room, an order, a case, a unit). Adding a kind of work = adding one
provider to PROVIDERS (and its todo.<kind>.* catalogue entries). Never imports streamlit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from . import emergencies, kpi, medicine
from .db import Database


@dataclass(frozen=True)
class Item:
    """One kind of work: its lines (each names a place and the id its link carries) and how many
    related things are waiting on someone else (shown, not counted as the captain's work)."""

    kind: str
    page: str  # the page a line opens
    param: str  # the query parameter that picks the line's thing there
    rows: list[dict]
    waiting: int = 0
    params: dict = field(default_factory=dict)  # extra values for the item's title


Provider = Callable[[Database, tuple[int, ...], date], Item]


def _in(column: str, units) -> tuple[str, list]:
    return kpi._in(column, units)


def tests_to_mark(db: Database, units: tuple[int, ...], day: date) -> Item:
    """Rooms of the current round with residents not yet marked; home sampling waits for the clinic."""
    rnd = kpi.current_round(db, day)
    unit_sql, unit_p = _in("h.unit_id", units)
    rows = db.dicts(
        f"""SELECT h.id, u.building, u.unit_no, h.room, count(*) AS n, string_agg(r.name, '、' ORDER BY r.id) AS names
            FROM test_results tr JOIN residents r ON r.id = tr.resident_id JOIN households h ON h.id = r.household_id
            JOIN units u ON u.id = h.unit_id
            WHERE tr.round_id = ? AND tr.status = 'pending' AND {unit_sql}
            GROUP BY h.id, u.id, u.building, u.unit_no, h.room ORDER BY u.id, length(h.room), h.room""",
        [rnd["id"] if rnd else -1, *unit_p],
    )
    waiting = db.scalar(
        f"""SELECT count(*) FROM test_results tr JOIN residents r ON r.id = tr.resident_id
            JOIN households h ON h.id = r.household_id
            WHERE tr.round_id = ? AND tr.status = 'home_sampling_needed' AND {unit_sql}""",
        [rnd["id"] if rnd else -1, *unit_p],
    )
    return Item(
        "tests", "testing", "room", rows, waiting, {"round": rnd["round_no"] if rnd else "—", "people": sum(r["n"] for r in rows)}
    )


def medicine_to_carry(db: Database, units: tuple[int, ...], _day: date) -> Item:
    """Orders the captain can move now (disinfected: carry to the door); the others are with the clinic
    or logistics."""
    mine = medicine.actionable_states("captain")
    unit_sql, unit_p = _in("h.unit_id", units)
    marks = ", ".join("?" for _ in mine)
    rows = db.dicts(
        f"""SELECT m.id, u.building, u.unit_no, h.room, m.urgency
            FROM medicine_orders m JOIN households h ON h.id = m.household_id JOIN units u ON u.id = h.unit_id
            WHERE m.status IN ({marks}) AND {unit_sql}
            ORDER BY m.urgency = 'critical' DESC, m.urgency = 'urgent' DESC, m.created_at""",
        [*mine, *unit_p],
    )
    open_marks = ", ".join("?" for _ in medicine.OPEN)
    waiting = db.scalar(
        f"""SELECT count(*) FROM medicine_orders m JOIN households h ON h.id = m.household_id
            WHERE m.status IN ({open_marks}) AND {unit_sql}""",
        [*medicine.OPEN, *unit_p],
    ) - len(rows)
    for row in rows:
        row["words"] = {"urgency": f"medicine.urgency.{row['urgency']}"}
    return Item("medicine", "medicine", "order", rows, waiting)


def cases_to_follow(db: Database, units: tuple[int, ...], _day: date) -> Item:
    """Open emergency cases in the captain's units, the longest without news first."""
    unit_sql, unit_p = _in("h.unit_id", units)
    rows = db.dicts(
        f"""SELECT c.id, u.building, u.unit_no, h.room, c.severity, c.status, c.last_event_at
            FROM emergency_cases c JOIN households h ON h.id = c.household_id JOIN units u ON u.id = h.unit_id
            WHERE c.status <> 'closed' AND {unit_sql} ORDER BY c.last_event_at""",
        unit_p,
    )
    for row in rows:
        row["words"] = {"severity": f"emergency.severity.{row['severity']}", "status": emergencies.CASE.label_key(row["status"])}
    return Item("cases", "emergencies", "case", rows)


def vegetables_to_hand_out(db: Database, units: tuple[int, ...], day: date) -> Item:
    """Per unit, households still waiting for the latest donated batch."""
    batch = db.scalar("SELECT id FROM donation_batches WHERE day <= ? ORDER BY day DESC, id DESC LIMIT 1", [day])
    unit_sql, unit_p = _in("h.unit_id", units)
    rows = db.dicts(
        f"""SELECT u.id, u.building, u.unit_no, count(*) AS n
            FROM households h JOIN units u ON u.id = h.unit_id
            LEFT JOIN donation_deliveries d ON d.household_id = h.id AND d.batch_id = ?
            WHERE d.household_id IS NULL AND {unit_sql} GROUP BY u.id, u.building, u.unit_no ORDER BY u.id""",
        [batch if batch is not None else -1, *unit_p],
    )
    if batch is None:
        rows = []
    return Item("vegetables", "supplies", "unit", rows, params={"households": sum(r["n"] for r in rows)})


PROVIDERS: list[Provider] = [tests_to_mark, medicine_to_carry, cases_to_follow, vegetables_to_hand_out]


def todo(db: Database, units: tuple[int, ...], day: date | None = None) -> list[Item]:
    """The captain's list for today inside their units, one Item per provider."""
    day = day or db.today()
    return [provider(db, units, day) for provider in PROVIDERS]
