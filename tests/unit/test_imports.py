"""Household ledger import: encodings, every bad-input kind per row, size limits, all-or-nothing, CLI."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qinyuan import imports, ledger_export
from qinyuan.errors import InvalidInput, PermissionDenied
from qinyuan.households import TAGS
from qinyuan.i18n import t
from qinyuan.ledger_cli import cli_import_households

ROOT = Path(__file__).resolve().parents[2]
HEADER = "楼号,单元,房号,联系人,联系电话,居住人数,住户姓名,特殊需求,备注"
GOOD = [
    "1,1,701,王建国,13800138000,2,王建国、李秀英,李秀英:慢性病,",
    "1,1,702,张敏,029-88881234,1,,独居老人,子女在外地",
    "2,3,701,赵强,18709876543,3,,,",
]


def csv_bytes(lines, encoding="utf-8", header=HEADER):
    return ("\r\n".join([header, *lines]) + "\r\n").encode(encoding)


def keys(report):
    return [(p.row, p.key) for p in report.problems]


def counts(db):
    return db.one(
        "SELECT (SELECT count(*) FROM households), (SELECT count(*) FROM residents), "
        "(SELECT count(*) FROM test_results), (SELECT count(*) FROM audit_log)"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_validates_clean(db, encoding):
    report = imports.validate(db, csv_bytes(GOOD, encoding), "ledger.csv")
    assert report.problems == []
    assert [r.contact_name for r in report.rows] == ["王建国", "张敏", "赵强"]
    assert report.rows[0].tag_map == {"李秀英": ["chronic"]}
    assert report.rows[1].tag_map == {"张敏": ["elderly_alone"]}


def test_sample_file_is_gbk_and_clean(db):
    data = (ROOT / "data" / "sample_households_gbk.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    report = imports.validate(db, data, "sample_households_gbk.csv")
    assert report.ok, keys(report)


def test_xlsx_and_english_headers(db):
    frame = pd.DataFrame(
        [[1, 1, "701", "Wang", "13800138000", 2, "Wang, Li", "Li:pregnancy", ""]],
        columns=["building", "unit", "room", "contact", "phone", "occupants", "residents", "tags", "notes"],
    )
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    report = imports.validate(db, buffer.getvalue(), "ledger.xlsx")
    assert report.ok, keys(report)
    assert report.rows[0].occupants == 2 and report.rows[0].tag_map == {"Li": ["pregnancy"]}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_template_examples_are_never_imported_and_the_instructions_list_the_tags(db, lang):
    from openpyxl import load_workbook

    for data, name in ((ledger_export.template_xlsx(lang), "t.xlsx"), (ledger_export.template_csv(lang), "t.csv")):
        report = imports.validate(db, data, name)
        assert report.rows == [] and keys(report) == [(None, "households.import.empty")]
        assert report.reading.layouts
    book = load_workbook(io.BytesIO(ledger_export.template_xlsx(lang)))
    howto = " ".join(str(c.value) for c in book.worksheets[0]["A"])
    assert all(t(f"households.tag.{x}", lang) in howto for x in TAGS)


def test_wrong_columns_are_reported(db):
    report = imports.validate(db, csv_bytes(["1,1,701"], header="栋,单元,房号"), "x.csv")
    assert keys(report) == [(None, "ledger.no_ledger")]  # no name nor householder column
    assert not report.ok


def test_every_bad_row_kind_is_reported_with_its_row(db):
    lines = [
        "1,1,801,,13800138000,2,,,",  # 2: missing contact
        "1,1,802,李四,1380013800,2,,,",  # 3: bad mobile (10 digits)
        "1,1,803,李五,12345,2,,,",  # 4: bad landline
        "99,1,801,李六,13800138000,2,,,",  # 5: unknown building unit
        "1,1,101,李七,13800138000,2,,,",  # 6: duplicate room in the database
        "1,1,805,李八,13800138000,2,,,",  # 7: first of a duplicate in the file
        "1,1,805,李九,13800138000,2,,,",  # 8: duplicate room in the file
        "1,1,806,李十,13800138000,0,,,",  # 9: occupants out of range
        "1,1,807,王一,13800138000,99,,,",  # 10: occupants out of range
        "1,1,808,王二,13800138000,2,,VIP,",  # 11: unknown tag
        "1,1,809,王三,13800138000,1,王三、王四,,",  # 12: more residents than occupants
    ]
    report = imports.validate(db, csv_bytes(lines), "bad.csv")
    found = keys(report)
    assert (2, "households.import.missing_field") in found
    assert (3, "households.import.bad_phone") in found
    assert (4, "households.import.bad_phone") in found
    assert (5, "households.import.unknown_unit") in found
    assert (6, "households.import.duplicate_in_db") in found
    assert (8, "households.import.duplicate_in_file") in found and (7, "households.import.duplicate_in_file") not in found
    assert (9, "households.import.bad_occupants") in found and (10, "households.import.bad_occupants") in found
    assert (11, "households.import.unknown_tag") in found
    assert (12, "households.import.more_residents") in found
    # every message reads in both languages
    zh, en = report.frame("zh"), report.frame("en")
    assert len(zh) == len(en) == len(report.problems)
    assert "电话号码不正确" in " ".join(zh.iloc[:, 1]) and "Bad phone number" in " ".join(en.iloc[:, 1])


def test_size_and_row_limits(db):
    big = b"x" * (imports.MAX_BYTES + 1)
    assert keys(imports.validate(db, big, "big.csv")) == [(None, "ledger.too_big")]
    many = csv_bytes([f"1,1,9{n:04d},某,13800138000,1,,," for n in range(imports.MAX_ROWS + 1)])
    assert len(many) < imports.MAX_BYTES
    assert keys(imports.validate(db, many, "many.csv")) == [(None, "ledger.too_many_rows")]
    assert imports.validate(db, many, "many.csv").problems[0].params["n"] == imports.MAX_ROWS + 1
    assert keys(imports.validate(db, b"", "empty.csv")) == [(None, "households.import.empty")]
    assert keys(imports.validate(db, b"\x00\x01", "x.pdf")) == [(None, "households.import.bad_type")]
    assert keys(imports.validate(db, b"PK\x03\x04garbage", "x.xlsx")) == [(None, "households.import.unreadable")]


def test_import_writes_everything_in_one_audited_transaction(db, as_user):
    before = counts(db)
    result = imports.import_households(db, as_user("committee"), csv_bytes(GOOD, "gbk"), "ledger.csv")
    assert result == {"households": 3, "residents": 4, "updated": 0, "moved_out": 0, "skipped_rows": 0}
    after = counts(db)
    assert after[0] == before[0] + 3 and after[1] == before[1] + 4
    assert after[2] == before[2] + 4  # every new resident pending in the active round
    assert after[3] == before[3] + 1
    assert db.scalar("SELECT tags FROM residents WHERE name = '李秀英' AND household_id >= 1000000") == ["chronic"]
    row = db.one("SELECT h.occupants, h.phone FROM households h WHERE h.unit_id = 1 AND h.room = '702'")
    assert row == (1, "029-88881234")
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'household.import'") == 1


def test_one_bad_row_writes_nothing(db, as_user):
    before = counts(db)
    with pytest.raises(InvalidInput):
        imports.import_households(db, as_user("committee"), csv_bytes([*GOOD, "1,1,999,坏行,123,2,,,"]), "ledger.csv")
    assert counts(db) == before


def test_failure_mid_write_rolls_back(db, as_user, monkeypatch):
    from qinyuan import db as storage

    before = counts(db)

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(storage.Tx, "audit", boom)
    with pytest.raises(RuntimeError):
        imports.import_households(db, as_user("committee"), csv_bytes(GOOD), "ledger.csv")
    assert counts(db) == before


def test_only_committee_imports(db, as_user):
    with pytest.raises(PermissionDenied):
        imports.import_households(db, as_user("captain01"), csv_bytes(GOOD), "ledger.csv")


def test_cli_reports_and_exits_1_without_writing(db, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([*GOOD, "99,9,101,某,13800138000,2,,,"], "gbk"))
    before = counts(db)
    assert cli_import_households(db, str(bad)) == 1
    out = capsys.readouterr().out
    assert "row 5" in out and "第 5 行" in out and "Unknown building unit" in out
    assert counts(db) == before
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(GOOD, "utf-8-sig"))
    assert cli_import_households(db, str(good)) == 0
    assert counts(db)[0] == before[0] + 3
    assert cli_import_households(db, str(tmp_path / "missing.csv")) == 1


def test_cli_verb_end_to_end(demo_path, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(["1,1,101,重复,13800138000,2,,,"]))
    env = {**os.environ, "QINYUAN_DB": demo_path}
    run = subprocess.run(
        [sys.executable, "-m", "qinyuan", "import", "households", str(bad), "--db", demo_path],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "already in the ledger" in run.stdout
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "qinyuan",
            "import",
            "households",
            str(ROOT / "data" / "sample_households_gbk.csv"),
            "--db",
            demo_path,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Added 4 households" in run.stdout
