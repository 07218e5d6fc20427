"""Status lists come from the state machines (qinyuan/states.py), never typed again in SQL; and every status
the demo database holds is a state of its machine. DuckDB 1.5 cannot add a CHECK constraint to an existing
table (ALTER TABLE ... ADD CONSTRAINT is not implemented), so the last test stands in for one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qinyuan import door, duty, emergencies, groceries, medicine, supplies, testing
from qinyuan.states import Machine

ROOT = Path(__file__).resolve().parents[2]
MACHINES = (
    medicine.MACHINE,
    testing.RESULT,
    testing.ROUND,
    duty.ASSIGNMENT,
    door.REQUEST,
    door.PROPOSAL,
    emergencies.CASE,
    groceries.MACHINE,
    supplies.TASKS,
)
KNOWN = {state for machine in MACHINES for state in machine.states}

# status column -> the machines whose states it holds (door_requests keeps requests and proposals)
COLUMNS = {
    ("medicine_orders", "status"): (medicine.MACHINE,),
    ("medicine_events", "from_status"): (medicine.MACHINE,),
    ("medicine_events", "to_status"): (medicine.MACHINE,),
    ("grocery_orders", "status"): (groceries.MACHINE,),
    ("grocery_events", "from_status"): (groceries.MACHINE,),
    ("grocery_events", "to_status"): (groceries.MACHINE,),
    ("emergency_cases", "status"): (emergencies.CASE,),
    ("test_results", "status"): (testing.RESULT,),
    ("test_rounds", "status"): (testing.ROUND,),
    ("shift_assignments", "status"): (duty.ASSIGNMENT,),
    ("carrying_tasks", "status"): (supplies.TASKS,),
    ("door_requests", "status"): (door.REQUEST, door.PROPOSAL),
    ("door_events", "to_status"): (door.REQUEST, door.PROPOSAL),
}

_LIST = re.compile(r"\(\s*'([a-z_]+)'(?:\s*,\s*'[a-z_]+')+\s*\)")  # ('a', 'b', ...) in SQL text
_COMPARED = re.compile(
    r"status\s*(?:=|<>|!=)\s*'[a-z_]+'|coalesce\(\w+\.status,\s*'[a-z_]+'\)"
    r"|status\s+(?:NOT\s+)?IN\s*\([^)]*\)",
    re.I,
)


def _sources() -> list[Path]:
    return [p for p in sorted((ROOT / "qinyuan").rglob("*.py")) if p.name not in ("demo.py", "scale.py")]


def hand_typed_lists(text: str) -> list[str]:
    """SQL lists of quoted words any of which is a known status."""
    found = []
    for match in _LIST.finditer(text):
        words = re.findall(r"'([a-z_]+)'", match.group())
        if set(words) & KNOWN:
            found.append(match.group())
    return found


def unknown_compared(text: str) -> list[str]:
    """Status literals compared in SQL that no machine produces (the drift of 'no_show' and 'absent')."""
    return [w for m in _COMPARED.finditer(text) for w in re.findall(r"'([a-z_]+)'", m.group()) if w not in KNOWN]


def test_the_scans_see_what_they_look_for():
    assert hand_typed_lists("WHERE a.status NOT IN ('cancelled', 'absent')") == ["('cancelled', 'absent')"]
    assert hand_typed_lists("m.urgency IN ('urgent', 'critical')") == []
    assert unknown_compared("WHERE b.status = 'no_show' AND a.status <> 'done'") == ["no_show"]
    assert unknown_compared("a.status NOT IN ('cancelled', 'absent')") == ["absent"]


def test_no_sql_in_qinyuan_hand_types_a_status_list():
    offenders = {str(p.relative_to(ROOT)): hand_typed_lists(p.read_text(encoding="utf-8")) for p in _sources()}
    assert {p: found for p, found in offenders.items() if found} == {}


def test_every_status_compared_in_sql_is_a_state_of_a_machine():
    offenders = {str(p.relative_to(ROOT)): unknown_compared(p.read_text(encoding="utf-8")) for p in _sources()}
    assert {p: found for p, found in offenders.items() if found} == {}


def test_open_and_closed_split_each_machine():
    for machine in MACHINES:
        assert set(machine.terminal) <= set(machine.states), machine.name
        assert sorted(machine.open_states + machine.closed_states) == sorted(machine.states), machine.name
        assert all(machine.is_open(s) for s in machine.open_states)
        assert not any(machine.is_open(s) for s in machine.closed_states)
    assert medicine.OPEN == ("requested", "sourcing", "purchased", "at_gate", "disinfected")
    assert testing.UNACCOUNTED == ("pending", "home_sampling_needed")
    assert door.OPEN == ("new", "in_progress")
    assert set(testing.STATUSES) == set(testing.RESULT.states)


def test_sql_list_renders_only_the_machines_own_states():
    assert medicine.MACHINE.sql_list(("delivered", "failed")) == "('delivered', 'failed')"
    for bad in (("no_show",), ("delivered", "x') OR TRUE --"), ()):
        with pytest.raises(ValueError):
            medicine.MACHINE.sql_list(bad)
    odd = Machine("odd", {"a": {"b'; DROP TABLE users; --": ("committee",)}})
    with pytest.raises(ValueError):
        odd.sql_list(odd.states)


def foreign_statuses(db) -> dict:
    """Per status column, the values its machines do not know."""
    present = {
        (t, c)
        for t, c in db.rows(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE column_name LIKE '%status%' AND table_schema = current_schema()"
        )
    }
    assert present == set(COLUMNS), "a status column without its machine here, or one gone"
    found = {}
    for (table, column), machines in COLUMNS.items():
        held = {s for (s,) in db.rows(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')}
        stray = held - {s for m in machines for s in m.states}
        if stray:
            found[(table, column)] = stray
    return found


def test_every_status_in_the_demo_database_belongs_to_its_machine(db):
    assert foreign_statuses(db) == {}
    drift = "UPDATE shift_assignments SET status = 'no_show' WHERE id = (SELECT min(id) FROM shift_assignments)"
    if db.backend == "postgres":  # the server's CHECK (built from the machines) refuses the drifted write itself
        import psycopg

        with pytest.raises(psycopg.errors.CheckViolation), db.bulk() as cur:
            cur.execute(drift)
        assert foreign_statuses(db) == {}
        return
    with db.bulk() as cur:  # DuckDB cannot add the CHECK to an existing table: this test is the guard there
        cur.execute(drift)
    assert foreign_statuses(db) == {("shift_assignments", "status"): {"no_show"}}
