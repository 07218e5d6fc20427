"""Laying out a real compound's building units (init --grid), so a ledger can be imported into it."""

import pytest

from qinyuan import access, grid, kpi
from qinyuan.cli import main
from qinyuan.db import Database
from qinyuan.errors import InvalidInput, PermissionDenied


def test_init_with_grid_creates_units_and_teams(tmp_path):
    path = str(tmp_path / "real.duckdb")
    assert main(["init", "--db", path, "--grid", "4x2"]) == 0
    db = Database.open(path)
    figures = kpi.compute(db)
    assert (figures["building_units"], figures["teams"], figures["households"]) == (8, 8, 0)
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'grid.create'") == 1
    db.close()


def test_grid_is_laid_out_once_and_only_by_the_committee(empty_db):
    with pytest.raises(PermissionDenied):
        grid.create_grid(empty_db, access.Actor("captain01", "captain"), 2, 2)
    assert grid.create_grid(empty_db, access.SYSTEM, 2, 3) == 6
    with pytest.raises(InvalidInput):
        grid.create_grid(empty_db, access.SYSTEM, 2, 3)
    with pytest.raises(InvalidInput):
        grid.create_grid(empty_db, access.SYSTEM, 0, 3)


def test_bad_grid_argument_is_one_line(tmp_path, capsys):
    assert main(["init", "--db", str(tmp_path / "x.duckdb"), "--grid", "17"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
