"""The admin CLI as a user runs it: `python -m qinyuan VERB` in its own process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qinyuan import db as storage
from qinyuan import users
from qinyuan.db import Database

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qinyuan", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def one_clean_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "Error:" not in lines[0].split("/")[0][:12], stderr
    return lines[0]


@pytest.fixture
def figures(demo_path) -> dict:
    result = cli("kpi", "--db", demo_path, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_demo_world_reproduces_the_record(figures):
    assert figures["as_of"] == "2022-01-10"
    expected = {
        "building_units": 51,
        "teams": 51,
        "captains": 51,
        "members": 338,
        "test_rounds": 3,
        "duty_person_times": 122,
        "medicine_households_served": 108,
        "suppliers": 3,
        "carriers": 33,
    }
    assert {k: figures[k] for k in expected} == expected
    assert figures["vegetable_portions_distributed"] >= 3000
    assert 1400 <= figures["households"] <= 1600
    assert 3500 <= figures["residents"] <= 4500
    assert figures["supplies"] == {
        "surgical_masks": 300000,
        "n95_masks": 61200,
        "protective_suits": 1060,
        "hand_sanitizer_cases": 84,
        "sanitizer_gel_bottles": 5010,
        "disinfectant_84_kg": 1200,
        "grain_oil_portions": 800,
    }


def test_kpi_without_json_is_readable(demo_path):
    result = cli("kpi", "--db", demo_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^teams\s+51$", result.stdout, re.M)


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SELECT 1").fetchall()
print("holding", flush=True)
time.sleep(120)
"""


@pytest.mark.duckdb_only  # one process holds a DuckDB file; a server serves every process
def test_a_verb_on_a_held_file_exits_2_with_one_line(demo_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, demo_path], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        for args in (["kpi", "--json"], ["demo", "--force"]):
            started = time.monotonic()
            result = cli(*args, "--db", demo_path)
            assert result.returncode == 2, (args, result.stderr)
            line = one_clean_line(result.stderr)
            assert "dashboard" in line and "仪表盘" in line, line
            assert " / " in line  # English / Chinese
            assert result.stdout == ""
            assert time.monotonic() - started < 60
    finally:
        holder.kill()
        holder.wait()
    assert os.path.exists(demo_path)  # demo --force did not delete a held file
    assert cli("kpi", "--db", demo_path, "--json").returncode == 0  # released: works again


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        [],
        ["kpi", "--no-such-flag"],
        ["demo", "--scale", "zero"],
        ["briefing", "--date", "not-a-date"],
    ],
)
def test_bad_arguments_get_one_line(args):
    result = cli(*args)
    assert result.returncode != 0
    one_clean_line(result.stderr)


def test_a_missing_file_gets_one_line(tmp_path):
    result = cli("kpi", "--db", str(tmp_path / "nope.duckdb"))
    assert result.returncode != 0
    line = one_clean_line(result.stderr)
    assert "nope.duckdb" in line
    assert not (tmp_path / "nope.duckdb").exists()  # nothing created by a read verb


def test_a_file_that_is_not_qinyuan_gets_one_line(tmp_path):
    import duckdb

    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE x (a INTEGER)")
    con.close()
    text = tmp_path / "text.duckdb"
    text.write_text("hello\n" * 1000)
    for path in (other, text):
        result = cli("kpi", "--db", str(path), "--json")
        assert result.returncode != 0
        assert "Qinyuan" in one_clean_line(result.stderr)


def test_init_creates_only_a_committee_account_with_a_one_time_password(tmp_path):
    path = str(tmp_path / "real.duckdb")
    result = cli("init", "--db", path)
    assert result.returncode == 0, result.stderr
    found = re.findall(r"one-time password for committee[^:]*: (\S+)", result.stdout)
    assert len(found) == 1, result.stdout
    password = found[0]
    assert len(password) >= 12
    db = Database.open(path)
    try:
        assert db.rows("SELECT username, role, active, must_change_password FROM users") == [
            ("committee", "committee", True, True)
        ]
        account = users.account(db, "committee")
        assert users.check_password(password, account["password_hash"])
        assert password not in str(db.rows("SELECT * FROM audit_log"))
        assert db.demo_date is None  # a real database runs on the real clock
        assert db.scalar("SELECT count(*) FROM households") == 0
    finally:
        db.close()
    again = cli("init", "--db", path)  # never overwrites
    assert again.returncode != 0
    one_clean_line(again.stderr)


def test_unlock_forgets_a_users_failed_logins_and_is_audited(demo_path):
    from qinyuan import logins

    db = Database.open(demo_path)
    for _ in range(6):
        logins.attempt(db, "committee", "wrong-password", "203.0.113.66")
    db.close()
    result = cli("unlock", "committee", "--db", demo_path)
    assert result.returncode == 0, result.stderr
    assert "committee" in result.stdout and "5" in result.stdout
    db = Database.open(demo_path)
    try:
        assert logins.attempt(db, "committee", "qinyuan2022", "203.0.113.66").ok
        assert db.one("SELECT actor, before FROM audit_log WHERE action = 'login.unlock'") == ("system", '{"failures": 5}')
    finally:
        db.close()
    missing = cli("unlock", "nobody", "--db", demo_path)
    assert missing.returncode == 1
    one_clean_line(missing.stderr)


@pytest.mark.postgres_only
def test_replicas_migrating_at_once_apply_each_migration_once(new_location):
    """Migrating takes an advisory lock: replicas' start scripts racing on a new database are all fine."""
    import threading

    url = new_location("race")
    openers = [Database.open(url, migrate=False) for _ in range(4)]
    barrier = threading.Barrier(len(openers))
    outcomes = []

    def run(db):
        barrier.wait(timeout=30)
        try:
            outcomes.append(len(db.migrate(create=True)))
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcomes.append(exc)

    threads = [threading.Thread(target=run, args=(db,)) for db in openers]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    try:
        every = [v for v, _, _ in storage.migrations()]
        assert sorted(outcomes, key=str) == [0, 0, 0, len(every)], outcomes
        assert [r[0] for r in openers[0].rows("SELECT version FROM schema_migrations ORDER BY 1")] == every
    finally:
        for db in openers:
            db.close()
    result = cli("migrate", "--db", url)  # and the verb says where the schema stands
    assert result.returncode == 0 and f"version {every[-1]} (0 migrations" in result.stdout, result.stderr
    fresh = new_location("fresh")
    result = cli("migrate", "--db", fresh)  # a new database: every migration, counted
    assert result.returncode == 0 and f"({len(every)} migrations applied" in result.stdout, result.stdout


@pytest.mark.postgres_only
def test_the_cli_works_while_the_dashboard_holds_the_server_database(demo_path):
    dashboard = Database.open(demo_path)  # as the running app holds it
    try:
        dashboard.scalar("SELECT count(*) FROM households")
        result = cli("kpi", "--db", demo_path, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["households"] == dashboard.scalar("SELECT count(*) FROM households")
    finally:
        dashboard.close()
