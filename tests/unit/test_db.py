"""Storage: idempotent migrations, upgrades, and the one write helper under concurrency."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from qinyuan import access
from qinyuan import db as storage
from qinyuan.db import Database
from qinyuan.errors import NotQinyuanDatabase, QinyuanError, StaleEdit

COMMITTEE = access.Actor("committee", "committee", "党委")


def _schema(db: Database) -> list[tuple]:
    return db.rows("""SELECT table_name, column_name, data_type, is_nullable, column_default
                      FROM information_schema.columns WHERE table_schema = current_schema()
                      ORDER BY table_name, column_name""")


def _indexes(db: Database) -> list[tuple]:
    if db.backend == "postgres":
        return db.rows("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2")
    return db.rows("SELECT table_name, index_name, sql FROM duckdb_indexes() ORDER BY 1, 2")


def test_migrations_apply_twice_without_change(empty_db):
    versions = [v for v, _, _ in storage.migrations()]
    assert versions == sorted(set(versions)) and versions[0] == 1
    assert empty_db.schema_version() == versions[-1]
    schema, indexes = _schema(empty_db), _indexes(empty_db)
    applied = [r[0] for r in empty_db.rows("SELECT version FROM schema_migrations ORDER BY version")]
    assert empty_db.migrate() == []
    assert empty_db.migrate() == []
    assert _schema(empty_db) == schema and _indexes(empty_db) == indexes
    assert [r[0] for r in empty_db.rows("SELECT version FROM schema_migrations ORDER BY version")] == applied


def test_a_database_at_migration_1_upgrades(new_location, empty_db):
    location = new_location("old")
    old = Database.open(location, create=True, migrate=False)
    try:
        assert old.migrate(create=True, upto=1) == [1]
        assert old.schema_version() == 1
        old.write(
            None,
            lambda tx: (tx.insert("teams", {"id": 1, "name": "沁园红第1队"}, returning=None), tx.audit("team.create", "team", 1)),
        )
        later = [v for v, _, _ in storage.migrations() if v > 1]
        assert later, "only one migration: nothing to upgrade"
        assert old.migrate() == later
        assert old.schema_version() == empty_db.schema_version()
        assert _schema(old) == _schema(empty_db) and _indexes(old) == _indexes(empty_db)
        assert old.scalar("SELECT name FROM teams WHERE id = 1") == "沁园红第1队"  # data survives
    finally:
        old.close()
    reopened = Database.open(location)  # opening applies nothing more
    try:
        assert reopened.migrate() == []
    finally:
        reopened.close()


@pytest.mark.duckdb_only  # a file
def test_a_file_that_is_not_a_qinyuan_database_is_refused(tmp_path):
    import duckdb

    path = str(tmp_path / "other.duckdb")
    con = duckdb.connect(path)
    con.execute("CREATE TABLE foo (x INTEGER)")
    con.close()
    with pytest.raises(NotQinyuanDatabase):
        Database.open(path)
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database at all\n" * 100)
    with pytest.raises(NotQinyuanDatabase):
        Database.open(str(text))


# -- the write helper -----------------------------------------------------------------------------
THREADS, WRITES, HOT = 16, 50, 1


def _bump(db: Database, team_id: int) -> None:
    """Read-modify-write of a counter: lost updates would show as a count below the acknowledged writes."""

    def fn(tx):
        tx.require("roster.edit")
        row = tx.record("teams", team_id)
        before, after = tx.update("teams", team_id, {"notes": str(int(row["notes"] or 0) + 1)}, expected_version=row["version"])
        tx.audit("test.bump", "team", team_id, {"notes": before["notes"]}, {"notes": after["notes"]})

    db.write(COMMITTEE, fn, retries=60)


def test_write_helper_under_16_threads_loses_nothing(empty_db):
    db = empty_db
    db.write(
        None,
        lambda tx: (
            [tx.insert("teams", {"id": i, "name": f"t{i}", "notes": "0"}, returning=None) for i in range(1, THREADS + 2)],
            tx.audit("setup", "team", None),
        ),
    )
    acknowledged: Counter = Counter()
    failed: Counter = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        own = n + 2  # a row of its own; every other write goes to the hot row
        start.wait()
        for i in range(WRITES):
            team = HOT if i % 2 == 0 else own
            try:
                _bump(db, team)
            except QinyuanError as exc:  # busy after all retries: not acknowledged, nothing written
                with lock:
                    failed[team] += 1
                    if exc.key != "error.busy_retry":
                        errors.append(exc)
                continue
            except BaseException as exc:  # noqa: BLE001
                with lock:
                    errors.append(exc)
                continue
            with lock:
                acknowledged[team] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert sum(acknowledged.values()) + sum(failed.values()) == THREADS * WRITES
    assert acknowledged[HOT] >= THREADS * WRITES // 2 * 0.9  # retries get nearly everything through
    counts = dict(db.rows("SELECT id, CAST(notes AS INTEGER) FROM teams"))
    audits = dict(db.rows("SELECT CAST(entity_id AS INTEGER), count(*) FROM audit_log WHERE action = 'test.bump' GROUP BY 1"))
    versions = dict(db.rows("SELECT id, version FROM teams"))
    for team in range(1, THREADS + 2):
        assert counts[team] == acknowledged[team], team  # nothing lost, nothing doubled
        assert audits.get(team, 0) == acknowledged[team], team  # every write has its audit row
        assert versions[team] == 1 + acknowledged[team]
    # each audit row of the hot row records a distinct step of the counter
    steps = [
        r[0] for r in db.rows("SELECT after->>'notes' FROM audit_log WHERE action = 'test.bump' AND entity_id = ?", [str(HOT)])
    ]
    assert sorted(int(s) for s in steps) == list(range(1, acknowledged[HOT] + 1))


def test_a_stale_version_is_rejected_and_nothing_is_written(db):
    version = db.scalar("SELECT version FROM teams WHERE id = 1")
    name = db.scalar("SELECT name FROM teams WHERE id = 1")

    def rename(new: str, seen: int):
        def fn(tx):
            tx.require("roster.edit")
            before, after = tx.update("teams", 1, {"name": new}, expected_version=seen)
            tx.audit("team.rename", "team", 1, before, after)

        return fn

    db.write(COMMITTEE, rename("第一队", version))
    audits = db.scalar("SELECT count(*) FROM audit_log")
    with pytest.raises(StaleEdit) as caught:
        db.write(COMMITTEE, rename("被覆盖", version))  # the version this user saw is gone
    assert caught.value.key == "error.stale"
    assert db.scalar("SELECT name FROM teams WHERE id = 1") == "第一队" != name
    assert db.scalar("SELECT version FROM teams WHERE id = 1") == version + 1
    assert db.scalar("SELECT count(*) FROM audit_log") == audits


def test_a_write_without_audit_raises_and_rolls_back(db):
    before = db.scalar("SELECT count(*) FROM notices")

    def sneaky(tx):
        tx.insert("notices", {"kind": "x", "body": "no audit", "created_at": tx.now, "created_by": "x"})

    with pytest.raises(AssertionError, match="audit"):
        db.write(COMMITTEE, sneaky)

    def sneaky_sql(tx):
        tx.execute("UPDATE teams SET notes = 'silent' WHERE id = 2", writes=("teams",))
        tx.changes += 1

    with pytest.raises(AssertionError, match="audit"):
        db.write(COMMITTEE, sneaky_sql)
    assert db.scalar("SELECT count(*) FROM notices") == before
    assert db.scalar("SELECT notes FROM teams WHERE id = 2") != "silent"


def test_a_forbidden_write_changes_nothing(db):
    from qinyuan.errors import PermissionDenied

    member = access.Actor("member001", "member", team_id=1, unit_ids=frozenset({1}))

    def fn(tx):
        tx.require("roster.edit")
        tx.update("teams", 1, {"name": "hijacked"})
        tx.audit("team.rename", "team", 1)

    with pytest.raises(PermissionDenied):
        db.write(member, fn)
    assert db.scalar("SELECT name FROM teams WHERE id = 1") != "hijacked"


def test_cached_reads_are_reused_until_a_write_touches_their_tables(db):
    calls = []

    def teams_count():
        calls.append(1)
        return db.df("SELECT count(*) AS n, max(version) AS v FROM teams")

    first = db.cached("teams", (), ("teams",), teams_count)
    first.loc[0, "n"] = -1  # the caller's copy; the cache keeps its own
    assert db.cached("teams", (), ("teams",), teams_count).loc[0, "n"] == 51
    assert len(calls) == 1

    def note(tx):  # a write elsewhere leaves the cached teams answer alone
        tx.insert("notices", {"kind": "x", "body": "b", "created_at": tx.now, "created_by": "x"})
        tx.audit("notice.add", "notice", None)

    db.write(COMMITTEE, note)
    db.cached("teams", (), ("teams",), teams_count)
    assert len(calls) == 1

    version = db.scalar("SELECT version FROM teams WHERE id = 1")

    def rename(tx):
        before, after = tx.update("teams", 1, {"notes": "cache"}, expected_version=version)
        tx.audit("team.rename", "team", 1, before, after)

    db.write(COMMITTEE, rename)
    assert db.cached("teams", (), ("teams",), teams_count).loc[0, "v"] == version + 1
    assert len(calls) == 2


def test_a_rolled_back_write_and_raw_sql_writes_are_tracked(db):
    calls = []

    def answer():
        calls.append(1)
        return db.scalar("SELECT notes FROM teams WHERE id = 2")

    db.cached("t2", (), ("teams",), answer)

    def raw(tx):  # raw SQL is seen by its declared table, and is a change that needs an audit row
        tx.execute("UPDATE teams SET notes = 'raw' WHERE id = 2", writes=("teams",))

    with pytest.raises(AssertionError, match="audit"):
        db.write(COMMITTEE, raw)
    assert db.cached("t2", (), ("teams",), answer) != "raw" and len(calls) == 1

    def audited(tx):
        tx.execute("UPDATE teams SET notes = 'raw' WHERE id = 2", writes=("teams",))
        tx.audit("team.note", "team", 2)

    db.write(COMMITTEE, audited)
    assert db.cached("t2", (), ("teams",), answer) == "raw" and len(calls) == 2


def test_bookkeeping_writes_leave_cached_figures_alone(db):
    """A login writes login_failures, users and audit_log; figures of the compound's data stay cached."""
    from qinyuan import logins

    tables = db.domain_tables()
    assert "households" in tables and "test_results" in tables
    assert not {"audit_log", "login_failures", "users", "schema_migrations"} & set(tables)
    calls = []
    db.cached("figure", (), tables, lambda: calls.append(1))
    logins.attempt(db, "nobody", "wrong-password", "local")
    logins.attempt(db, "captain01", "qinyuan2022", "local")
    db.cached("figure", (), tables, lambda: calls.append(1))
    assert len(calls) == 1
    db.invalidate()  # as after a write to every table of the compound
    db.cached("figure", (), tables, lambda: calls.append(1))
    assert len(calls) == 2


