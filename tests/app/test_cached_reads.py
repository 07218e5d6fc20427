"""Every cached read declares every table it reads: the tables DuckDB's own parser finds in its SQL are
among the ones it is keyed on, so a write to any of them refreshes the answer (no stale figures)."""

from __future__ import annotations

import re

import duckdb
import pytest

from qinyuan import access
from qinyuan import db as storage

from .helpers import app_as

ROLES = {"committee": "committee", "captain": "captain01", "member": "member001", "medic": "medic01", "logistics": "logistics01"}
_PARAM = re.compile(r"\?")
# Snapshots taken once per day on purpose, keyed by the day, not by tables: the end of yesterday,
# rebuilt from timestamps (overview.with_deltas), which today's writes cannot move.
SNAPSHOTS = {"overview.yesterday"}


def _read_tables(con, sql: str) -> set[str]:
    # get_table_names binds the statement: parameters stand in as NULL (only table names matter here)
    return {name.split(".")[-1] for name in con.get_table_names(_PARAM.sub("NULL", sql), qualified=False)}


@pytest.fixture
def read_log(monkeypatch):
    log: list = []
    monkeypatch.setattr(storage, "READ_LOG", log)
    return log


@pytest.mark.duckdb_only  # DuckDB's binder names the tables; the SQL is the same text on PostgreSQL
def test_every_cached_read_declares_the_tables_it_reads(demo_path, read_log):
    for role, username in ROLES.items():
        for page, roles in access.PAGES.items():
            if role in roles:
                at = app_as(demo_path, username, page)
                assert not at.exception, (username, page)
    entries = {(name, tables, sql) for name, tables, sql in read_log}
    assert len({name for name, _, _ in entries}) >= 20  # the pages really filled the cache
    con = duckdb.connect(demo_path)  # the same configuration as the app's connection in this process
    checked, missing = 0, []
    try:
        for name, tables, sql in sorted(entries):
            try:
                found = _read_tables(con, sql)
            except duckdb.Error:
                continue  # a statement that cannot bind with NULL parameters; counted below
            checked += 1
            if name not in SNAPSHOTS and not found <= set(tables):
                missing.append((name, sorted(found - set(tables))))
    finally:
        con.close()
    assert checked >= 0.9 * len(entries), f"only {checked} of {len(entries)} cached reads could be checked"
    assert not missing, missing
