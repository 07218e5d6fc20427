"""Several app processes on one PostgreSQL database: each keeps its read cache, and hears the others' writes."""

from __future__ import annotations

import threading
import time

import pytest

from qinyuan import access
from qinyuan.backends import LISTENER
from qinyuan.db import Database

pytestmark = pytest.mark.postgres_only
COMMITTEE = access.Actor("committee", "committee", "党委")


@pytest.fixture
def replicas(demo_path):
    """Two Database objects on the same server database, as two app processes hold them."""
    a, b = Database.open(demo_path), Database.open(demo_path)
    yield a, b
    a.close()
    b.close()


def _eventually(check, seconds: float = 1.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def _notes(db: Database):
    return db.cached_read("t4", ("teams",), "scalar", "SELECT notes FROM teams WHERE id = 4")


def _set_notes(db: Database, text: str, fail: bool = False):
    def fn(tx):
        tx.update("teams", 4, {"notes": text})
        tx.audit("team.note", "team", 4)
        if fail:
            raise RuntimeError("rolled back")

    db.write(COMMITTEE, fn)


def test_a_write_on_one_replica_reaches_the_others_cache_within_a_second(replicas):
    a, b = replicas
    assert _notes(b) != "from a"  # b has the answer cached now
    _set_notes(a, "from a")
    assert _eventually(lambda: _notes(b) == "from a")


def test_a_rolled_back_write_tells_nobody(replicas):
    a, b = replicas
    _notes(b)
    before = b.generation(("teams",))
    with pytest.raises(RuntimeError):
        _set_notes(a, "never", fail=True)
    _set_notes(a, "marker")  # a committed write after it: once b hears this one, it would have heard the other
    assert _eventually(lambda: b.generation(("teams",)) != before)
    assert b.generation(("teams",))[1] == before[1] + 1  # exactly one write heard: the committed one


def test_settings_changed_on_one_replica_are_seen_on_the_other(replicas):
    a, b = replicas
    assert b.setting("door_link_per_hour") == "20"

    def fn(tx):
        tx.set_setting("door_link_per_hour", "7")
        tx.audit("settings.change", "setting", "door_link_per_hour")

    a.write(COMMITTEE, fn)
    assert _eventually(lambda: b.setting("door_link_per_hour") == "7")


def test_a_lost_listener_connection_drops_every_cached_answer(replicas, pg_server):
    import psycopg

    a, b = replicas
    _notes(b)
    everything = b.generation(())
    with psycopg.connect(pg_server, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s AND datname = %s",
            [LISTENER, b.path.rsplit("/", 1)[1]],
        ).fetchone()[0]
    assert killed == 2  # a's and b's listeners
    assert _eventually(lambda: b.generation(()) != everything, seconds=5)
    _set_notes(a, "after reconnect")  # and it listens again
    assert _eventually(lambda: _notes(b) == "after reconnect", seconds=5)


def test_hot_row_from_two_replicas_loses_no_update(replicas):
    """16 writers on two replicas bump one counter: REPEATABLE READ raises 40001 for the losers, which retry."""
    a, b = replicas
    start = a.scalar("SELECT version FROM teams WHERE id = 7")
    errors = []

    def bump(db: Database, n: int):
        for _ in range(n):
            try:

                def fn(tx):
                    row = tx.record("teams", 7)
                    tx.update("teams", 7, {"notes": f"v{row['version']}"}, before=row)
                    tx.audit("team.note", "team", 7)

                db.write(COMMITTEE, fn, retries=50)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=bump, args=(db, 10)) for db in (a, b) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[:3]
    assert a.scalar("SELECT version FROM teams WHERE id = 7") == start + 160
    assert a.scalar("SELECT count(*) FROM audit_log WHERE action = 'team.note' AND entity_id = '7'") == 160
