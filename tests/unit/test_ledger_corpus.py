"""The corpus of office-shaped ledgers (tests/data/ledgers, written by make_ledgers.py): each imports through
the CLI to exactly the households and residents its JSON expects, with the problems it expects flagged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qinyuan import cli, imports
from qinyuan.db import Database

CORPUS = Path(__file__).resolve().parents[1] / "data" / "ledgers"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix != ".json" and p.suffix != ".py")


def expected(path: Path) -> dict:
    return json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))


def stored(db: Database, key: str) -> dict:
    building, unit, room = key.split("-", 2)
    house = db.dicts(
        "SELECT h.* FROM households h JOIN units u ON u.id = h.unit_id WHERE u.building = ? AND u.unit_no = ? AND h.room = ?",
        [int(building), int(unit), room],
    )
    assert len(house) == 1, key
    people = db.dicts(
        """SELECT r.name, r.relation, r.tags, r.medical_notes, tr.status AS test FROM residents r
                         LEFT JOIN test_results tr ON tr.resident_id = r.id AND tr.round_id = (
                             SELECT id FROM test_rounds WHERE status = 'completed' ORDER BY day DESC LIMIT 1)
                         WHERE r.household_id = ?""",
        [house[0]["id"]],
    )
    return {**house[0], "people": {p["name"]: p for p in people}}


def check_house(got: dict, want: dict) -> None:
    for name, value in (("contact", "contact_name"), ("phone", "phone"), ("occupants", "occupants")):
        if name in want:
            assert got[value] == want[name], (name, got[value])
    if "notes_has" in want:
        assert want["notes_has"] in (got["notes"] or "")
    for person, tags in want.get("tags", {}).items():
        assert sorted(got["people"][person]["tags"]) == sorted(tags), person
    for person, notes in want.get("notes", {}).items():
        assert got["people"][person]["medical_notes"] == notes, person
    for person, status in want.get("test", {}).items():
        assert got["people"][person]["test"] == status, person
    for person, relation in want.get("relation", {}).items():
        assert got["people"][person]["relation"] == relation, person


def counts(path: str) -> tuple[int, int]:
    db = Database.open(path)
    try:
        return db.one("SELECT (SELECT count(*) FROM households), (SELECT count(*) FROM residents)")
    finally:
        db.close()


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_ledger_imports_by_cli(demo_path, path, capsys):
    want = expected(path)
    before = counts(demo_path)
    code = cli.main(["import", "households", str(path), "--db", demo_path, *want["args"]])
    out = capsys.readouterr()
    assert code == (0 if want["households"] else 1), out.out + out.err
    after = counts(demo_path)
    assert (after[0] - before[0], after[1] - before[1]) == (want["households"], want["residents"]), out.out
    db = Database.open(demo_path)
    try:
        for key, house in want["houses"].items():
            check_house(stored(db, key), house)
    finally:
        db.close()


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_ledger_problems_and_sheets(db, path):
    want = expected(path)
    report = imports.validate(db, path.read_bytes(), path.name)
    got = sorted([p.row, p.key] for p in report.problems if p.row is not None)
    assert got == sorted(want["problems"])
    assert [p.key for p in report.file_problems()] == ([want["file_problem"]] if want["file_problem"] else [])
    if "sheets_read" in want:
        assert [x.sheet for x in report.reading.layouts] == want["sheets_read"]
        assert report.reading.skipped == want["sheets_skipped"]
    for problem in report.problems:
        assert len(problem.text("zh")) <= want.get("max_message", 400)
