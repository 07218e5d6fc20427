"""Reading the office's ledger (ledger.py) and what the import does with it: hostile input, row numbers,
sheets, phones/addresses/needs in the office's words, partial import, update plan with version checks,
round trip through the export, the CLI's --map and export verb."""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from qinyuan import cli, imports, ledger, ledger_export
from qinyuan.db import Database
from qinyuan.errors import StaleEdit
from qinyuan.households import TAGS

HEADER = "楼号,单元,房号,户主,联系电话,常住人数"


def csv(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def keys(report):
    return [(p.row, p.key) for p in report.problems]


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- hostile input ------------------------------------------------------------------------------------
def test_a_400_digit_number_is_a_row_problem_not_a_crash(db):
    big = "9" * 400
    report = imports.validate(db, csv(f"1,1,1101,王,13800138000,{big}", f"{big},1,1102,张,13800138000,1"), "a.csv")
    assert keys(report) == [(2, "households.import.bad_occupants"), (3, "ledger.bad_address")]
    assert all(len(p.params.get("value", "")) <= ledger.SHOW + 1 for p in report.problems)


def test_row_numbers_are_excel_row_numbers_after_blank_rows(db):
    report = imports.validate(db, csv("", "1,1,1101,王,13800138000,1", "", "", "99,1,1102,张,13800138000,1"), "a.csv")
    assert keys(report) == [(6, "households.import.unknown_unit")]


def test_control_characters_are_removed_and_counted(db):
    report = imports.validate(db, csv("1,1,1101,王\u200b建\u202e国\x1b,13800138000,1"), "a.csv")
    assert report.ok and report.households[0].contact_name == "王建国"
    assert report.reading.sheets[0].cleaned == 1


def test_an_inflating_workbook_is_refused_quickly(db):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<row>" + "x" * (ledger.MAX_UNZIPPED + 1) + "</row>")
    started = time.perf_counter()
    report = imports.validate(db, buffer.getvalue(), "bomb.xlsx")
    assert keys(report) == [(None, "ledger.inflates")]
    assert time.perf_counter() - started < 30  # a generous bound only: the check reads the zip directory


def test_too_much_text_is_refused_while_reading(db, monkeypatch):
    monkeypatch.setattr(ledger, "MAX_CHARS", 500)
    rows = [["楼号", "单元", "房号", "户主"], *[[1, 1, f"11{n:02d}", "名" * 40] for n in range(50)]]
    assert keys(imports.validate(db, xlsx({"a": rows}), "a.xlsx")) == [(None, "ledger.too_much_text")]


def test_rows_beyond_the_limit_are_refused_with_the_count(db, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    report = imports.validate(db, csv(*[f"1,1,11{n:02d},王,13800138000,1" for n in range(5)]), "a.csv")
    assert keys(report) == [(None, "ledger.too_many_rows")] and report.problems[0].params == {"n": 5, "max": 3}


# -- layouts ---------------------------------------------------------------------------------------------
def test_every_ledger_sheet_is_read_and_the_others_named(db):
    head = ["楼号", "单元", "房号", "姓名"]
    data = xlsx({"说明": [["请每人一行填写"]], "1号楼": [head, [1, 1, "1101", "王"]], "2号楼": [head, [2, 1, "1101", "张"]]})
    report = imports.validate(db, data, "a.xlsx")
    assert report.ok and len(report.households) == 2
    assert [x.sheet for x in report.reading.layouts] == ["1号楼", "2号楼"] and report.reading.skipped == ["说明"]


def test_a_data_row_naming_a_field_is_not_taken_for_a_second_header_row():
    sheet = ledger.Sheet("a", [(1, ["楼号", "单元", "房号", "姓名", "与户主关系"]), (2, ["1", "1", "1101", "王", "户主"])])
    layout = ledger.find_layout(sheet)
    assert layout.header_rows == [1] and layout.first_data == 1


@pytest.mark.parametrize(
    "text, want",
    [
        ("1号楼2单元301室", (1, 2, "301")),
        ("1-2-301", (1, 2, "301")),
        ("1#2-301", (1, 2, "301")),
        ("１栋２单元３０１", (1, 2, "301")),
        (" 1 - 2 - 301 ", (1, 2, "301")),
        ("1幢2单元0703", (1, 2, "703")),
        ("沁园小区3号楼1单元502", (3, 1, "502")),
        ("二号楼", None),
        ("9" * 400, None),
    ],
)
def test_addresses_in_one_column(text, want):
    assert ledger.address(text) == want


@pytest.mark.parametrize(
    "text, number, extra, problem",
    [
        ("138-1234-5678", "13812345678", "", None),
        ("138 1234 5678", "13812345678", "", None),
        ("+86 13812345678", "13812345678", "", None),
        ("86-13812345678", "13812345678", "", None),
        ("１３８１２３４５６７８", "13812345678", "", None),
        ("13812345678.0", "13812345678", "", None),
        ("1.3812345678E10", "13812345678", "", None),
        ("13812345678/13912345678", "13812345678", "13912345678", None),
        ("13812345678（本人）", "13812345678", "", None),
        ("029-88881234", "029-88881234", "", None),
        ("1.38123E+10", None, "", "ledger.phone_truncated"),
        ("12345", None, "", "households.import.bad_phone"),
    ],
)
def test_phones_in_every_form(text, number, extra, problem):
    assert ledger.phone(text) == ledger.Phone(number, extra, problem)


@pytest.mark.parametrize(
    "text, tags",
    [
        ("无", []),
        ("空", []),
        ("—", []),
        ("高血压", ["chronic"]),
        ("糖尿病", ["chronic"]),
        ("残疾人", ["disability"]),
        ("行动不便", ["disability"]),
        ("化疗中", ["chemo"]),
        ("尿毒症透析（周二周五）", ["dialysis"]),
        ("孕妇（孕32周）", ["pregnancy"]),
        ("高血压、独居", ["chronic", "elderly_alone"]),
        ("chronic", ["chronic"]),
    ],
)
def test_needs_in_the_office_words(text, tags):
    assert ledger.needs(text, TAGS) == (tags, [])


# -- partial import, update, round trip -------------------------------------------------------------------------
def test_partial_import_hands_back_the_bad_rows_in_the_users_layout(db, as_user):
    data = csv("1,1,1101,王,13800138000,1", "1,1,1102,张,1.38123E+10,1", "1,1,1103,李,13800138001,1")
    report = imports.validate(db, data, "a.csv")
    result = imports.apply(db, as_user("committee"), report, partial=True)
    assert (result["households"], result["skipped_rows"]) == (2, 1)
    back = load_workbook(io.BytesIO(imports.bad_rows_xlsx(report))).active
    rows = [[c.value for c in row] for row in back.iter_rows()]
    assert rows[0] == ["行号", *HEADER.split(","), "问题"]
    assert rows[1][:4] == [3, "1", "1", "1102"] and "截断" in rows[1][-1]


def test_update_plan_then_version_checked_writes(db, as_user):
    committee = as_user("committee")
    imports.import_households(db, committee, csv("1,1,1101,王,13800138000,1", "1,1,1102,张,13800138001,1"), "a.csv")
    report = imports.validate(db, csv("1,1,1101,王,13900000000,2"), "b.csv", update=True)
    assert [h.changes for h in report.changed()] == [{"phone": ("13800138000", "13900000000"), "occupants": (1, 2)}]
    stored = db.scalar("SELECT count(*) FROM households WHERE unit_id = 1")
    assert "1102" in [m["room"] for m in report.missing] and len(report.missing) == stored - 1  # the unit's others
    hid = db.scalar("SELECT id FROM households WHERE unit_id = 1 AND room = '1101'")
    db.write(committee, lambda tx: (tx.update("households", hid, {"notes": "meanwhile"}), tx.audit("x", "x", hid)))
    with pytest.raises(StaleEdit):
        imports.apply(db, committee, report)
    assert db.scalar("SELECT phone FROM households WHERE id = ?", [hid]) == "13800138000"
    report = imports.validate(db, csv("1,1,1101,王,13900000000,2"), "b.csv", update=True)
    assert imports.apply(db, committee, report)["updated"] == 1
    assert (
        db.scalar(
            "SELECT count(*) FROM residents r JOIN households h ON h.id = r.household_id "
            "WHERE h.room = '1102' AND h.unit_id = 1 AND r.active"
        )
        == 1
    )  # not removed unconfirmed
    imports.apply(
        db, committee, imports.validate(db, csv("1,1,1101,王,13900000000,2"), "b.csv", update=True), remove_missing=True
    )
    assert (
        db.scalar(
            "SELECT count(*) FROM residents r JOIN households h ON h.id = r.household_id "
            "WHERE h.room = '1102' AND h.unit_id = 1 AND r.active"
        )
        == 0
    )


def test_last_round_status_goes_to_the_latest_completed_round_or_the_one_picked(db, as_user):
    data = "楼号,单元,房号,姓名,上轮核酸\n1,1,1101,王,已采\n1,1,1101,李,未采\n".encode()
    imports.import_households(db, as_user("committee"), data, "a.csv")
    got = dict(
        db.rows(
            "SELECT r.name, t.status FROM test_results t JOIN residents r ON r.id = t.resident_id "
            "WHERE t.round_id = 3 AND r.name IN ('王', '李') AND r.household_id >= 1000000"
        )
    )
    assert got == {"王": "tested", "李": "pending"}
    data2 = "楼号,单元,房号,姓名,上轮核酸\n1,1,1102,赵,已采\n".encode()
    imports.import_households(db, as_user("committee"), data2, "b.csv", round_id=1)
    assert (
        db.scalar(
            "SELECT t.status FROM test_results t JOIN residents r ON r.id = t.resident_id WHERE t.round_id = 1 AND r.name = '赵'"
        )
        == "tested"
    )


def test_export_edit_import_gives_back_the_same_ledger(db, as_user, tmp_path):
    from qinyuan import grid
    from qinyuan.access import SYSTEM
    from qinyuan.exports import to_xlsx_bytes

    committee = as_user("committee")
    filters = type(ledger_export.households.Filters())(unit_id=1)
    exported = ledger_export.ledger_frame(db, committee, filters)
    data = to_xlsx_bytes(exported)
    report = imports.validate(db, data, "export.xlsx", update=True)
    assert report.problems == [] and report.changed() == [] and report.missing == []
    fresh = Database.open(str(tmp_path / "fresh.duckdb"), create=True)
    try:
        grid.create_grid(fresh, SYSTEM, 17, 3)
        result = imports.import_households(fresh, SYSTEM, data, "export.xlsx")
        assert result["households"] == db.scalar("SELECT count(*) FROM households WHERE unit_id = 1")
        again = ledger_export.ledger_frame(fresh, SYSTEM, filters)
        test_col = ledger_export.title("test", "zh")
        pd.testing.assert_frame_equal(again.drop(columns=[test_col]), exported.drop(columns=[test_col]))
    finally:
        fresh.close()


# -- CLI -----------------------------------------------------------------------------------------------------
def test_cli_prints_the_guess_and_takes_map_overrides(demo_path, tmp_path, capsys):
    file = tmp_path / "a.csv"
    file.write_text("栋,单元,房号,户主,户主电话,身份证号\n1,1,1101,王,13800138000,610103\n", encoding="utf-8")
    assert cli.main(["import", "households", str(file), "--db", demo_path, "--map", "户主电话=ignore"]) == 0
    out = capsys.readouterr().out
    assert "栋=building" in out and "户主电话=ignored" in out and "身份证号=ignored" in out
    db = Database.open(demo_path)
    try:
        assert db.scalar("SELECT phone FROM households WHERE unit_id = 1 AND room = '1101'") is None
    finally:
        db.close()
    assert cli.main(["import", "households", str(file), "--db", demo_path, "--map", "nonsense"]) == 2


def test_cli_export_verb_writes_the_import_shape(demo_path, tmp_path):
    out = tmp_path / "ledger.xlsx"
    assert cli.main(["export", "households", str(out), "--db", demo_path]) == 0
    header = [c.value for c in next(load_workbook(out).active.iter_rows())]
    assert header == [ledger_export.title(c, "zh") for c in ledger_export.COLUMNS]
    db = Database.open(demo_path)
    try:
        report = imports.validate(db, out.read_bytes(), "ledger.xlsx", update=True)
        assert report.problems == [] and report.changed() == [] and len(report.households) == 1512
    finally:
        db.close()


def test_one_size_limit_for_page_uploader_cli_and_streamlit():
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == imports.MAX_BYTES == ledger.MAX_BYTES


def test_a_blank_room_is_a_problem_unless_merged_or_the_whole_address_is_blank(db):
    head = ["楼号", "单元", "房号", "姓名"]
    rows = [head, [1, 1, "1101", "王"], [None, None, None, "李"], [1, 1, None, "张"]]
    report = imports.validate(db, xlsx({"a": rows}), "a.xlsx")
    assert keys(report) == [(4, "households.import.missing_field")]
    assert [h.names for h in report.households] == [["王", "李"]]
    book = Workbook()
    ws = book.active
    for row in [head, [1, 1, "1101", "王"], [1, 1, None, "李"]]:
        ws.append(row)
    ws.merge_cells("C2:C3")
    out = io.BytesIO()
    book.save(out)
    report = imports.validate(db, out.getvalue(), "b.xlsx")
    assert report.ok and [h.names for h in report.households] == [["王", "李"]]


# -- fuzz: the office's words never crash the reader ------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CELLS = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["1号楼", "0703", "1.38123E+10", "合计", "示例", "9" * 400, "已采", "尿毒症透析（周二周五）", "\u200b\u202e", "=1+1", ""]
    ),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True),
)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80))
def test_value_parsers_never_raise(text):
    ledger.address(text), ledger.phone(text), ledger.needs(text, TAGS), ledger.test_status(text)
    ledger.number(text), ledger.building_no(text), ledger.unit_no(text), ledger.room_no(text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(CELLS, max_size=8), max_size=8),
    header=st.permutations(["楼号", "单元", "房号", "姓名", "联系电话", "特殊人员情况", "上轮核酸", "身份证号"]),
)
def test_office_shaped_workbooks_never_crash_the_check(db, rows, header):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def storable(c):  # what an xlsx can hold at all
        return ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else str(c) if isinstance(c, float) else c

    data = xlsx({"台账": [["敲门行动台账"], list(header), *[[storable(c) for c in r] for r in rows]]})
    report = imports.validate(db, data, "a.xlsx")
    assert all(p.key for p in report.problems)
    assert {(p.sheet, p.row) for p in report.problems if p.row} <= {("台账", n) for n in range(1, len(rows) + 3)}


def test_ledger_export_is_scoped_and_refused_without_the_right(db, as_user):
    from qinyuan.errors import PermissionDenied

    frame = ledger_export.ledger_frame(db, as_user("captain01"))
    assert set(frame[ledger_export.title("building", "zh")]) == {1} and set(frame["单元"]) == {1}
    assert len(set(frame["房号"])) == db.scalar("SELECT count(*) FROM households WHERE unit_id = 1")
    with pytest.raises(PermissionDenied):
        ledger_export.ledger_frame(db, as_user("logistics01"))
