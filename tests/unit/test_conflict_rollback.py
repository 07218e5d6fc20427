"""A write that loses a primary-key race must leave no trace, and must not damage what the winner wrote.
DuckDB 1.4.4 corrupted the text of rows a rolled-back transaction had inserted elsewhere (here: audit rows);
this failed there and passes on the pinned 1.5.6."""

import threading

import pytest

from qinyuan import access
from qinyuan.errors import QinyuanError


@pytest.mark.duckdb_only  # DuckDB's optimistic conflict; PostgreSQL makes the second insert wait (test below)
def test_primary_key_race_keeps_audit_rows_intact(db):
    for household in (999_991, 999_992, 999_993):
        _race(db, household)
    actors = {r[0] for r in db.rows("SELECT actor FROM audit_log WHERE action = 'donation.tick'")}
    assert actors <= {"captain01", "member001"}, actors


def _race(db, household: int) -> None:
    barrier = threading.Barrier(2)
    outcomes = []

    def tick(who: str):
        def fn(tx):
            tx.execute(
                "INSERT INTO donation_deliveries VALUES (2, ?, 1, ?, ?)",
                [household, tx.now, who],
                writes=("donation_deliveries",),
            )
            tx.changes += 1
            tx.audit("donation.tick", "household", household, None, {"by": who})
            barrier.wait(timeout=10)

        try:
            db.write(access.Actor(who, "committee"), fn, retries=0)
            outcomes.append(("ok", who))
        except Exception as exc:  # the loser: a conflict, reported as busy
            outcomes.append((type(exc).__name__, who))

    threads = [threading.Thread(target=tick, args=(name,)) for name in ("captain01", "member001")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    winners = [who for kind, who in outcomes if kind == "ok"]
    assert len(winners) == 1
    rows = db.rows("SELECT actor FROM audit_log WHERE action = 'donation.tick' AND entity_id = ?", [str(household)])
    assert rows == [(winners[0],)]
    assert db.rows("SELECT delivered_by FROM donation_deliveries WHERE household_id = ?", [household]) == [(winners[0],)]


@pytest.mark.postgres_only
def test_a_key_race_on_the_server_has_one_winner_and_the_loser_leaves_nothing(db):
    """PostgreSQL makes the second insert of a key wait for the first transaction; when it commits, the loser's
    unique violation is retried as a conflict and ends as "busy", leaving no row and no audit row."""
    household = 999_994
    inserted = threading.Event()
    release = threading.Event()
    outcomes = []

    def tick(who: str, first: bool):
        def fn(tx):
            tx.execute(
                "INSERT INTO donation_deliveries VALUES (2, ?, 1, ?, ?)",
                [household, tx.now, who],
                writes=("donation_deliveries",),
            )
            tx.changes += 1
            tx.audit("donation.tick", "household", household, None, {"by": who})
            if first:
                inserted.set()
                release.wait(timeout=10)

        try:
            db.write(access.Actor(who, "committee"), fn, retries=2)
            outcomes.append(("ok", who))
        except QinyuanError as exc:
            outcomes.append((exc.key, who))

    winner = threading.Thread(target=tick, args=("captain01", True))
    winner.start()
    assert inserted.wait(10)
    loser = threading.Thread(target=tick, args=("member001", False))
    loser.start()
    loser.join(0.5)  # it waits on the key while the winner's transaction is open
    assert loser.is_alive()
    release.set()
    winner.join()
    loser.join()
    assert sorted(outcomes) == [("error.busy_retry", "member001"), ("ok", "captain01")]
    rows = db.rows("SELECT actor FROM audit_log WHERE action = 'donation.tick' AND entity_id = ?", [str(household)])
    assert rows == [("captain01",)]
    assert db.rows("SELECT delivered_by FROM donation_deliveries WHERE household_id = ?", [household]) == [("captain01",)]
