"""Scale data: N copies of the demo world with unique ids, intact references and unchanged accounts."""

from __future__ import annotations

import pytest

from qinyuan import scale, users

# Scaling up runs on a DuckDB database; a server gets the scaled world copied (`demo --scale N --db postgresql://…`).
pytestmark = pytest.mark.duckdb_only

COPIED = [table for table, _ in scale.PLAN]
SINGLE = ["users", "duty_posts", "test_rounds", "suppliers", "supply_items", "donation_batches"]


def _counts(db, tables):
    return {t: db.scalar(f"SELECT count(*) FROM {t}") for t in tables}


@pytest.mark.parametrize("factor", [3])
def test_replicate_multiplies_counts_exactly(db, factor):
    before = _counts(db, COPIED + SINGLE)
    portions = db.scalar("SELECT sum(portions) FROM donation_batches")
    report = scale.replicate(db, factor)
    after = _counts(db, COPIED + SINGLE)
    for table in COPIED:
        assert before[table] > 0, table
        assert after[table] == factor * before[table], table
    for table in SINGLE:
        assert after[table] == before[table], table
    assert db.scalar("SELECT sum(portions) FROM donation_batches") == factor * portions
    assert report["scale"] == factor and report["seconds"] < 30


def test_ids_unique_references_intact_and_sequences_past_copies(db):
    scale.replicate(db, 2)
    for table, _shifts in scale.PLAN:
        if "id" in [c[0] for c in db.rows(f"DESCRIBE {table}")]:
            assert db.scalar(f"SELECT count(*) - count(DISTINCT id) FROM {table}") == 0, table
    assert db.scalar("SELECT count(*) - count(DISTINCT (building, unit_no)) FROM units") == 0
    orphans = {
        "households": "SELECT count(*) FROM households h LEFT JOIN units u ON u.id = h.unit_id WHERE u.id IS NULL",
        "residents": "SELECT count(*) FROM residents r LEFT JOIN households h ON h.id = r.household_id WHERE h.id IS NULL",
        "units": "SELECT count(*) FROM units u LEFT JOIN teams t ON t.id = u.team_id WHERE t.id IS NULL",
        "captains": "SELECT count(*) FROM teams t JOIN volunteers v ON v.id = t.captain_id WHERE v.team_id <> t.id",
        "assignments": "SELECT count(*) FROM shift_assignments a LEFT JOIN volunteers v ON v.id = a.volunteer_id "
        "WHERE v.id IS NULL",
        "results": "SELECT count(*) FROM test_results r LEFT JOIN residents x ON x.id = r.resident_id WHERE x.id IS NULL",
        "orders": "SELECT count(*) FROM medicine_orders o JOIN residents r ON r.id = o.resident_id "
        "WHERE r.household_id <> o.household_id",
        "events": "SELECT count(*) FROM medicine_events e LEFT JOIN medicine_orders o ON o.id = e.order_id WHERE o.id IS NULL",
    }
    for name, sql in orphans.items():
        assert db.scalar(sql) == 0, name
    for table, sequence in scale.SEQUENCES.items():
        assert db.scalar(f"SELECT nextval('{sequence}')") > db.scalar(f"SELECT max(id) FROM {table}"), sequence
    # the demo accounts keep their scopes: captain01 still leads exactly unit 1
    assert users.actor_for(db, "captain01").unit_ids == frozenset({1})
    assert db.scalar("SELECT name FROM teams WHERE id = 52") == "沁园红第52队"