def test_bulk_set_up_writes_commit_or_roll_back_and_refresh_cached_answers(db):
    calls = []

    def notes():
        calls.append(1)
        return db.scalar("SELECT notes FROM teams WHERE id = 3")

    db.cached("t3", (), ("teams",), notes)
    with pytest.raises(RuntimeError), db.bulk() as cur:
        cur.execute("UPDATE teams SET notes = 'half' WHERE id = 3")
        raise RuntimeError("set-up failed")
    assert db.scalar("SELECT notes FROM teams WHERE id = 3") != "half"
    with db.bulk() as cur:
        cur.execute("UPDATE teams SET notes = 'bulk' WHERE id = 3")
    assert db.cached("t3", (), ("teams",), notes) == "bulk" and len(calls) == 2  # the bulk write is seen


def _bare_tx():
    from qinyuan.db import Tx

    class Cur:
        def execute(self, _sql, _params):
            return None

    tx = Tx.__new__(Tx)
    tx.cur, tx.tables = Cur(), set()
    return tx


def test_written_tables_are_the_declared_ones_and_reads_write_nothing():
    tx = _bare_tx()
    tx.execute("SELECT * FROM teams")
    tx.execute("WITH x AS (SELECT 1) SELECT * FROM x, units")  # a read with a CTE names no table
    assert tx.tables == set()
    tx.execute("  insert or replace into settings (key, value) VALUES (?, ?)", writes=("settings",))
    tx.execute("WITH src AS (SELECT 1) INSERT INTO shifts SELECT * FROM src", writes=("shifts",))
    assert tx.tables == {"settings", "shifts"}
    tx.execute("CHECKPOINT")  # anything else may write anywhere
    assert "*" in tx.tables


