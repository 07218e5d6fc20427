"""CHECK constraints on the status columns, built from the state machines (never typed again in SQL).

PostgreSQL gets them (added after migrating, replaced when a machine's states change); DuckDB cannot add a CHECK
to an existing table (1.5.6), so there the services' own machine checks stand alone."""

from __future__ import annotations

import re

from .db import Database
from .states import Machine


def _columns() -> dict[tuple[str, str], tuple[str, ...]]:
    from . import door, duty, emergencies, groceries, medicine, supplies, testing

    def states(*machines: Machine) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for m in machines for s in m.states))

    return {
        ("test_rounds", "status"): states(testing.ROUND),
        ("test_results", "status"): states(testing.RESULT),
        ("shift_assignments", "status"): states(duty.ASSIGNMENT),
        ("medicine_orders", "status"): states(medicine.MACHINE),
        ("medicine_events", "to_status"): states(medicine.MACHINE),
        ("medicine_events", "from_status"): states(medicine.MACHINE),
        ("emergency_cases", "status"): states(emergencies.CASE),
        ("grocery_orders", "status"): states(groceries.MACHINE),
        ("grocery_events", "to_status"): states(groceries.MACHINE),
        ("grocery_events", "from_status"): states(groceries.MACHINE),
        ("carrying_tasks", "status"): states(supplies.TASKS),
        ("door_requests", "status"): states(door.REQUEST, door.PROPOSAL),
        ("door_events", "to_status"): states(door.REQUEST, door.PROPOSAL),
    }


def ensure(db: Database) -> list[str]:
    """Add (or bring up to date) one CHECK per status column on PostgreSQL; returns the constraints changed."""
    if db.backend != "postgres":
        return []
    changed = []
    with db.engine.cursor() as cur:
        cur.begin()
        try:
            for (table, column), allowed in _columns().items():
                if not all(re.fullmatch(r"[a-z][a-z_]*", s) for s in allowed):
                    raise ValueError(f"{table}.{column}: a state name that cannot stand in SQL")
                name = f"{table}_{column}_states"
                wanted = f"CHECK ({column} IS NULL OR {column} IN ({', '.join(repr(s) for s in allowed)}))"
                have = cur.execute(
                    "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                    "WHERE c.conname = ? AND t.relname = ? AND t.relnamespace = current_schema()::regnamespace",
                    [name, table],
                ).fetchone()
                if have and _same(have[0], allowed):
                    continue
                if have:
                    cur.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
                cur.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {wanted}')
                changed.append(name)
            cur.commit()
        except BaseException:
            cur.rollback()
            raise
    return changed


def _same(definition: str, allowed: tuple[str, ...]) -> bool:
    """Whether PostgreSQL's text of a constraint names exactly these states."""
    return sorted(re.findall(r"'([a-z_]+)'", definition)) == sorted(allowed)
