"""kill -9 during writes: the database opens again and every acknowledged write is there."""

from __future__ import annotations

import pytest

from bench.durability import kill9


def test_kill9_loses_no_acknowledged_write(demo_path):
    """A writer killed at random moments (on PostgreSQL the client process; the server keeps running)."""
    result = kill9(demo_path, runs=5, seed=5, max_delay=0.8)
    assert result["kill9_failed_open"] == 0, [r["error"] for r in result["runs"]]
    assert result["kill9_acked"] > 0  # the workload really wrote before each kill
    assert all(r["returncode"] == -9 for r in result["runs"])  # and was really killed, not finished
    assert result["kill9_lost"] == 0


@pytest.mark.duckdb_only  # DuckDB replaying an ALTER TABLE from its WAL; a server migrates in one transaction
def test_kill9_right_after_an_upgrade_migration_still_opens(tmp_path):
    from bench.durability import kill_after_migration

    result = kill_after_migration(tmp_path)
    assert result["opened"], result["error"]
    assert result["lost"] == 0