@pytest.mark.parametrize(
    "sql",
    ["UPDATE main.teams SET notes = NULL", 'WITH x AS (SELECT 1) UPDATE "teams" SET notes = NULL', "DELETE FROM login_failures"],
)
def test_an_undeclared_write_raises_under_tests_and_forgets_everything_otherwise(sql, monkeypatch):
    """The old regex missed `main.teams` and `WITH ... UPDATE "teams"`: cached answers stayed stale."""
    with pytest.raises(AssertionError, match="declare"):
        _bare_tx().execute(sql)
    monkeypatch.setenv("QINYUAN_STRICT", "0")
    tx = _bare_tx()
    tx.execute(sql)
    assert tx.tables == {"*"}


def test_several_statements_in_one_text_are_refused():
    with pytest.raises(ValueError, match="one SQL statement"):
        _bare_tx().execute("UPDATE teams SET notes = 'a'; UPDATE units SET notes = 'b'", writes=("teams",))


def test_a_qualified_write_refreshes_the_cached_answer(db):
    calls = []
    schema = db.scalar("SELECT current_schema()")

    def notes():
        calls.append(1)
        return db.scalar("SELECT notes FROM teams WHERE id = 4")

    db.cached("t4", (), ("teams",), notes)

    def write(tx):
        tx.execute(
            f"WITH x AS (SELECT 4 AS id) UPDATE {schema}.\"teams\" SET notes = 'qualified' WHERE id IN (SELECT id FROM x)",
            writes=("teams",),
        )
        tx.audit("team.note", "team", 4)

    db.write(COMMITTEE, write)
    assert db.cached("t4", (), ("teams",), notes) == "qualified" and len(calls) == 2


@pytest.mark.postgres_only
def test_the_server_refuses_a_status_no_machine_has(db):
    """CHECK constraints built from the state machines: a status typed wrong in some future SQL cannot land."""
    import psycopg

    from qinyuan import medicine, status_checks

    assert status_checks.ensure(db) == []  # the test database has them already, and they are up to date
    oid = db.scalar("SELECT min(id) FROM medicine_orders")

    def bad(tx):
        tx.execute("UPDATE medicine_orders SET status = 'lost_in_space' WHERE id = ?", [oid], writes=("medicine_orders",))
        tx.audit("medicine.bad", "medicine_order", oid)

    with pytest.raises(psycopg.errors.CheckViolation):
        db.write(COMMITTEE, bad)
    good = medicine.MACHINE.states[-1]

    def fine(tx):
        tx.execute("UPDATE medicine_orders SET status = ? WHERE id = ?", [good, oid], writes=("medicine_orders",))
        tx.audit("medicine.fine", "medicine_order", oid)

    db.write(COMMITTEE, fine)
    assert db.scalar("SELECT status FROM medicine_orders WHERE id = ?", [oid]) == good
